# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridge network policy with real traffic, on an nftables host and on an iptables-legacy host:
outbound masquerade, isolation between networks, internal networks, icc."""

from __future__ import annotations

import json

import pytest
from conftest import BACKENDS, firewall, sh, use_backend

# name -> (bridge, address); sandboxes with the same bridge share a network.
SANDBOXES = {"a": ("br0", "172.18.0.10"), "b": ("br0", "172.18.0.11"), "c": ("br1", "172.19.0.10"),
             "i1": ("brint", "172.20.0.10"), "i2": ("brint", "172.20.0.11")}
GATEWAYS = {"br0": "172.18.0.1", "br1": "172.19.0.1", "brint": "172.20.0.1"}

PLAY = """
- hosts: sim1
  gather_facts: false
  vars:
    bridges: {bridges}
    sandboxes: {sandboxes}
  tasks:
    - netmodes.linux.bridge:
        name: "{{{{ item.name }}}}"
        addresses: ["{{{{ item.gateway }}}}/16"]
        internal: "{{{{ item.internal | default(false) }}}}"
        icc: "{{{{ item.icc | default(true) }}}}"
        ip_masquerade: "{{{{ item.masquerade | default(true) }}}}"
      loop: "{{{{ bridges }}}}"
    - netmodes.linux.netns: {{name: "{{{{ item.name }}}}"}}
      loop: "{{{{ sandboxes }}}}"
    - netmodes.linux.veth:
        name: "v-{{{{ item.name }}}}"
        netns: "{{{{ item.name }}}}"
        bridge: "{{{{ item.bridge }}}}"
        addresses: ["{{{{ item.ip }}}}/16"]
        gateway: "{{{{ item.gateway }}}}"
      loop: "{{{{ sandboxes }}}}"
