# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netmodes.linux.macvlan: sandboxes on the lab segment of two simulated hosts, and the host shim."""

from __future__ import annotations

import pytest
from conftest import assert_unchanged, sh, sh_json, snapshot

# Each host: a sandbox with a macvlan on the lab cable (eth0), at .10N of the lab subnet.
UNDERLAY = """
- hosts: sim
  gather_facts: false
  vars:
    lab: "{{ ansible_host.rsplit('.', 1)[0] }}"
    index: "{{ ansible_host.split('.')[-1] | int - 10 }}"
  tasks:
    - name: A sandbox
      netmodes.linux.netns:
        name: mv
    - name: On the lab segment
      netmodes.linux.macvlan:
        name: eth0
        parent: eth0
        netns: mv
        kind: "{{ kind | default('macvlan') }}"
        mode: "{{ mode | default(omit) }}"
        addresses: ["{{ lab }}.10{{ index }}/24"]
"""


def lab(host, last):
    return "%s.%d" % (host.address.rsplit(".", 1)[0], last)


def shim(host):
    """The host shim's options: an address of its own and a route to the host's sandbox."""
    return {"name": "mv-shim", "parent": "eth0", "addresses": ["%s/32" % lab(host, 200 + host.index)],
            "routes": [{"dst": "%s/32" % lab(host, 100 + host.index)}]}


def reaches(host, address, netns=None):
    prefix = "ip netns exec %s " % netns if netns else ""
    return host.run("%sping -c 1 -W 2 %s" % (prefix, address), check=False).returncode == 0


def test_macvlan_sandboxes_on_two_hosts_reach_each_other(ansible, hosts):
    run = ansible.four_steps(UNDERLAY, snapshot=lambda: [snapshot(h) for h in hosts])
    sim1, sim2 = hosts[:2]
    for host in (sim1, sim2):
        (link,) = sh_json(host, "ip netns exec mv ip -j -d link show eth0")
        assert link["linkinfo"]["info_kind"] == "macvlan" and link["linkinfo"]["info_data"]["mode"] == "bridge"
        assert link["ifalias"] == "netmodes.linux macvlan"
        assert sh_json(host, "ip -j link show eth0")[0]["link_type"] == "ether", "the host keeps its own eth0"
    assert {r["netns"]: r["parent"] for r in run.results() if "kind" in r} == {"mv": "eth0"}
    assert reaches(sim1, lab(sim2, 102), "mv") and reaches(sim2, lab(sim1, 101), "mv")
    assert reaches(sim1, sim2.address, "mv"), "a macvlan sandbox is on the segment: it reaches the other host too"


def test_the_host_reaches_its_own_macvlan_sandbox_only_through_a_shim(ansible, hosts):
    assert not ansible.playbook(UNDERLAY).failed
    sim1 = hosts[0]
    sandbox = lab(sim1, 101)
    assert not reaches(sim1, sandbox), "without a shim the host cannot reach its own macvlan sandbox"
    before = snapshot(sim1)
    check = ansible.adhoc("sim1", "macvlan", shim(sim1), check=True)
    assert check.changed and not check.failed, check
    assert_unchanged(before, snapshot(sim1), "check mode")
    run = ansible.adhoc("sim1", "macvlan", shim(sim1))
    assert run.changed and not run.failed, run
    assert run.result()["netns"] is None and run.result()["routes"] == ["%s/32" % sandbox]
    assert reaches(sim1, sandbox), "the host reaches its sandbox through the shim"
    assert reaches(sim1, lab(sim1, 201), "mv"), "and the sandbox reaches the host's shim address"
    assert not ansible.adhoc("sim1", "macvlan", shim(sim1)).changed
    assert not ansible.adhoc("sim1", "macvlan", shim(sim1), check=True).changed

    gone = ansible.adhoc("sim1", "macvlan", "name=mv-shim state=absent")
    assert gone.changed and not gone.failed, gone
    assert not reaches(sim1, sandbox)


def test_a_mode_change_is_in_place_and_passthru_a_recreate(ansible, hosts):
    assert not ansible.playbook(UNDERLAY).failed
    sim1 = hosts[0]
    index = sh_json(sim1, "ip netns exec mv ip -j link show eth0")[0]["ifindex"]
    private = ansible.playbook(UNDERLAY, extra_vars={"mode": "private"})
    ops = [op for r in private.results("sim1") for op in r.get("operations", [])]
    assert ops == [{"action": "set", "object": "macvlan eth0 in sandbox mv", "field": "macvlan_mode", "before": "bridge", "after": "private"}]
    (link,) = sh_json(sim1, "ip netns exec mv ip -j -d link show eth0")
    assert link["ifindex"] == index and link["linkinfo"]["info_data"]["mode"] == "private"
    passthru = ansible.adhoc("sim1", "macvlan", {"name": "eth0", "parent": "eth0", "netns": "mv", "mode": "passthru"}, check=True)
    assert passthru.result()["operations"][0]["action"] == "recreate", passthru


def kernel_refuses_ipvlan(host):
    """The kernel's own words when it cannot make an ipvlan link, or None when it can."""
    probe = host.run("ip link add ipvlan-probe link eth0 type ipvlan mode l2", check=False)
    if probe.returncode == 0:
        sh(host, "ip link del ipvlan-probe")
        return None
    return probe.stderr.strip()


def test_ipvlan_sandboxes_reach_each_other(ansible, hosts):
    refused = kernel_refuses_ipvlan(hosts[0])
    if refused:
        pytest.skip("this kernel has no ipvlan: %s" % refused)
    ansible.four_steps(UNDERLAY, extra_vars={"kind": "ipvlan"})
    sim1, sim2 = hosts[:2]
    assert sh_json(sim1, "ip netns exec mv ip -j -d link show eth0")[0]["linkinfo"]["info_kind"] == "ipvlan"
    assert reaches(sim1, lab(sim2, 102), "mv")


def test_ipvlan_where_the_kernel_lacks_it_fails_in_the_kernels_words(ansible, sim1):
    refused = kernel_refuses_ipvlan(sim1)
    if not refused:
        pytest.skip("this kernel has ipvlan")
    sh(sim1, "ip netns add mv")
    before = snapshot(sim1)
    run = ansible.adhoc("sim1", "macvlan", {"name": "eth0", "parent": "eth0", "netns": "mv", "kind": "ipvlan"})
    assert run.failed
    words = refused.removeprefix("Error: ").rstrip(".")
    assert "create ipvlan eth0: %s" % words in run.result()["msg"], (refused, run.result()["msg"])
    assert run.result()["applied"] == []
    assert_unchanged(before, snapshot(sim1))
