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

Gateway mode isolated (internal networks only): br0 internal with members a and b; b reaches a
and, in mode nat, the host; isolated, nothing of the host, whatever routes b makes itself.
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


# Gateway mode isolated: br0 internal with members a (server on 80) and b, each on br0 only.
ISOLATED_PLAY = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.bridge: %s
    - netmodes.linux.netns: {name: a}
    - netmodes.linux.netns: {name: b}
    - netmodes.linux.veth: {name: v-a, netns: a, bridge: br0, addresses: [172.18.0.10/16, "fd31:9b5e:c207:180::10/64"], ipv6: "on"}
    - netmodes.linux.veth: {name: v-b, netns: b, bridge: br0, addresses: [172.18.0.11/16, "fd31:9b5e:c207:180::11/64"], ipv6: "on"}
"""
HOST_PORT, UDP_PORT, LAN_PORT = 9093, 9094, 9095


def isolated_play(**options):
    return ISOLATED_PLAY % json.dumps(dict({"name": "br0", "addresses": ["172.18.0.1/16", "fd31:9b5e:c207:180::1/64"],
                                            "internal": True}, **options))


def attack(sim1, mac, link_local):
    """b makes the host its gateway on its own: the old gateway address at the bridge's MAC (ARP
    is not needed), and the bridge's link-local address for IPv6, as routes of its own."""
    sh(sim1, "ip neigh replace 172.18.0.1 lladdr %s dev eth0 nud permanent" % mac, netns="b")
    sh(sim1, "ip route replace default via 172.18.0.1 dev eth0 onlink", netns="b")
    if link_local:
        sh(sim1, "ip -6 route replace default via %s dev eth0" % link_local, netns="b")


def from_b(fleet, link_local):
    """What b reaches: its neighbour a (both families), the host through the gateway, its lab
    addresses and its link-local one on the bridge, and sim2 on the LAN (through the host)."""
    sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
    targets = {"a": ["tcp", A, 80], "a6": ["tcp", A6, 80], "gateway": ["tcp", "172.18.0.1", HOST_PORT],
               "host": ["tcp", sim1.address, HOST_PORT], "host6": ["tcp", sim1.address6, HOST_PORT], "ping-host": ["icmp", sim1.address],
               "lan": ["tcp", sim2.address, LAN_PORT], "lan6": ["tcp", sim2.address6, LAN_PORT]}
    if link_local:
        targets["link-local"] = ["tcp", "%s%%eth0" % link_local, HOST_PORT]
    return probe(sim1, targets, netns="b")


def udp_reached(sim1, log):
    """Send a datagram from b to the host's gateway and lab addresses (no answer needed: a host
    service that only listens is reached too), and the lines the host's listener logged."""
    for target in ("172.18.0.1", sim1.address):
        sh(sim1, "/usr/bin/python3 -c \"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'from-b %s', ('%s', %d))\""
           % (target, target, UDP_PORT), netns="b")
    sh(sim1, "sleep 0.5")
    return [line for line in sh(sim1, "cat %s 2>/dev/null || true" % log).splitlines() if line.startswith("from-b")]


def test_isolated_members_reach_each_other_and_never_the_host_even_routing_to_it_themselves(lan, ansible, fleet):
    """An internal network reaches the host through its bridge address (Docker's, documented);
    isolated in both families, its bridge has no address and b reaches a only: not the host
    through the old gateway, its lab addresses or its link-local address on the bridge (routes
    b adds itself, the host's MAC as the gateway's), not even a one-way datagram, and nothing
    forwarded to the LAN. nat -> isolated -> nat is four-step idempotent each time and ends with
    exactly the rules and the addresses the first nat had."""
    sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
    log = "/tmp/gwmodes-udp-%s.log" % sim1.name
    sim1.run("rm -f %s" % log, check=False)
    ansible.four_steps(isolated_play(), snapshot=lambda: firewall(sim1))
    nat, nat_addresses = rules(sim1), sh(sim1, "ip -o addr show dev br0 scope global")
    lan.start(sim1, "ip netns exec a %s serve a 80" % PROBE)
    lan.start(sim1, "%s serve host %d" % (PROBE, HOST_PORT))
    lan.start(sim1, "%s udp-log %s 0.0.0.0:%d" % (PROBE, log, UDP_PORT))
    lan.start(sim2, "%s serve sim2 %d" % (PROBE, LAN_PORT))
    sh(sim1, "%s wait %s:80 127.0.0.1:%d" % (PROBE, A, HOST_PORT))
    sh(sim2, "%s wait 127.0.0.1:%d" % (PROBE, LAN_PORT))
    mac = sh(sim1, "cat /sys/class/net/br0/address").strip()
    link_local = next((line.split()[3].split("/")[0] for line in sh(sim1, "ip -6 -o addr show dev br0 scope link").splitlines()), None)
    attack(sim1, mac, link_local)
    internal = from_b(fleet, link_local)
    assert (internal["a"], internal["a6"], internal["gateway"], internal["host"]) == ("a", "a", "host", "host"), \
        "internal nat: b reaches a and the host (the control): %s" % internal
    assert (internal["lan"], internal["lan6"]) == (None, None), "internal: nothing leaves for the LAN"
    assert len(udp_reached(sim1, log)) == 2, "the host's listener logs what b sends while internal is nat (the control)"
    sh(sim1, "truncate -s 0 %s" % log)
    ansible.four_steps(isolated_play(gateway_mode_ipv4="isolated", gateway_mode_ipv6="isolated"), snapshot=lambda: firewall(sim1))
    assert sh(sim1, "ip -o addr show dev br0 scope global").strip() == "", "isolated: no address of either family on the bridge"
    attack(sim1, mac, link_local)
    isolated = from_b(fleet, link_local)
    wanted = {"a": "a", "a6": "a", "gateway": None, "host": None, "host6": None, "ping-host": False, "lan": None, "lan6": None}
    if link_local:
        wanted["link-local"] = None
    assert isolated == wanted, "isolated: b reached %s" % isolated
    assert udp_reached(sim1, log) == [], "isolated: a datagram from b reached the host's listener"
    assert probe(sim1, {"a": ["tcp", A, 80]}) == {"a": None}, "the host has no route into an isolated network either"
    ansible.four_steps(isolated_play(), snapshot=lambda: firewall(sim1))
    assert rules(sim1) == nat, "isolated -> nat left something behind"
    assert sh(sim1, "ip -o addr show dev br0 scope global") == nat_addresses
    attack(sim1, mac, link_local)
    again = from_b(fleet, link_local)
    assert (again["a"], again["gateway"], again["host"]) == ("a", "host", "host"), "nat again: b reaches the host again: %s" % again
    for netns in ("a", "b"):
        assert not ansible.adhoc("sim1", "netns", {"name": netns, "state": "absent"}).failed
    assert not ansible.adhoc("sim1", "bridge", {"name": "br0", "state": "absent"}).failed