"""


def play(**options):
    """The network of SANDBOXES, with bridge options per bridge name (OPTIONS: name -> dict)."""
    bridges = [dict({"name": name, "gateway": gw, "internal": name == "brint"}, **options.get(name, {}))
               for name, gw in GATEWAYS.items()]
    sandboxes = [{"name": name, "bridge": br, "ip": ip, "gateway": GATEWAYS[br]} for name, (br, ip) in SANDBOXES.items()]
    return PLAY.format(bridges=json.dumps(bridges), sandboxes=json.dumps(sandboxes))


def reaches(host, netns, address):
    return host.run("ip netns exec %s ping -n -c1 -W1 %s" % (netns, address), check=False).returncode == 0


@pytest.fixture(params=BACKENDS)
def backend(request, sim1):
    use_backend(sim1, request.param)
    return request.param


@pytest.fixture
def network(backend, ansible, sim1):
    run = ansible.playbook(play())
    assert not run.failed, run
    return run


def test_isolation_internal_and_masquerade(network, sim1, fleet):
    lab = fleet.host("sim2").address
    assert reaches(sim1, "a", SANDBOXES["b"][1]), "members of one network reach each other (icc)"
    assert reaches(sim1, "a", lab), "a bridge network reaches other hosts, masqueraded"
    assert reaches(sim1, "c", lab)
    assert not reaches(sim1, "c", SANDBOXES["a"][1]), "br1 reached into br0"
    assert not reaches(sim1, "a", SANDBOXES["c"][1]), "br0 reached into br1"
    assert not reaches(sim1, "a", SANDBOXES["i1"][1]), "br0 reached into an internal network"
    assert reaches(sim1, "i1", SANDBOXES["i2"][1]), "members of an internal network reach each other"
    assert not reaches(sim1, "i1", lab), "an internal network has egress"
    assert not reaches(sim1, "i1", SANDBOXES["a"][1]), "an internal network reached into br0"


def test_masquerade_off_and_icc_off(network, ansible, sim1, fleet):
    lab = fleet.host("sim2").address
    run = ansible.playbook(play(br0={"masquerade": False, "icc": False}))
    assert not run.failed, run
    assert not reaches(sim1, "a", lab), "without masquerade, sim2 cannot answer 172.18.0.10"
    assert not reaches(sim1, "a", SANDBOXES["b"][1]), "icc=false: members reached each other"
    assert reaches(sim1, "c", lab), "another bridge's policy changed"
    run = ansible.playbook(play())
    assert not run.failed, run
    assert reaches(sim1, "a", lab) and reaches(sim1, "a", SANDBOXES["b"][1])


def test_policy_four_steps_and_absent(backend, ansible, sim1):
    pristine = firewall(sim1)
    ansible.four_steps(play(br1={"icc": False}), snapshot=lambda: firewall(sim1))
    result = ansible.adhoc("sim1", "bridge", {"name": "br1", "addresses": ["172.19.0.1/16"], "icc": False})
    assert not result.changed and result.result()["policy"] == {"ip_masquerade": True, "icc": False, "internal": False}
    change = ansible.four_steps(play(), snapshot=lambda: firewall(sim1))
    assert not change.failed
    for name in GATEWAYS:
        assert not ansible.adhoc("sim1", "bridge", {"name": name, "state": "absent"}).failed
    assert firewall(sim1) == pristine, "removing every bridge left rules behind"


# -- IPv6 (issue 17): the same networks dual-stack, the same policy over IPv6 -----------------------
SANDBOXES6 = {"a": "fd31:9b5e:c207:180::10", "b": "fd31:9b5e:c207:180::11", "c": "fd31:9b5e:c207:190::10",
              "i1": "fd31:9b5e:c207:200::10", "i2": "fd31:9b5e:c207:200::11"}
GATEWAYS6 = {"br0": "fd31:9b5e:c207:180::1", "br1": "fd31:9b5e:c207:190::1", "brint": "fd31:9b5e:c207:200::1"}


def play6(**options):
    """play(), dual-stack: each bridge and sandbox with an IPv6 address (and gateway) too."""
    text = play(**options)
    for name, gw in GATEWAYS.items():
        text = text.replace('"gateway": "%s"' % gw, '"gateway": "%s", "gateway6": "%s"' % (gw, GATEWAYS6[name]))
    for name, (_br, ip) in SANDBOXES.items():
        text = text.replace('"ip": "%s"' % ip, '"ip": "%s", "ip6": "%s"' % (ip, SANDBOXES6[name]))
    text = text.replace('addresses: ["{{ item.gateway }}/16"]', 'addresses: ["{{ item.gateway }}/16", "{{ item.gateway6 }}/64"]')
    text = text.replace('addresses: ["{{ item.ip }}/16"]\n        gateway: "{{ item.gateway }}"',
                        'addresses: ["{{ item.ip }}/16", "{{ item.ip6 }}/64"]\n        gateway: ["{{ item.gateway }}", "{{ item.gateway6 }}"]'
                        '\n        ipv6: "on"')
    assert text.count("gateway6") == 2 + len(GATEWAYS) + len(SANDBOXES), text
    return text


def reaches6(host, netns, address):
    return host.run("ip netns exec %s ping -6 -n -c1 -W1 %s" % (netns, address), check=False).returncode == 0


@pytest.fixture
def network6(backend, ansible, sim1):
    run = ansible.playbook(play6())
    assert not run.failed, run
    return run


def test_isolation_internal_and_masquerade_over_ipv6(network6, sim1, fleet):
    lab6 = fleet.host("sim2").address6
    assert reaches6(sim1, "a", SANDBOXES6["b"]), "members of one network reach each other (icc)"
    assert reaches6(sim1, "a", lab6), "a bridge network reaches other hosts over IPv6, masqueraded"
    assert reaches6(sim1, "c", lab6)
    assert not reaches6(sim1, "c", SANDBOXES6["a"]), "br1 reached into br0"
    assert not reaches6(sim1, "a", SANDBOXES6["c"]), "br0 reached into br1"
    assert not reaches6(sim1, "a", SANDBOXES6["i1"]), "br0 reached into an internal network"
    assert reaches6(sim1, "i1", SANDBOXES6["i2"]), "members of an internal network reach each other"
    assert not reaches6(sim1, "i1", lab6), "an internal network has egress"
    assert not reaches6(sim1, "i1", SANDBOXES6["a"]), "an internal network reached into br0"
    assert reaches(sim1, "a", fleet.host("sim2").address), "IPv4 as before"
    assert sh(sim1, "sysctl -n net.ipv6.conf.all.forwarding").strip() == "0", "never all/forwarding"


def test_masquerade_off_and_icc_off_over_ipv6(network6, ansible, sim1, fleet):
    lab6 = fleet.host("sim2").address6
    run = ansible.playbook(play6(br0={"masquerade": False, "icc": False}))
    assert not run.failed, run
    assert not reaches6(sim1, "a", lab6), "without masquerade, sim2 cannot answer fd31:9b5e:c207:180::10"
    assert not reaches6(sim1, "a", SANDBOXES6["b"]), "icc=false: members reached each other over IPv6"
    assert reaches6(sim1, "c", lab6), "another bridge's policy changed"


def test_the_source_of_a_masqueraded_ipv6_connection_is_the_hosts(network6, sim1, fleet):
    sim2 = fleet.host("sim2")
    pid = sh(sim2, "cd /tmp && setsid /usr/bin/python3 -m http.server --bind :: 8086 >/tmp/seen6.log 2>&1 </dev/null & echo $!").strip()
    try:
        sh(sim2, "for i in $(seq 300); do curl -sg -o /dev/null http://[::1]:8086/ && exit 0; sleep 0.1; done; exit 1")
        sh(sim1, "curl -sg -o /dev/null -m 3 http://[%s]:8086/from-a" % sim2.address6, netns="a")
        seen = sh(sim2, "cat /tmp/seen6.log")
        assert sim1.address6 in seen and "from-a" in seen and SANDBOXES6["a"] not in seen, seen
    finally:
        sim2.run("kill %s" % pid, check=False)


def test_dual_stack_policy_four_steps_and_absent(backend, ansible, sim1):
    pristine = firewall(sim1)
    ansible.four_steps(play6(br1={"icc": False}), snapshot=lambda: firewall(sim1))
    for name in GATEWAYS:
        assert not ansible.adhoc("sim1", "bridge", {"name": name, "state": "absent"}).failed
    assert firewall(sim1) == pristine, "removing every bridge left rules behind (ip6tables-legacy included)"
