# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's gateway modes, trusted host interfaces and outbound NAT address with real traffic, on an
nftables host and on an iptables-legacy host.

sim1 has two dual-stack bridge networks: br0, whose options change, with sandbox ``a`` (a server on
port 80, published as 8080:80, and one on port 81, unpublished), and br1 with sandbox ``c``, another
network of the host. sim2, a machine on the LAN, routes br0's subnets to sim1, as any machine on
the LAN can: what keeps it from reaching ``a`` directly is sim1's firewall, never a missing route.
For each mode, what sim2 and ``c`` reach of ``a`` (ICMP, its published and unpublished container
ports, its host port) is Docker's; the source address ``a``'s connections to sim2 arrive with is
the mode's (masqueraded, its own, or host_ipv4); and switching back to nat leaves the firewall
exactly as nat made it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BACKENDS, firewall, sh, snapshot, use_backend
from test_portmap import Processes

PROBE = "/usr/bin/python3 %s" % (Path(__file__).parent / "probe.py")
A, A6, C = "172.18.0.10", "fd31:9b5e:c207:180::10", "172.19.0.10"
SNAT_ADDRESS = "10.231.175.1"   # host_ipv4: an address of sim1's own (on lo), routed to it by sim2

PLAY = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.bridge: %s
    - netmodes.linux.bridge: {name: br1, addresses: [172.19.0.1/16, "fd31:9b5e:c207:190::1/64"]}
    - netmodes.linux.netns: {name: a}
    - netmodes.linux.netns: {name: c}
    - netmodes.linux.veth: {name: v-a, netns: a, bridge: br0, addresses: [172.18.0.10/16, "fd31:9b5e:c207:180::10/64"],
                            gateway: [172.18.0.1, "fd31:9b5e:c207:180::1"], ipv6: "on"}
    - netmodes.linux.veth: {name: v-c, netns: c, bridge: br1, addresses: [172.19.0.10/16, "fd31:9b5e:c207:190::10/64"],
                            gateway: [172.19.0.1, "fd31:9b5e:c207:190::1"], ipv6: "on"}
    - netmodes.linux.portmap: {netns: a, bridge: br0, ports: ["8080:80"]}
"""


def play(**options):
    return PLAY % json.dumps(dict({"name": "br0", "addresses": ["172.18.0.1/16", "fd31:9b5e:c207:180::1/64"]}, **options))


@pytest.fixture(params=BACKENDS)
def lan(request, fleet, hosts):
    """sim1 on the chosen backend, the servers in ``a``, and sim2 routing br0's subnets (and the SNAT address) to sim1."""
    sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
    use_backend(sim1, request.param)
    routes = ["ip route %%s 172.18.0.0/16 via %s" % sim1.address, "ip route %%s %s/32 via %s" % (SNAT_ADDRESS, sim1.address),
              "ip -6 route %%s fd31:9b5e:c207:180::/64 via %s" % sim1.address6]
    procs = Processes()
    try:
        sh(sim1, "ip addr add %s/32 dev lo" % SNAT_ADDRESS)
        sh(sim2, " && ".join(r % "add" for r in routes))
        yield procs
    finally:
        procs.stop()
        sim2.run(" ; ".join(r % "del" for r in routes), check=False)
        sim1.run("ip addr del %s/32 dev lo" % SNAT_ADDRESS, check=False)


def rules(host):
    """Both firewalls of HOST as ``firewall`` has them, but nftables' rule handles (a chain made
    again has new ones) and the order of different owners' rules in iptables' shared chains (a
    bridge's rules written again come after another's; they match disjoint subnets, interfaces and
    addresses, so no verdict depends on it): iptables' lines as a sorted list, and each bridge's
    own chains (NM-IN-, NM-OUT-, whose order is the policy) in order."""
    snap = snapshot(host)
    legacy = snap["iptables-legacy"] + ["6 " + line for line in snap["ip6tables-legacy"]]
    return json.dumps([snap["nftables"], sorted(legacy), [line for line in legacy if " NM-" in line[:12]]], indent=1, sort_keys=True)


def probe(host, targets, netns=None):
    prefix = "ip netns exec %s " % netns if netns else ""
    return json.loads(sh(host, "%s%s probe '%s'" % (prefix, PROBE, json.dumps(targets))))


def reach(fleet):
    """What sim2 (the LAN) and ``c`` (another network of the host) get of ``a``."""
    sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
    lan = {"icmp": ["icmp", A], "80": ["tcp", A, 80], "81": ["tcp", A, 81], "8080": ["tcp", sim1.address, 8080],
           "icmp6": ["icmp", A6], "80/6": ["tcp", A6, 80], "81/6": ["tcp", A6, 81], "8080/6": ["tcp", sim1.address6, 8080]}
    other = {"icmp": ["icmp", A], "80": ["tcp", A, 80], "81": ["tcp", A, 81], "icmp6": ["icmp", A6], "81/6": ["tcp", A6, 81]}
    return probe(sim2, lan), probe(sim1, other, netns="c")


