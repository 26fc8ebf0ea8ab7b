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
import sys
from pathlib import Path

import pytest
from conftest import BACKENDS, REPO, firewall, sh, snapshot, use_backend
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


def wait_udp(host, port, netns=None):
    """Return once a UDP socket is bound to PORT in HOST (or its NETNS): a datagram sent before
    the listener is there is lost, and a loaded machine starts it late."""
    where = "ip netns exec %s " % netns if netns else ""
    sh(host, "for i in $(seq 100); do %sss -Hlun 'sport = :%d' | grep -q . && exit 0; sleep 0.1; done; exit 1" % (where, port))


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
    wait_udp(sim1, LOOPBACK_UDP)
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
           " /proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv6/conf/*/force_forwarding /proc/sys/net/ipv4/ip_forward")
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
    assert run.result()["msg"].startswith("bridge: eth0 is a veth link, not a bridge"), run.result()["msg"]
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


def test_a_bridge_with_ipv6_is_closed_by_either_backend(backend, lan, ansible, sim1):
    """Item 9: the iptables backend once wrote no ip6tables rules, so a bridge with an IPv6 address
    was refused there; now it writes the same policy in ip6tables (issue 17). IPv6 forwarding is
    switched on for the bridge alone (force_forwarding), never all/forwarding."""
    before, rules = sysctls(sim1), firewall(sim1)
    args = {"name": "br6", "addresses": ["10.231.174.1/24", "fd31:9b5e:c207:174::1/64"], "internal": True}
    run = ansible.adhoc("sim1", "bridge", args)
    assert not run.failed, run
    assert sysctls(sim1)["net/ipv6/conf/br6/force_forwarding"] == "1", "IPv6 forwarding on the bridge alone (Linux 6.17)"
    assert sysctls(sim1)["net/ipv6/conf/all/forwarding"] == before["net/ipv6/conf/all/forwarding"]
    if backend == "iptables":
        assert "-A NM-IN-br6 ! -i br6" in sim1.run("ip6tables-legacy-save", check=False).stdout, "the internal network's drop, for IPv6"
    assert not ansible.adhoc("sim1", "bridge", {"name": "br6", "state": "absent"}).failed
    # (the kernel keeps a legacy table once made: ip6tables' may be left empty, with its built-in chains)
    assert sysctls(sim1) == before and _rules_only(firewall(sim1)) == _rules_only(rules)


def _rules_only(text):
    return [line for line in text.splitlines() if not line.startswith(("*", "COMMIT", ":INPUT ", ":FORWARD ", ":OUTPUT ", ":PREROUTING ", ":POSTROUTING "))]


# -- items 3, 4, 5: injection and wildcards ---------------------------------------------------------
# A value reaches a file, a rule or a command line only once validated as a whole string: a scope
# id (fe80::1%SCOPE) or a name with a newline added lines to resolv.conf and hosts (3); a sandbox
# name with a newline went into an iptables comment that iptables-save prints over three lines, and
# restoring that output ran the second line as a command (4); a network named with iptables' or
# nftables' interface wildcard matched other networks' bridges (5).

EVIL = "6.6.6.6"
DNS_INJECTIONS = [
    pytest.param({"nameservers": ["fe80::1%x\nnameserver 6.6.6.6\nsearch evil.example"]}, "nameservers[0]", id="nameserver-scope"),
    pytest.param({"extra_hosts": ["db:[fe80::1%x\n6.6.6.6 bank.example]"]}, "extra_hosts[0]", id="extra-hosts-scope"),
    pytest.param({"extra_hosts": {"db": "fe80::1%x\n6.6.6.6 bank.example"}}, "extra_hosts.db", id="extra-hosts-dict-scope"),
    pytest.param({"peers": [{"name": "db", "address": "fe80::1%x\n6.6.6.6 bank.example"}]}, "peers[0]", id="peers-scope"),
    pytest.param({"hostname": "web1\n.evil"}, "hostname", id="hostname-newline"),
]


def _sandbox_files(host, netns):
    return sh(host, "cat /etc/netns/%s/* 2>/dev/null; true" % netns)


