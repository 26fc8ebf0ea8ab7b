# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host stays closed: every finding of the adversarial review (issue 13) as a test.

The topology is a host on a LAN with a private network behind it, as a careful user would set it
up to check a router-like tool::

    sim2 (the attacker)  --- lab LAN ---  eth0  sim1  eth1  --- 10.231.170.0/24 ---  private
    routes what it probes                 (the host under test)  .1              .5  (a namespace of sim1)
    through sim1's lab address

The attacker sends whatever it probes through sim1, as any machine on the host's LAN can (a
route via the host's address); the private network routes through sim1 by its default route.
The host runs services on its loopback only (TCP 127.0.0.1:6379, UDP 127.0.0.1:5514), and
the private network a service on port 22. Each test declares what the collection is asked to
do, then measures who reaches what, on both firewall backends where the firewall is involved.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BACKENDS, firewall, sh, use_backend
from test_portmap import Processes

PROBE = "/usr/bin/python3 %s" % (Path(__file__).parent / "probe.py")
PRIVATE_NET = "10.231.170.0/24"
HOST_PRIVATE = "10.231.170.1"        # sim1's address on eth1
PRIVATE = "10.231.170.5"             # the private network's machine
PRIVATE_SERVICE = 22
LOOPBACK_TCP = 6379                  # the host's loopback-only services
LOOPBACK_UDP = 5514

PRIVATE_SETUP = f"""
ip netns add private
ip link add eth1 type veth peer name eth0 netns private
ip addr add {HOST_PRIVATE}/24 dev eth1
ip link set eth1 up
ip -n private link set lo up
ip -n private addr add {PRIVATE}/24 dev eth0
ip -n private link set eth0 up
ip -n private route add default via {HOST_PRIVATE}
"""


class Lan:
    """The attacker, the host and the private network behind it (see the module's docstring)."""

    def __init__(self, host, attacker, processes):
        self.host, self.attacker, self.processes = host, attacker, processes
        self.routes = []

    def route(self, subnet):
        """Let the attacker send to SUBNET through the host, as a machine on its LAN can."""
        sh(self.attacker, "ip route replace %s via %s" % (subnet, self.host.address))
        self.routes.append(subnet)

    def serve(self, name, *endpoints, netns=None):
        """A TCP server answering NAME on each of ENDPOINTS ([ADDR:]PORT) in the host or NETNS."""
        where = "ip netns exec %s " % netns if netns else ""
        self.processes.start(self.host, "%s%s serve %s %s" % (where, PROBE, name, " ".join(map(str, endpoints))))
        wait = " ".join(e if ":" in str(e) else "127.0.0.1:%s" % e for e in map(str, endpoints))
        sh(self.host, "%s%s wait %s" % (where, PROBE, wait))

    def probe(self, source, targets, netns=None):
        """{label: answer} of TARGETS ({label: ["tcp", ADDR, PORT] or ["icmp", ADDR]}) probed from
        SOURCE ("attacker", or "host" with NETNS a namespace of the host such as "private")."""
        host = self.attacker if source == "attacker" else self.host
        where = "ip netns exec %s " % netns if netns else ""
        return json.loads(sh(host, "%s%s probe '%s'" % (where, PROBE, json.dumps(targets))))

    def close(self):
        for subnet in self.routes:
            self.attacker.run("ip route del %s" % subnet, check=False)


@pytest.fixture
def lan(fleet, sim1):
    """sim1 with a private network behind it and services on its loopback; sim2 its LAN attacker."""
    attacker, processes = fleet.host("sim2"), Processes()
    sh(sim1, PRIVATE_SETUP)
    found = Lan(sim1, attacker, processes)
    found.route(PRIVATE_NET)
    found.serve("private", PRIVATE_SERVICE, netns="private")
    found.serve("loopback-only", "127.0.0.1:%d" % LOOPBACK_TCP)
    processes.start(sim1, "%s udp-log /tmp/loopback-udp.log 127.0.0.1:%d" % (PROBE, LOOPBACK_UDP))
    yield found
    processes.stop()
    found.close()
    sim1.run("rm -f /tmp/loopback-udp.log", check=False)