def source_seen(fleet, six=False):
    """The source address a connection from ``a`` to sim2 arrives with."""
    sim2 = fleet.host("sim2")
    log = "/tmp/gwmodes-seen.log"
    pid = sh(sim2, "cd /tmp && setsid /usr/bin/python3 -m http.server --bind %s 8087 >%s 2>&1 </dev/null & echo $!"
             % ("::" if six else "0.0.0.0", log)).strip()
    try:
        sh(sim2, "for i in $(seq 300); do curl -sg -o /dev/null http://%s:8087/ && exit 0; sleep 0.1; done; exit 1" % ("[::1]" if six else "127.0.0.1"))
        target = "[%s]" % sim2.address6 if six else sim2.address
        sh(fleet.host("sim1"), "curl -sg -o /dev/null -m 3 http://%s:8087/from-a" % target, netns="a")
        line = next(line for line in sh(sim2, "cat %s" % log).splitlines() if "from-a" in line)
        return line.split()[0].removeprefix("::ffff:")
    finally:
        sim2.run("kill %s" % pid, check=False)


BLOCKED = {"icmp": False, "80": None, "81": None, "icmp6": False, "81/6": None}
# options of br0 -> (what sim2 gets, what sim1's sandbox c gets): Docker's, per mode.
MODES = {
    "nat": ({}, {"icmp": False, "80": None, "81": None, "8080": "a", "icmp6": False, "80/6": None, "81/6": None, "8080/6": "a"}),
    "trusted": ({"trusted_host_interfaces": ["eth0"]},
                {"icmp": False, "80": "a", "81": None, "8080": "a", "icmp6": False, "80/6": "a", "81/6": None, "8080/6": "a"}),
    "nat-unprotected": ({"gateway_mode_ipv4": "nat-unprotected", "gateway_mode_ipv6": "nat-unprotected"},
                        {"icmp": True, "80": "a", "81": "a", "8080": "a", "icmp6": True, "80/6": "a", "81/6": "a", "8080/6": "a"}),
    "routed": ({"gateway_mode_ipv4": "routed", "gateway_mode_ipv6": "routed"},
               {"icmp": True, "80": "a", "81": None, "8080": None, "icmp6": True, "80/6": "a", "81/6": None, "8080/6": None}),
    # per family: IPv4 routed, IPv6 as nat
    "routed4": ({"gateway_mode_ipv4": "routed"},
                {"icmp": True, "80": "a", "81": None, "8080": None, "icmp6": False, "80/6": None, "81/6": None, "8080/6": "a"}),
}


def test_each_gateway_mode_lets_in_what_docker_s_does_and_nat_again_is_exactly_nat(lan, ansible, fleet):
    sim1 = fleet.host("sim1")
    pristine = firewall(sim1)
    ansible.four_steps(play(), snapshot=lambda: firewall(sim1))
    nat = rules(sim1)
    lan.start(sim1, "ip netns exec a %s serve a 80 81" % PROBE)
    sh(sim1, "%s wait %s:80 %s:81" % (PROBE, A, A))
    for name, (options, wanted) in MODES.items():
        if options:
            ansible.four_steps(play(**options), snapshot=lambda: firewall(sim1))
        from_lan, from_other = reach(fleet)
        assert from_lan == wanted, "%s: the LAN reached %s" % (name, from_lan)
        assert from_other == BLOCKED, "%s: another network of the host reached %s" % (name, from_other)
        if options:
            ansible.four_steps(play(), snapshot=lambda: firewall(sim1))
            assert rules(sim1) == nat, "%s -> nat left something behind" % name
    for name in ("br0", "br1"):
        assert not ansible.adhoc("sim1", "bridge", {"name": name, "state": "absent"}).failed
    for netns in ("a", "c"):
        assert not ansible.adhoc("sim1", "netns", {"name": netns, "state": "absent"}).failed
    assert not ansible.adhoc("sim1", "portmap", {"netns": "a", "bridge": "br0", "state": "absent"}).failed
    left = [line for line in snapshot(sim1)["iptables-legacy"] + snapshot(sim1)["ip6tables-legacy"] if "netmodes" in line.lower() or "NM-" in line]
    assert not left, "removing everything left rules behind: %s" % left
    assert json.loads(firewall(sim1).partition("\n--- iptables-legacy ---")[0])["nftables"] == json.loads(
        pristine.partition("\n--- iptables-legacy ---")[0])["nftables"], "removing everything left nftables rules behind"


@pytest.mark.parametrize("options, source4, source6", [
    ({}, "host", "host"),
    ({"gateway_mode_ipv4": "routed"}, A, "host"),
    ({"host_ipv4": SNAT_ADDRESS, "gateway_mode_ipv6": "routed"}, SNAT_ADDRESS, A6),
], ids=["nat", "routed4", "host_ipv4"])
def test_outbound_traffic_leaves_with_the_modes_source_address(lan, ansible, fleet, options, source4, source6):
    sim1 = fleet.host("sim1")
    run = ansible.playbook(play(**options))
    assert not run.failed, run
    assert source_seen(fleet) == (sim1.address if source4 == "host" else source4)
    assert source_seen(fleet, six=True) == (sim1.address6 if source6 == "host" else source6)