@pytest.mark.parametrize("args, field", DNS_INJECTIONS)
def test_a_newline_in_a_dns_value_is_refused_and_writes_no_line(ansible, sim1, args, field):
    sh(sim1, "ip netns add web")
    run = ansible.adhoc("sim1", "dns_config", dict(args, netns="web"))
    assert run.failed, run
    assert run.result()["msg"].startswith(field + ":"), run.result()["msg"]
    assert sim1.run("ip netns exec web getent hosts bank.example", check=False).stdout == ""
    assert EVIL not in _sandbox_files(sim1, "web") and "evil" not in _sandbox_files(sim1, "web")


@pytest.mark.parametrize("entry, field", [
    pytest.param({"dns": ["fe80::1%x\nnameserver 6.6.6.6"]}, "config[0] (s1): dns[0]", id="dns"),
    pytest.param({"extra_hosts": ["db:[fe80::1%x\n6.6.6.6 bank.example]"]}, "config[0] (s1): extra_hosts[0]", id="extra-hosts"),
    pytest.param({"extra_hosts": {"db": "fe80::1%x\n6.6.6.6 bank.example"}}, "config[0] (s1): extra_hosts.db", id="extra-hosts-dict"),
])
def test_the_site_declaration_refuses_dns_injection_before_any_change(ansible, sim1, entry, field):
    before = snapshot(sim1)
    run = ansible.adhoc("sim1", "sandboxes", {"config": [dict(entry, name="s1", network_mode="none")]})
    assert run.failed and run.result()["msg"].startswith(field + ":"), run
    assert snapshot(sim1) == before, "the refused declaration changed the host"


NEWLINE_SANDBOX = "s3\n-I INPUT 1 -j ACCEPT\n#"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sandbox_name_with_a_newline_is_refused_and_no_rule_is_written(ansible, sim1, backend):
    use_backend(sim1, backend)
    before, rules = snapshot(sim1), firewall(sim1)
    run = ansible.adhoc("sim1", "sandboxes", {"config": [{"name": NEWLINE_SANDBOX, "hostname": "s3", "publish": ["8085:80"]}]})
    assert run.failed and run.result()["msg"].startswith("config[0]: name: sandbox name"), run
    assert "Choose another name" in run.result()["msg"]
    assert (snapshot(sim1), firewall(sim1)) == (before, rules), "the refused sandbox changed the host"
    # What the attack aimed at: a save and restore of the legacy tables runs a line of the comment.
    sh(sim1, "iptables-legacy-save | iptables-legacy-restore")
    assert "-A INPUT" not in sh(sim1, "iptables-legacy-save -t filter")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_foreign_iptables_comment_with_a_newline_does_not_stop_our_runs(ansible, sim1, backend):
    """iptables-legacy-save prints such a comment over several lines; the reader of others' rules
    (for the warnings about drops that would block our traffic) must still read the table."""
    use_backend(sim1, backend)
    sh(sim1, "iptables-legacy -A INPUT -i br0 -m comment --comment \"$(printf 'theirs\\nsecond line')\" -j DROP")
    run = ansible.adhoc("sim1", "bridge", {"name": "br0", "addresses": ["10.231.171.1/24"]})
    assert not run.failed and run.changed, run
    # The foreign rule (a drop of what br0's sandboxes send the host) is read, and warned about.
    assert "drops" in run.stdout + run.stderr and "theirs" in run.stdout + run.stderr, run