def test_the_topology_is_closed_before_anything_is_declared(lan):
    """The baseline every other test builds on: without netmodes, the host routes nothing
    between its LAN and its private network, and its loopback services answer only itself."""
    targets = {"private": ["tcp", PRIVATE, PRIVATE_SERVICE], "ping": ["icmp", PRIVATE]}
    assert lan.probe("attacker", targets) == {"private": None, "ping": False}
    assert lan.probe("host", {"lan": ["icmp", lan.attacker.address]}, netns="private") == {"lan": False}
    assert lan.probe("host", {"redis": ["tcp", "127.0.0.1", LOOPBACK_TCP], "private": ["tcp", PRIVATE, PRIVATE_SERVICE]}) == {
        "redis": "loopback-only", "private": "private"}


def test_the_probes_see_an_open_router(lan):
    """The probes can fail: a host that forwards between its interfaces is seen as one."""
    sh(lan.host, "sysctl -qw net.ipv4.conf.eth0.forwarding=1 net.ipv4.conf.eth1.forwarding=1")
    try:
        assert lan.probe("attacker", {"private": ["tcp", PRIVATE, PRIVATE_SERVICE]}) == {"private": "private"}
    finally:
        sh(lan.host, "sysctl -qw net.ipv4.conf.eth0.forwarding=0 net.ipv4.conf.eth1.forwarding=0")


# -- items 1, 2, 6, 9: forwarding and loopback ----------------------------------------------------
#
# What a network switches on (forwarding on the uplinks, route_localnet on a bridge) must open
# nothing else: the LAN does not reach the private network through the host, nor the private
# network the LAN; a sandbox does not reach the host's loopback-only services; and when the last
# object that needed a sysctl goes, it is put back exactly as it was.

SANDBOX_NET = "10.231.172.0/24"
GATEWAY = "10.231.172.1"
FOREIGN_NET = "10.231.173.0/24"   # a bridge made by hand (docker0)
SYSCTLS = ("grep -H . /proc/sys/net/ipv4/conf/*/forwarding /proc/sys/net/ipv4/conf/*/route_localnet"
           " /proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv4/ip_forward")
LEDGER = "/run/netmodes/sysctl.json"

BRIDGE_PLAY = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.bridge: {name: br0, addresses: [%(gw)s/24], state: "{{ state }}"}
      when: state == "present"
    - netmodes.linux.netns: {name: web, state: "{{ state }}"}
      when: state == "present"
    - netmodes.linux.veth: {name: v-web, netns: web, bridge: br0, addresses: [%(web)s/24], gateway: %(gw)s, state: "{{ state }}"}
      when: state == "present"
    - netmodes.linux.portmap: {netns: web, bridge: br0, ports: ["8088:80", "127.0.0.1:8089:80"], state: "{{ state }}"}
    - netmodes.linux.veth: {name: v-web, state: absent}
      when: state == "absent"
    - netmodes.linux.netns: {name: web, state: absent}
      when: state == "absent"
    - netmodes.linux.bridge: {name: br0, state: absent}
      when: state == "absent"
""" % {"gw": GATEWAY, "web": "10.231.172.10"}

SITE_PLAY = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.networks: {config: "{{ networks }}", state: "{{ state }}"}
    - netmodes.linux.sandboxes: {config: "{{ sandboxes }}", networks: "{{ networks }}", state: "{{ state }}"}
"""
NETWORKS = [{"name": "front", "subnet": SANDBOX_NET}]
SANDBOXES = [{"name": "web", "network_mode": "front", "publish": ["8088:80", "127.0.0.1:8089:80"]}]

# A raw Ethernet frame from inside a sandbox, addressed to its gateway's MAC, carrying a UDP
# datagram to 127.0.0.1 (no route and no socket option of the sandbox's is involved).
RAW_FRAME = r"""
import socket, struct, sys
iface, gw_mac, src, port, payload = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5].encode()
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton("127.0.0.1"))
header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((iface, 0))
mine = sock.getsockname()[4]
for _ in range(3):
    sock.send(bytes.fromhex(gw_mac.replace(":", "")) + mine + b"\x08\x00" + header + udp)
"""

