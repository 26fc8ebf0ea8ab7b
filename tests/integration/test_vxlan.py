# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netmodes.linux.vxlan: an overlay between two simulated hosts, with real traffic across it."""

from __future__ import annotations

import pytest
from conftest import sh, sh_json, snapshot

# Each host: a bridge, the vxlan device on it with the other hosts as peers, and a sandbox
# plugged into the bridge whose MTU is the one the vxlan module chose.
OVERLAY = """
- hosts: sim
  gather_facts: false
  vars:
    index: "{{ ansible_host.split('.')[-1] | int - 10 }}"
    others: "{{ groups['sim'] | map('extract', hostvars, 'ansible_host') | reject('equalto', ansible_host) | list }}"
  tasks:
    - name: The overlay network's bridge
      netmodes.linux.bridge:
        name: br-ov
    - name: Its vxlan device, the other hosts as peers
      netmodes.linux.vxlan:
        name: vx-ov
        vni: 4242
        local: "{{ ansible_host }}"
        bridge: br-ov
        peers: "{{ others }}"
      register: vx
    - name: A sandbox
      netmodes.linux.netns:
        name: ov
    - name: Plugged into the overlay
      netmodes.linux.veth:
        name: veth-ov
        netns: ov
        bridge: br-ov
        mtu: "{{ vx.mtu | default(omit) }}"
        addresses: ["10.231.200.{{ index }}/24"]
"""


def fdb(host):
    """The vxlan device's static remotes as (mac, dst) pairs (not what it learned)."""
    return {(e["mac"], e["dst"]) for e in sh_json(host, "bridge -j fdb show dev vx-ov") if e.get("dst") and e.get("state") == "permanent"}


def fragments_made(host):
    """IP fragments the host has made (Ip: FragCreates in /proc/net/snmp)."""
    names, values = [line.split() for line in sh(host, "grep '^Ip:' /proc/net/snmp").splitlines()]
    return int(values[names.index("FragCreates")])


@pytest.fixture
def overlay(ansible, hosts):
    run = ansible.playbook(OVERLAY)
    assert not run.failed, run
    return run


def test_sandboxes_on_two_hosts_reach_each_other_across_the_overlay(ansible, hosts):
    ansible.four_steps(OVERLAY, snapshot=lambda: [snapshot(h) for h in hosts])
    sim1, sim2 = hosts[:2]
    for host, other in ((sim1, sim2), (sim2, sim1)):
        (link,) = sh_json(host, "ip -j -d link show vx-ov")
        info = link["linkinfo"]["info_data"]
        assert (info["id"], info["local"], info["port"]) == (4242, host.address, 4789)
        assert link["master"] == "br-ov" and link["ifalias"] == "netmodes.linux vxlan"
        assert fdb(host) == {("00:00:00:00:00:00", other.address)}, "one all-zero entry per peer, no multicast group"
        assert "group" not in info
    sh(sim1, "ping -c 2 -W 2 10.231.200.2", netns="ov")
    sh(sim2, "ping -c 2 -W 2 10.231.200.1", netns="ov")


def test_the_mtu_fits_the_underlay(overlay, hosts):
    sim1 = hosts[0]
    underlay = sh_json(sim1, "ip -j link show eth0")[0]["mtu"]
    mtu = sh_json(sim1, "ip -j link show vx-ov")[0]["mtu"]
    assert mtu == underlay - 50
    assert sh_json(sim1, "ip netns exec ov ip -j link show eth0")[0]["mtu"] == mtu
    made = fragments_made(sim1)
    # A full-size packet with DF set crosses, and its VXLAN packet is not fragmented on the way.
    sh(sim1, "ping -c 2 -W 2 -M do -s %d 10.231.200.2" % (mtu - 28), netns="ov")
    assert fragments_made(sim1) == made, "full-size overlay packets were fragmented on the underlay"
    one_more = sim1.run("ip netns exec ov ping -c 1 -W 2 -M do -s %d 10.231.200.2" % (mtu - 27), check=False)
    assert one_more.returncode != 0 and "message too long" in (one_more.stdout + one_more.stderr), one_more