WILDCARDS = ["+", "nm+", "nm*"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", WILDCARDS)
def test_a_network_named_like_an_interface_wildcard_is_refused_and_leaves_no_bridge(ansible, sim1, backend, name):
    use_backend(sim1, backend)
    before, rules = snapshot(sim1), firewall(sim1)
    run = ansible.adhoc("sim1", "networks", {"config": [{"name": name, "subnet": "10.231.172.0/24"}]})
    assert run.failed and run.result()["msg"].startswith("config[0] (%s): name: network name %r is not valid" % (name, name)), run
    assert (snapshot(sim1), firewall(sim1)) == (before, rules), "the refused network changed the host"
    run = ansible.adhoc("sim1", "bridge", {"name": name, "addresses": ["10.231.172.1/24"]})
    assert run.failed and run.result()["msg"].startswith("name: interface name %r is not valid" % name), run
    assert (snapshot(sim1), firewall(sim1)) == (before, rules), "the refused bridge changed the host"


# -- items 8, 13, 14: pruning, overlay peers, capacity -------------------------------------------

PRUNE_NETWORK = {"name": "br0", "subnet": "10.231.172.0/24"}
# The name of the veth that plugs the hand-made namespace "mine" into br0 (the sandboxes module's
# rule, written out: a name that changed between versions would orphan links).
MINE_VETH = "nmv03cb64b0001"
OVERLAY = {"name": "ovsec", "driver": "overlay", "hosts": "ovsec", "subnet": "10.231.173.0/24"}
INJECT = "/usr/bin/python3 %s" % (Path(__file__).parent / "vxlan_inject.py")
BRIDGE_PORTS = 1023          # the kernel's BR_MAX_PORTS (1024), less port number 0, which no port gets


@pytest.mark.parametrize("backend", BACKENDS)
def test_pruning_a_sandbox_on_a_namespace_made_by_hand_closes_its_port(lan, ansible, backend):
    """Item 8: what the collection made for a sandbox whose namespace someone else made (its veth,
    published port, files) goes when pruning drops it; the namespace itself stays."""
    host = lan.host
    use_backend(host, backend)
    sh(host, "ip netns add mine && ip -n mine link set lo up")
    declared = {"target": host.name, "netmodes_requirements": False, "netmodes_networks": [PRUNE_NETWORK],
                "netmodes_sandboxes": [{"name": "mine", "network_mode": "br0", "publish": ["8088:80"]},
                                       {"name": "web", "network_mode": "br0"}]}
    run = ansible.collection_playbook("site", declared)
    assert not run.failed, run
    lan.serve("mine", 80, netns="mine")
    published = {"mine": ["tcp", host.address, 8088]}
    assert lan.probe("attacker", published) == {"mine": "mine"}, "the published port answers the LAN"
    assert "netns:mine" in firewall(host) and sh(host, "ls /etc/netns/mine").split()
    sh(host, "ip link show %s" % MINE_VETH)  # plugged in by the veth the name above says

    pruned = dict(declared, netmodes_prune=True, netmodes_sandboxes=declared["netmodes_sandboxes"][1:])
    run = ansible.collection_playbook("site", pruned)
    assert not run.failed and run.changed, run
    assert lan.probe("attacker", published) == {"mine": None}, "the LAN still reaches a pruned sandbox's port"
    assert sorted(sh(host, "ls /run/netns").split()) == ["mine", "private", "web"], "a namespace made by hand is never removed"
    assert host.run("ip link show %s" % MINE_VETH, check=False).returncode != 0, "its veth is left on br0"
    assert "netns:mine" not in firewall(host), "its rules are left"
    assert host.run("ls /etc/netns/mine /etc/netns/.netmodes/mine.json", check=False).stdout.split() == [], "its files are left"
    again = ansible.collection_playbook("site", pruned)
    assert not again.failed and not again.changed, "a second prune found something\n%r" % again


def _overlay_site(ansible, path, sandboxes):
    """site.yml over an inventory beside the fleet's: OVERLAY on the hosts of SANDBOXES ({host: [sandbox]})."""
    path.write_text(json.dumps({"all": {
        "hosts": {name: {"netmodes_sandboxes": own} for name, own in sandboxes.items()},
        "vars": {"netmodes_networks": [OVERLAY], "netmodes_requirements": False},
        "children": {"ovsec": {"hosts": dict.fromkeys(sandboxes, {})}}}}))
    return ansible._run(["ansible-playbook", "-i", str(path), "netmodes.linux.site"], False, False)


def _address(host, netns):
    (eth0,) = json.loads(sh(host, "ip -j addr show eth0", netns=netns))
    return next(a["local"] for a in eth0["addr_info"] if a["family"] == "inet"), eth0["address"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_only_the_overlays_peers_reach_its_sandboxes_through_vxlan(lan, hosts, ansible, tmp_path, backend):
    """Item 13: a LAN machine that is no peer of an overlay sends VXLAN with the overlay's VNI (it
    is derived from the network's name) to the host: its datagram must not reach the sandbox,
    while the same packet from a peer does, and the peers' own traffic flows."""
    host, attacker = lan.host, lan.attacker
    for each in (host, attacker):
        use_backend(each, backend)
    run = _overlay_site(ansible, tmp_path / "overlay.json", {host.name: [{"name": "v1", "network_mode": "ovsec"}],
                                                             attacker.name: [{"name": "v2", "network_mode": "ovsec"}]})
    assert not run.failed, run
    target, mac = _address(host, "v1")
    intruder = attacker.address.rsplit(".", 1)[0] + ".199"   # a machine on the LAN that is no peer
    sh(attacker, "ip netns add intruder && ip link add link eth0 name eth9 type macvlan mode bridge && ip link set eth9 netns intruder"
                 " && ip -n intruder addr add %s/24 dev eth9 && ip -n intruder link set eth9 up" % intruder)
    lan.processes.start(host, "ip netns exec v1 %s udp-log /tmp/v1-udp.log 0.0.0.0:5000" % PROBE)
    wait_udp(host, 5000, netns="v1")
    # The attacker knows the VNI (it is derived from the network's name): read it from the host's device.
    (vni,) = {link["linkinfo"]["info_data"]["id"] for link in json.loads(sh(host, "ip -d -j link show type vxlan"))}
    try:
        def inject(where, source, text):
            sh(attacker, "%s%s %s %s %d %s 10.231.173.250 %s:5000 %s" % (where, INJECT, source, host.address, vni, mac, target, text))

        inject("ip netns exec intruder ", intruder, "from-intruder")
        inject("", attacker.address, "from-peer")
        sh(host, "for i in $(seq 300); do grep -q from-peer /tmp/v1-udp.log 2>/dev/null && exit 0; sleep 0.1; done; exit 1")
        received = sh(host, "cat /tmp/v1-udp.log").split()
        assert received == ["from-peer"], "the overlay's sandbox received %s" % received
        sh(attacker, "ping -c 1 -W 2 %s" % target, netns="v2")
    finally:
        host.run("rm -f /tmp/v1-udp.log", check=False)


def test_a_declaration_too_big_for_one_bridge_is_refused_before_anything_is_made(ansible, sim1):
    """Item 14: 1100 sandboxes on one network would need 1100 ports on its bridge; the kernel takes
    1023. The site's check refuses it at once, naming the limit, before a network or sandbox exists."""
    sandboxes = [{"name": "s%d" % i, "network_mode": "br0"} for i in range(1100)]
    wide = {"name": "br0", "subnet": "10.231.176.0/21"}   # addresses for 2046: the bridge's ports run out first
    run = ansible.collection_playbook("site", {"target": sim1.name, "netmodes_requirements": False,
                                               "netmodes_networks": [wide], "netmodes_sandboxes": sandboxes})
    assert run.failed, run
    message = " ".join(r.get("msg", "") for r in run.results(sim1.name))
    assert "br0" in message and str(BRIDGE_PORTS) in message and "network" in message, message
    assert sh(sim1, "ls /run/netns 2>/dev/null; true").split() == [], "sandboxes were made before the refusal"
    assert sim1.run("ip link show br0", check=False).returncode != 0, "the network was made before the refusal"


def test_the_ports_a_bridge_has_count_and_its_last_port_fits(ansible, sim1):
    """Item 14: a bridge that already has 1020 ports (someone else's) takes three sandboxes more, the
    kernel's last ports; a fourth is refused by the sandboxes module and the veth module alike,
    before anything is made."""
    networks = [PRUNE_NETWORK]
    run = ansible.adhoc(sim1.name, "networks", {"config": networks})
    assert not run.failed, run
    sh(sim1, "for i in $(seq 1 1020); do echo \"link add fill$i type veth peer name peer$i\"; echo \"link set fill$i master br0\"; done"
             " | ip -batch -")
    three = [{"name": "s%d" % i, "network_mode": "br0"} for i in range(3)]
    run = ansible.adhoc(sim1.name, "sandboxes", {"config": three, "networks": networks})
    assert not run.failed, run
    assert len(sh(sim1, "ip -o link show master br0").splitlines()) == BRIDGE_PORTS

    run = ansible.adhoc(sim1.name, "sandboxes", {"config": three + [{"name": "s3", "network_mode": "br0"}], "networks": networks})
    assert run.failed and str(BRIDGE_PORTS) in run.result()["msg"], run
    assert sh(sim1, "ls /run/netns").split() == ["s0", "s1", "s2"], "the fourth sandbox was made before the refusal"
    sh(sim1, "ip netns add s3")
    run = ansible.adhoc(sim1.name, "veth", {"name": "veth-s3", "netns": "s3", "bridge": "br0"})
    assert run.failed and str(BRIDGE_PORTS) in run.result()["msg"], run
    assert sim1.run("ip link show veth-s3", check=False).returncode != 0, "the veth was made before the refusal"


# -- items 7, 10, 11, 12: files and state of ours --------------------------------------------------
# Root's alone, never through a link, never a file or a firewall object of someone else's. A user
# of the host is uid 65534 (setpriv), acting inside the simulated host.

AS_USER = "setpriv --reuid=65534 --regid=65534 --clear-groups "
SUBNET = "10.231.171.1/24"


def host_files(host, *paths):
    """{path: content or None} of files in HOST (its /etc is an overlay of its own)."""
    return {path: host.run("cat %s" % path, check=False).stdout if host.run("test -e %s" % path, check=False).returncode == 0
            else None for path in paths}


@pytest.fixture
def keep(sim1):
    """keep(*paths): the files are put back as they were after the test (whatever the code did)."""
    kept = {}

    def save(*paths):
        kept.update(host_files(sim1, *paths))

    yield save
    for path, content in kept.items():
        if content is not None:
            sim1.run("cat > %s" % path, input=content)
    sim1.run("rm -rf /etc/netmodes /etc/drop /etc/systemd/system/netmodes-restore.service"
             " /etc/systemd/system/*.wants/netmodes-restore.service", check=False)


@pytest.mark.parametrize("state, args, message", [
    ("absent", {"path": "/etc/passwd"}, "/etc/passwd exists and was not made by netmodes.linux (boot_restore). Nothing was changed"),
    ("present", {"path": "/etc/passwd"}, "/etc/passwd exists and was not made by netmodes.linux (boot_restore). Nothing was changed"),
    ("present", {"command": "/etc/drop/netmodes-restore"},
     "command: /etc/drop/netmodes-restore: /etc/drop can be written by users other than root (mode 1777)"),
], ids=["absent deletes nothing", "present overwrites nothing", "no file where a user could replace it"])
def test_boot_restore_touches_no_file_it_did_not_make(ansible, sim1, keep, state, args, message):
    keep("/etc/passwd")
    sh(sim1, "mkdir -m 1777 /etc/drop")
    before = host_files(sim1, "/etc/passwd")
    params = dict({"path": "/etc/netmodes/declared.json", "command": "/etc/netmodes/netmodes-restore",
                   "unit_dir": "/etc/systemd/system", "state": state}, **args)
    run = ansible.adhoc("sim1", "boot_restore", params)
    assert run.failed and message in run.result()["msg"], run
    assert host_files(sim1, "/etc/passwd") == before
    assert sh(sim1, "ls -A /etc/drop; ls /etc/netmodes /etc/systemd/system/netmodes-restore.service 2>&1 || true").count(
        "No such file") == 2, "nothing was written"


def test_a_link_planted_at_a_sandboxes_directory_is_refused_and_the_hosts_files_stay(ansible, sim1, keep):
    files = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")
    keep(*files)
    assert not ansible.adhoc("sim1", "netns", "name=web").failed
    sh(sim1, "mkdir -p /etc/netns && ln -s /etc /etc/netns/web")
    before = host_files(sim1, *files)
    for args in ("netns=web hostname=evil nameservers=10.231.0.66 extra_hosts=bank:10.231.0.66 force=true",
                 "netns=web state=absent force=true"):
        run = ansible.adhoc("sim1", "dns_config", args)
        assert run.failed and "/etc/netns/web is a symbolic link" in run.result()["msg"], run
        assert host_files(sim1, *files) == before, args
    assert sh(sim1, "readlink /etc/netns/web").strip() == "/etc"


def test_a_user_cannot_take_the_lock(ansible, sim1):
    assert not ansible.adhoc("sim1", "netns", "name=web").failed
    processes = Processes()
    try:
        hold = "import fcntl, time; f = open('/run/netmodes/lock'); fcntl.flock(f, fcntl.LOCK_SH); time.sleep(60)"
        holder = processes.start(sim1, AS_USER + '/usr/bin/python3 -c "%s"' % hold)
        # Wait until the user holds the lock (shared is enough to stop a writer), or gave up: it cannot open the file.
        sh(sim1, "for i in $(seq 300); do kill -0 %s 2>/dev/null || exit 0; flock -n /run/netmodes/lock true || exit 0; sleep 0.1; done"
           % holder)
        run = ansible.adhoc("sim1", "netns", "name=db lock_timeout=3")
        assert not run.failed and run.changed, run
    finally:
        processes.stop()
    assert sh(sim1, "stat -c '%a %U' /run/netmodes /run/netmodes/lock").split("\n")[:2] == ["700 root", "600 root"]


def modrun_with_umask(host, runs, umask):
    """tests/harness/modrun.py inside HOST under UMASK: the modules' own main(), as Ansible runs them."""
    request = {"snapshot": None, "runs": [{"id": module, "module": module, "args": args} for module, args in runs]}
    proc = host.run("umask %s && cd %s && PYTHONPATH=%s %s tests/harness/modrun.py" % (umask, REPO, REPO, sys.executable),
                    input=json.dumps(request), check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_state_is_roots_alone_under_any_umask(sim1):
    runs = [("netns", {"name": "web"}), ("dns_config", {"netns": "web", "hostname": "web1", "nameservers": ["10.231.0.53"]}),
            ("sandboxes", {"config": [{"name": "web2", "network_mode": "host", "ports": [9090]}]})]
    for line in modrun_with_umask(sim1, runs, "000"):
        assert line["rc"] == 0 and not line["result"].get("failed"), line
    modes = dict(line.rsplit(" ", 1) for line in sh(sim1, "find /run/netmodes /etc/netns -printf '%p %m\\n'").splitlines())
    assert modes == {"/run/netmodes": "700", "/run/netmodes/lock": "600", "/run/netmodes/netns": "700",
                     "/run/netmodes/netns/web": "600", "/run/netmodes/host-ports.json": "600",
                     "/etc/netns": "755", "/etc/netns/web": "755", "/etc/netns/web/hosts": "644", "/etc/netns/web/resolv.conf": "644",
                     "/etc/netns/web/hostname": "644", "/etc/netns/.netmodes": "700", "/etc/netns/.netmodes/web.json": "600"}
    forged = sim1.run(AS_USER + "sh -c 'echo pending > /run/netmodes/netns/mine'", check=False)
    assert forged.returncode != 0, "a user could write a marker"


def test_a_marker_another_user_owns_does_not_make_a_namespace_ours(ansible, sim1):
    """What a world-writable marker directory let any user do: mark a namespace made by hand as
    ours, so that state=absent deleted it."""
    sh(sim1, "ip netns add mine && mkdir -p /run/netmodes/netns && stat -L -c %i /run/netns/mine > /run/netmodes/netns/mine"
             " && chown 65534:65534 /run/netmodes/netns/mine")
    run = ansible.adhoc("sim1", "netns", "name=mine state=absent")
    assert run.failed and "sandbox mine was not created by netmodes.linux" in run.result()["msg"], run
    assert "mine" in sh(sim1, "ip netns list").split()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_table_or_chain_of_our_name_made_by_someone_else_survives_with_a_clear_error(ansible, sim1, backend):
    use_backend(sim1, backend)
    if backend == "nftables":
        sh(sim1, "nft add table inet netmodes && nft add chain inet netmodes theirs && nft add rule inet netmodes theirs tcp dport 9999 counter")
        theirs, message = "nft list table inet netmodes", "a table inet netmodes exists that netmodes.linux did not make"
    else:
        sh(sim1, "iptables-legacy -N NM-IN-br0 && iptables-legacy -A NM-IN-br0 -s 10.231.9.9 -j ACCEPT")
        theirs, message = "iptables-legacy -S NM-IN-br0", "chain NM-IN-br0 of table filter holds a rule netmodes.linux did not write"
    before = sh(sim1, theirs)
    for args in ("name=br0 addresses=%s" % SUBNET, "name=br0 state=absent"):
        run = ansible.adhoc("sim1", "bridge", args)
        assert run.failed and message in run.result()["msg"] and "nothing was changed" in run.result()["msg"], run
        assert sh(sim1, theirs) == before, args
    assert "br0" not in sh(sim1, "ip -br link"), "refused before anything changed"