# Inside a sandbox: send 127.0.0.1 to the gateway instead of the sandbox's own loopback.
ROUTE_LOOPBACK = """
sysctl -qw net.ipv4.conf.eth0.route_localnet=1
ip route add 127.0.0.1/32 via %s dev eth0 table 100
ip rule add pref 100 to 127.0.0.1 lookup 100
ip rule add pref 200 lookup local
ip rule del pref 0
"""


def sysctls(host):
    """{key: value} of every forwarding and route_localnet sysctl of HOST."""
    lines = sh(host, SYSCTLS).split()
    return {line.split(":", 1)[0][len("/proc/sys/"):]: line.split(":", 1)[1] for line in lines}


@pytest.fixture(params=BACKENDS)
def backend(request, sim1):
    use_backend(sim1, request.param)
    return request.param


def closed(lan, sandbox=None, published=None):
    """Assert that the host routes nothing between the LAN and the private network; that SANDBOX
    (a sandbox of the host) still reaches the LAN and the LAN its PUBLISHED port (host port, answer)."""
    assert lan.probe("attacker", {"private": ["tcp", PRIVATE, PRIVATE_SERVICE], "ping": ["icmp", PRIVATE]}) == {
        "private": None, "ping": False}, "the LAN reaches the private network through the host"
    assert lan.probe("host", {"lan": ["icmp", lan.attacker.address]}, netns="private") == {"lan": False}, \
        "the private network reaches the LAN through the host"
    if sandbox:
        assert lan.probe("host", {"lan": ["icmp", lan.attacker.address]}, netns=sandbox) == {"lan": True}, \
            "a sandbox no longer reaches the LAN (masquerade)"
    if published:
        port, answer = published
        assert lan.probe("attacker", {"published": ["tcp", lan.host.address, port]}) == {"published": answer}


def reaches_host_loopback(lan, sandbox, gateway, gateway_mac):
    """What SANDBOX gets from the host's loopback-only services: by routing 127.0.0.1 to its
    gateway (TCP), and by a raw frame to the gateway's MAC (UDP, seen in the listener's log)."""
    nonce = "raw-%s-%s" % (sandbox, gateway_mac.replace(":", ""))
    proc = lan.host.run("ip netns exec %s python3 - eth0 %s %s %d %s" % (
        sandbox, gateway_mac, sh(lan.host, "ip -n %s -4 -o addr show dev eth0" % sandbox).split()[3].split("/")[0],
        LOOPBACK_UDP, nonce), input=RAW_FRAME, check=False)
    assert proc.returncode == 0, proc.stderr
    sh(lan.host, "ip netns exec %s sh -c '%s'" % (sandbox, (ROUTE_LOOPBACK % gateway).strip().replace("\n", " && ")))
    tcp = lan.probe("host", {"redis": ["tcp", "127.0.0.1", LOOPBACK_TCP]}, netns=sandbox)["redis"]
    raw = nonce in sh(lan.host, "sleep 0.5; cat /tmp/loopback-udp.log 2>/dev/null || true")
    return {"tcp": tcp, "raw": raw}


def gateway_mac(host, bridge):
    return json.loads(sh(host, "ip -j link show dev %s" % bridge))[0]["address"]


def test_a_bridge_and_a_published_port_do_not_make_the_host_a_router(backend, lan, ansible, sim1):
    """Item 1 through the single-object modules: a masquerading bridge and a port published on
    every address switch forwarding on for the uplinks; nothing else may cross the host."""
    before = sysctls(sim1)
    run = ansible.playbook(BRIDGE_PLAY, extra_vars={"state": "present"})
    assert not run.failed, run
    lan.serve("web", 80, netns="web")
    assert sysctls(sim1)["net/ipv4/conf/eth0/forwarding"] == "1", "the test no longer exercises forwarding"
    closed(lan, sandbox="web", published=(8088, "web"))
    assert lan.probe("host", {"published": ["tcp", HOST_PRIVATE, 8088]}, netns="private") == {"published": "web"}, \
        "a port published on every address is not reached from the private side"

    run = ansible.playbook(BRIDGE_PLAY, extra_vars={"state": "absent"})
    assert not run.failed, run
    assert sysctls(sim1) == before, "state: absent did not put the sysctls back"
    assert sim1.run("test -e %s" % LEDGER, check=False).returncode != 0, "the sysctl ledger outlived its last user"
    closed(lan)