def test_adding_and_removing_a_peer_changes_only_its_entry_and_the_firewall(overlay, ansible, hosts):
    sim1, sim2 = hosts[:2]
    # An address of the lab segment that no host has (a host still to come); nothing answers there.
    newcomer = sim1.address.rsplit(".", 1)[0] + ".99"
    args = {"name": "vx-ov", "vni": 4242, "local": sim1.address, "bridge": "br-ov", "peers": [sim2.address, newcomer]}
    before = fdb(sim1)
    added = ansible.adhoc("sim1", "vxlan", args)
    assert not added.failed and added.changed, added
    assert added.result()["operations"] == [
        {"action": "create", "object": "vxlan vx-ov peer %s" % newcomer, "after": {"mac": "00:00:00:00:00:00"}},
        {"action": "set", "object": "vxlan vx-ov firewall", "field": "peers", "before": [sim2.address],
         "after": sorted([sim2.address, newcomer])}]
    assert fdb(sim1) - before == {("00:00:00:00:00:00", newcomer)} and before <= fdb(sim1)
    assert not ansible.adhoc("sim1", "vxlan", args).changed
    sh(sim1, "ping -c 1 -W 2 10.231.200.2", netns="ov")

    removed = ansible.adhoc("sim1", "vxlan", dict(args, peers=[sim2.address]))
    assert not removed.failed and removed.changed, removed
    assert removed.result()["operations"] == [
        {"action": "set", "object": "vxlan vx-ov firewall", "field": "peers", "before": sorted([sim2.address, newcomer]),
         "after": [sim2.address]},
        {"action": "delete", "object": "vxlan vx-ov peer %s" % newcomer, "before": {"mac": "00:00:00:00:00:00"}}]
    assert fdb(sim1) == before
    sh(sim1, "ping -c 1 -W 2 10.231.200.2", netns="ov")


def test_a_new_vni_is_one_recreate_and_absent_removes_the_device(overlay, ansible, hosts):
    sim1, sim2 = hosts[:2]
    args = {"name": "vx-ov", "vni": 4243, "local": sim1.address, "bridge": "br-ov", "peers": [sim2.address]}
    check = ansible.adhoc("sim1", "vxlan", args, check=True, diff=True)
    assert check.result()["operations"][0] == {"action": "recreate", "object": "vxlan vx-ov", "before": {"vni": 4242}, "after": {"vni": 4243}}
    run = ansible.adhoc("sim1", "vxlan", args)
    assert not run.failed and run.changed, run
    assert sh_json(sim1, "ip -j -d link show vx-ov")[0]["linkinfo"]["info_data"]["id"] == 4243
    assert fdb(sim1) == {("00:00:00:00:00:00", sim2.address)} and sh_json(sim1, "ip -j link show vx-ov")[0]["master"] == "br-ov"
    assert not ansible.adhoc("sim1", "vxlan", args).changed

    gone = ansible.adhoc("sim", "vxlan", "name=vx-ov state=absent")
    assert not gone.failed and gone.changed, gone
    for host in hosts:
        assert host.run("ip link show vx-ov", check=False).returncode != 0
        assert sh_json(host, "ip -j link show br-ov")[0]["ifname"] == "br-ov"
    assert not ansible.adhoc("sim", "vxlan", "name=vx-ov state=absent").changed


def test_a_vxlan_made_by_hand_is_left_alone(ansible, sim1):
    sh(sim1, "ip link add vx-theirs type vxlan id 7 local %s dstport 4789" % sim1.address)
    run = ansible.adhoc("sim1", "vxlan", "name=vx-theirs state=absent")
    assert run.failed and "not created by netmodes.linux" in run.result()["msg"], run
    assert sh_json(sim1, "ip -j link show vx-theirs")[0]["ifname"] == "vx-theirs"