@pytest.mark.parametrize("forwarded", [False, True], ids=["closed-host", "forwarding-host"])
def test_networks_and_sandboxes_open_nothing_and_pruning_puts_every_sysctl_back(backend, forwarded, lan, ansible, sim1):
    """Item 1 through the site's modules, then pruning: every sysctl back to its value before, and
    a host that already forwarded on its LAN side keeps forwarding there."""
    if forwarded:
        sh(sim1, "sysctl -qw net.ipv4.conf.eth0.forwarding=1")
    before = sysctls(sim1)
    run = ansible.playbook(SITE_PLAY, extra_vars={"networks": NETWORKS, "sandboxes": SANDBOXES, "state": "merged"})
    assert not run.failed, run
    lan.serve("web", 80, netns="web")
    closed(lan, sandbox="web", published=(8088, "web"))

    run = ansible.playbook(SITE_PLAY, extra_vars={"networks": [], "sandboxes": [], "state": "overridden"})
    assert not run.failed, run
    after = sysctls(sim1)
    assert after == before, "pruning did not put the sysctls back: %s" % {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
    assert after["net/ipv4/conf/eth0/forwarding"] == ("1" if forwarded else "0")
    assert after["net/ipv4/conf/eth1/forwarding"] == "0"


def test_a_sandbox_does_not_reach_the_hosts_loopback_services(backend, lan, ansible, sim1):
    """Item 2 (CVE-2020-8558): neither a route to 127.0.0.1 through the gateway nor a raw frame
    to the gateway's MAC reaches a service bound to the host's 127.0.0.1, while the host itself
    still reaches the sandbox's ports published on 127.0.0.1 and on every address."""
    before = sysctls(sim1)
    run = ansible.playbook(SITE_PLAY, extra_vars={"networks": NETWORKS, "sandboxes": SANDBOXES, "state": "merged"})
    assert not run.failed, run
    lan.serve("web", 80, netns="web")
    assert lan.probe("host", {"lo": ["tcp", "127.0.0.1", 8089], "any": ["tcp", "127.0.0.1", 8088]}) == {"lo": "web", "any": "web"}
    assert reaches_host_loopback(lan, "web", GATEWAY, gateway_mac(sim1, "front")) == {"tcp": None, "raw": False}
    run = ansible.playbook(SITE_PLAY, extra_vars={"networks": [], "sandboxes": [], "state": "overridden"})
    assert not run.failed, run
    assert sysctls(sim1) == before, "route_localnet or forwarding was not put back"


def test_route_localnet_only_where_a_port_reached_through_loopback_needs_it(backend, lan, ansible, sim1):
    """Item 2: route_localnet is switched on only for a bridge with a port published on every
    address or on 127.0.0.1 (the host reaches those through 127.0.0.1), internal networks too,
    and even there no member reaches the host's loopback."""
    networks = NETWORKS + [{"name": "secret", "subnet": "10.231.175.0/24", "internal": True}]
    sandboxes = [{"name": "web", "network_mode": "front", "publish": ["%s:8090:80" % sim1.address]},
                 {"name": "s1", "network_mode": "secret", "publish": ["8091:80"]}]
    run = ansible.playbook(SITE_PLAY, extra_vars={"networks": networks, "sandboxes": sandboxes, "state": "merged"})
    assert not run.failed, run
    lan.serve("s1", 80, netns="s1")
    found = sysctls(sim1)
    assert (found["net/ipv4/conf/front/route_localnet"], found["net/ipv4/conf/secret/route_localnet"]) == ("0", "1")
    assert lan.probe("host", {"lo": ["tcp", "127.0.0.1", 8091]}) == {"lo": "s1"}
    assert reaches_host_loopback(lan, "s1", "10.231.175.1", gateway_mac(sim1, "secret")) == {"tcp": None, "raw": False}
    assert reaches_host_loopback(lan, "web", GATEWAY, gateway_mac(sim1, "front")) == {"tcp": None, "raw": False}


def test_portmap_refuses_a_link_that_is_not_a_bridge(backend, lan, ansible, sim1):
    """Item 6: `bridge: eth0` is refused before anything changes (it set eth0.route_localnet=1,
    which let the LAN reach the host's loopback)."""
    before, rules = sysctls(sim1), firewall(sim1)
    target = "%s.50" % sim1.address.rsplit(".", 1)[0]
    run = ansible.adhoc("sim1", "portmap", {"address": target, "bridge": "eth0", "ports": ["8088:80"]})
    assert run.failed, run
    assert run.result()["msg"].startswith("bridge: eth0 is not a bridge"), run.result()["msg"]
    assert (sysctls(sim1), firewall(sim1)) == (before, rules)


HANDMADE = """
ip link add docker0 type bridge && ip addr add 10.231.173.1/24 dev docker0 && ip link set docker0 up
ip netns add web && ip link add vweb type veth peer name eth0 netns web && ip link set vweb master docker0 up
ip -n web addr add 10.231.173.2/24 dev eth0 && ip -n web link set eth0 up && ip -n web link set lo up
ip -n web route add default via 10.231.173.1
"""


def test_a_port_published_into_a_bridge_made_by_hand_puts_back_what_it_switched(backend, lan, ansible, sim1):
    """Item 6: a bridge of someone else's (docker0 made by hand) keeps neither route_localnet nor
    forwarding once its published port is removed; while published, the port works and the host
    routes nothing else."""
    before = sysctls(sim1)
    sh(sim1, HANDMADE)
    before_ours = sysctls(sim1)
    lan.serve("web", 80, netns="web")
    ports = {"netns": "web", "bridge": "docker0", "ports": ["8088:80", "127.0.0.1:8089:80"]}
    run = ansible.adhoc("sim1", "portmap", ports)
    assert not run.failed, run
    assert sysctls(sim1)["net/ipv4/conf/docker0/route_localnet"] == "1"
    closed(lan, published=(8088, "web"))
    assert lan.probe("host", {"lo": ["tcp", "127.0.0.1", 8089]}) == {"lo": "web"}
    assert reaches_host_loopback(lan, "web", "10.231.173.1", gateway_mac(sim1, "docker0")) == {"tcp": None, "raw": False}
    run = ansible.adhoc("sim1", "portmap", dict(ports, state="absent"))
    assert not run.failed, run
    assert sysctls(sim1) == before_ours, "the sysctls switched on docker0 and the uplinks stayed"
    assert {k: v for k, v in sysctls(sim1).items() if k in before} == before


def test_the_iptables_backend_refuses_ipv6_addresses_on_a_bridge(backend, lan, ansible, sim1):
    """Item 9: the iptables backend writes no ip6tables rules, so a bridge with an IPv6 address
    would be open over IPv6; it is refused there (and works on nftables, whose inet table covers
    both families)."""
    before, rules = sysctls(sim1), firewall(sim1)
    args = {"name": "br6", "addresses": ["10.231.174.1/24", "fd31:174::1/64"], "internal": True}
    run = ansible.adhoc("sim1", "bridge", args)
    if backend == "iptables":
        assert run.failed, run
        msg = run.result()["msg"]
        assert msg.startswith("addresses: fd31:174::1/64") and "nftables" in msg, msg
        assert (sysctls(sim1), firewall(sim1)) == (before, rules)
        assert sim1.run("ip link show br6", check=False).returncode != 0
        return
    assert not run.failed, run
    assert sysctls(sim1)["net/ipv6/conf/br6/forwarding"] == "1"
    assert sysctls(sim1)["net/ipv6/conf/all/forwarding"] == before["net/ipv6/conf/all/forwarding"]
    assert not ansible.adhoc("sim1", "bridge", {"name": "br6", "state": "absent"}).failed
    assert (sysctls(sim1), firewall(sim1)) == (before, rules)
