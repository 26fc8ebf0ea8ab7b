# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The isolation matrix: who reaches whom, measured, against the policy the declaration implies.

Two hosts declare the same networks (two user-defined ones, an internal one and Docker's default
``bridge``) with their own subnets, and the same sandboxes, one of them on two networks; every
sandbox runs a TCP server on port 80 and every host one on port 9000, and one on 127.0.0.1:6379
only (a loopback-only service, such as a database left on its default). Behind each host is a
private network (a namespace ``private`` on a veth ``eth1`` of the host) with a server on port 22;
on the lab LAN is a third machine, the attacker, that runs netmodes on nothing. Everything is
dual-stack: every network has an IPv6 subnet too (fd31:2NN::/64 beside 10.231.2NN.0/24), and
so have the private networks and the LAN (the lab cable's ``address6``). The LAN::

    attacker (sim3) ---+--- eth0 sim1 eth1 --- 10.231.170.0/24, fd31:170::/64 --- private (.5, ::5)
                       +--- eth0 sim2 eth1 --- 10.231.180.0/24, fd31:180::/64 --- private (.5, ::5)

Every machine sends what it probes through the host it is meant for, as any machine on the LAN
can: each host routes the other's subnets and private network to it (so each host is also a LAN
attacker of the other), the attacker routes every host's, a private network has its host as its
default route. 127.0.0.1 is routed too, by source port (a rule and a table that come before the
kernel's local table): the attacker sends it to either host, each sandbox to its gateway and each
private network to its host, as root in them may. So what isolates anything is the host's
firewall and its forwarding, never a missing route.

From every endpoint (each host, sandbox and private network, and the attacker) one probe tries
every target at once, ICMP and TCP: each sandbox address, each private network, each host's
addresses and service, each host's published ports through its lab address, 127.0.0.1 of the host
itself, 127.0.0.1 of a host routed to it (its loopback-only service and its port published on
127.0.0.1, moby#41872), and the attacker; and over IPv6 the same, each address's IPv6 twin
(members over IPv6, the published ports through each host's IPv6 lab address), but 127.0.0.1's
targets, which have none: nothing is published on [::1], and IPv6 has no route_localnet. The
whole measured matrix must equal ``expected``, pair for pair: an extra reachable pair fails as
much as a missing one.

Three networks carry Docker's gateway options (issue 19, ``OPTIONS``): front trusts eth1 (the
private network reaches its members' published container ports directly), routed is routed in
both families (the LAN reaches its members by routing: ICMP and their published container ports,
no host port), open is nat-unprotected over IPv4 (anything routed to a member gets in) and nat
over IPv6; ``direct`` says what each lets in, and no other network of the host gets in by routing.

vault (issue 19) is internal and in gateway mode isolated in both families: its bridge has no
address, so its members (v1; v2, also on front) reach each other on it and nothing else through
it: not the host (nor the host them), not its gateway address, which no one has; it has no
resolver. a3 publishes 8086:80 with an allow-list (``allow``): the attacker and the private
network behind its host, both families; besides them only the host itself and front's members
(who are not filtered) reach it.

Every host also runs a stand-in for the networks' resolvers (issue 18): a server answering UDP
and TCP on port 53 of each network's gateway, both families, Docker's default network included
(it has none: ``dns`` false, so nothing about it changes). The matrix probes each of them, and
each gateway's host service (port 9000) beside it: only a network's own members (and the host
itself) reach its resolver; the rest of the host is as reachable as before.
"""

from __future__ import annotations

import ipaddress
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import BACKENDS, fleet_of, sh, sh_json, use_backend
from test_portmap import Processes

PROBE = "/usr/bin/python3 %s" % (Path(__file__).parent / "probe.py")
HOSTS = ("sim1", "sim2")
ATTACKER = "sim3"
# name -> (third octet of its subnet on sim1, internal); sim2's subnets are 10 higher (those of the
# gateway modes' networks, 1 higher: the lab's 10.231.201-214 allows no more).
NETWORKS = {"front": (201, False), "back": (202, False), "secret": (203, True), "bridge": (204, False), "routed": (205, False),
            "open": (207, False), "vault": (209, True)}
SPARE = ("routed", "open", "vault")  # the networks whose subnets on sim2 are 1 higher, not 10
# Docker's gateway options (issue 19): front trusts the private network's interface (eth1) to reach
# its members' published container ports directly; routed is routed in both families (no NAT: the
# LAN routes to its members, which open ICMP and their published container ports only, no host
# port); open is nat-unprotected over IPv4 (anything routed to a member gets in) and nat over IPv6.
# vault is internal and isolated in both families: its bridge has no address, its members reach
# each other and nothing else, not even their host (nor it them), and it has no resolver.
OPTIONS = {"front": {"trusted_host_interfaces": ["eth1"]}, "routed": {"gateway_mode_ipv4": "routed", "gateway_mode_ipv6": "routed"},
           "open": {"gateway_mode_ipv4": "nat-unprotected"}, "vault": {"gateway_mode_ipv4": "isolated", "gateway_mode_ipv6": "isolated"}}
# A published port with an allow-list (issue 19's allow): ALLOWED stands for the attacker's
# addresses and the private network behind the host, both families (``allowed``).
ALLOWED = "ALLOWED"
# name -> (networks, published ports); LO is the host's port published on 127.0.0.1 only, which
# differs between the hosts so that a probe of one host's is not caught by the other's.
SANDBOXES = {
    "a1": (["front"], ["8080:80"]),
    "a2": (["front"], ["127.0.0.1:LO:80"]),
    "m1": (["front", "back"], []),
    "b1": (["back"], []),
    "s1": (["secret"], ["8082:80"]),
    "s2": (["secret"], []),
    "d1": (["bridge"], []),
    "r1": (["routed"], ["8083:80"]),
    "r2": (["routed"], []),
    "u1": (["open"], ["8084:80"]),
    "a3": (["front"], [{"port": "8086:80", "allow": ALLOWED}]),
    "v1": (["vault"], []),
    "v2": (["front", "vault"], []),
}
SERVICE, HOST_SERVICE, PRIVATE_SERVICE, LOOPBACK_ONLY = 80, 9000, 22, 6379
DNS = 53  # where a network's resolver listens, udp and tcp: on its gateways
PRIVATE_NETWORKS = {"sim1": "10.231.170.0/24", "sim2": "10.231.180.0/24"}  # the host is .1, the machine .5
PRIVATE_NETWORKS6 = {"sim1": "fd31:170::/64", "sim2": "fd31:180::/64"}  # the host is ::1, the machine ::5
ROUTED_LOOPBACK = 231  # the routing table (and rule) that sends 127.0.0.1 out; 232 the attacker's second
ROUTED_PORTS = {"sim1": (41000, 41099), "sim2": (41100, 41199)}  # the source ports that send it to that host


def offset(host):
    return HOSTS.index(host) * 10


def loopback_port(host):
    return 8081 + offset(host)


def subnet(host, network, six=False):
    """NETWORK's subnet on HOST, its IPv6 one when SIX."""
    octet = NETWORKS[network][0] + (offset(host) // 10 if network in SPARE else offset(host))
    return ipaddress.ip_network(("fd31:%d::/64" if six else "10.231.%d.0/24") % octet)


def mode_of(network, six=False):
    """NETWORK's gateway mode in the IP version of SIX."""
    return OPTIONS.get(network, {}).get("gateway_mode_ipv6" if six else "gateway_mode_ipv4", "nat")


def port_spec(item):
    """The ``-p`` text of a published port of SANDBOXES (a string, or a dict with an allow-list)."""
    return item["port"] if isinstance(item, dict) else item


def isolated(network, six=False):
    """NETWORK is in gateway mode isolated in the IP version of SIX: its bridge has no address there."""
    return mode_of(network, six) == "isolated"


def allowed(fleet, host):
    """The allow-list of a port published with ALLOWED on HOST: the attacker and HOST's private network, both families."""
    attacker = fleet.host(ATTACKER)
    return ["%s/32" % attacker.address, "%s/128" % attacker.address6, PRIVATE_NETWORKS[host], PRIVATE_NETWORKS6[host]]


def published_ports(sandbox, six=False):
    """The container ports SANDBOX publishes in the IP version of SIX (one published on 127.0.0.1 is IPv4's only)."""
    return {int(port_spec(p).split(":")[-1]) for p in SANDBOXES[sandbox][1] if not (six and port_spec(p).startswith("127.0.0.1:"))}


def gateway(host, network, six=False):
    """NETWORK's gateway on HOST (the first address of its subnet: none is declared), where its resolver listens."""
    return str(subnet(host, network, six)[1])


def member_of(network):
    """A sandbox on NETWORK: a name its resolver answers without asking upstream."""
    return next(name for name, (nets, _publish) in SANDBOXES.items() if network in nets)


def has_resolver(network):
    """Every network but Docker's default one has a resolver (``dns`` is true unless declared false),
    but vault, isolated in both families (its members get hosts files)."""
    return network != "bridge" and not (isolated(network) and isolated(network, True))


def private_address(host, machine=5, six=False):
    """The private network's machine behind HOST, or (MACHINE=1) the host's own address on it."""
    return str(ipaddress.ip_network((PRIVATE_NETWORKS6 if six else PRIVATE_NETWORKS)[host])[machine])


def declaration(host, fleet):
    networks = [dict({"name": name, "subnet": [str(subnet(host, name)), str(subnet(host, name, True))], "ipv6": True, "internal": internal},
                     **OPTIONS.get(name, {})) for name, (_octet, internal) in NETWORKS.items()]
    sandboxes = [{"name": name, "network_mode": nets[0], "networks": nets[1:],
                  "publish": [dict(p, allow=allowed(fleet, host)) if isinstance(p, dict) else p.replace("LO", str(loopback_port(host)))
                              for p in publish]}
                 for name, (nets, publish) in SANDBOXES.items()]
    return {"networks": networks, "sandboxes": sandboxes}


PLAY = """
- hosts: sim1,sim2
  gather_facts: false
  vars:
    declared: %s
  tasks:
    - netmodes.linux.networks: {config: "{{ declared[inventory_hostname].networks }}"}
    - netmodes.linux.sandboxes:
        config: "{{ declared[inventory_hostname].sandboxes }}"
        networks: "{{ declared[inventory_hostname].networks }}"
"""


@dataclass(frozen=True)
class Source:
    """One endpoint that probes: KIND host (HOST itself), sandbox (NAME of HOST), private (the
    private network behind HOST) or attacker (the LAN machine, HOST None)."""

    kind: str
    host: str = None
    name: str = None
    networks: tuple = field(default=(), compare=False)

    @property
    def label(self):
        return {"host": self.host, "attacker": "attacker", "private": "%s/private" % self.host}.get(self.kind, "%s/%s" % (self.host, self.name))

    @property
    def machine(self):
        """The simulated host it runs in, and the namespace there."""
        return (ATTACKER if self.kind == "attacker" else self.host), {"sandbox": self.name, "private": "private"}.get(self.kind)

    @property
    def internal(self):
        """On internal networks only: no default route (a member of an internal and another network leaves through the other)."""
        return bool(self.networks) and all(NETWORKS[n][1] for n in self.networks)


SOURCES = [Source("attacker")] + [s for host in HOSTS for s in (
    [Source("host", host), Source("private", host)] + [Source("sandbox", host, name, tuple(nets)) for name, (nets, _p) in SANDBOXES.items()])]


@dataclass(frozen=True)
class Target:
    """One thing to reach: KIND icmp, tcp or udp at ADDR:PORT, on HOST, by way of VIA (direct: a
    sandbox's address on NETWORK; private: the private network behind HOST; host: one of the
    host's own addresses, on the LAN or on its private network; resolver: port 53 of NETWORK's
    gateway; gateway: the host's service on NETWORK's gateway; published: a published port of
    SANDBOX through the lab address; loopback: through 127.0.0.1 of the host itself; routed:
    127.0.0.1 of HOST, routed to it from elsewhere; attacker: the LAN machine). ANSWER is what
    reaching it gives."""

    kind: str
    host: str
    addr: str
    port: int
    via: str
    answer: object
    network: str = None
    sandbox: str = None
    mapping: str = None
    allow: bool = False     # a published port with an allow-list (ALLOWED)

    @property
    def label(self):
        where = "%s:%d" % (self.addr, self.port) if self.kind != "icmp" else self.addr
        return "%s %s %s %s" % (self.host, self.via, self.kind, where)


def both(host, addr, port, via, answer):
    return [Target("icmp", host, addr, 0, via, True), Target("tcp", host, addr, port, via, answer)]


def targets(fleet, addresses):
    """Every target of the matrix; ADDRESSES: host -> sandbox -> [(network, address)], both families."""
    attacker = fleet.host(ATTACKER)
    out = both(ATTACKER, attacker.address, HOST_SERVICE, "attacker", "attacker") + both(ATTACKER, attacker.address6, HOST_SERVICE, "attacker", "attacker")
    for host in HOSTS:
        for name, nets in addresses[host].items():
            for network, addr in nets:
                out.append(Target("icmp", host, addr, 0, "direct", True, network, name))
                out.append(Target("tcp", host, addr, SERVICE, "direct", "%s/%s" % (host, name), network, name))
        for six in (False, True):
            out += both(host, private_address(host, six=six), PRIVATE_SERVICE, "private", "%s/private" % host)
        for addr in (fleet.host(host).address, private_address(host, 1), fleet.host(host).address6, private_address(host, 1, True)):
            out += both(host, addr, HOST_SERVICE, "host", host)
        for network in NETWORKS:
            for addr in (gateway(host, network), gateway(host, network, True)):
                if isolated(network, ":" in addr):  # no address there: only the host's service is tried (no resolver, no stand-in)
                    out.append(Target("tcp", host, addr, HOST_SERVICE, "gateway", host, network))
                    continue
                if has_resolver(network):  # the network's own resolver (dnsmasq) answers a DNS query
                    out += [Target(kind, host, addr, DNS, "resolver", "dns", network, member_of(network)) for kind in ("dns-udp", "dns-tcp")]
                else:  # Docker's default network has none: port 53 of its gateway is any port of the host's
                    out += [Target(kind, host, addr, DNS, "resolver", "%s/dns" % host, network) for kind in ("udp", "tcp")]
                out.append(Target("tcp", host, addr, HOST_SERVICE, "gateway", host, network))
        out.append(Target("tcp", host, "127.0.0.1", LOOPBACK_ONLY, "loopback", "%s/loopback-only" % host))
        out.append(Target("tcp", host, "127.0.0.1", LOOPBACK_ONLY, "routed", "%s/loopback-only" % host))
        for name, (nets, publish) in SANDBOXES.items():
            for item in publish:
                spec = port_spec(item).replace("LO", str(loopback_port(host)))
                port = int(spec.split(":")[-2])
                answer = "%s/%s" % (host, name)
                for addr in (fleet.host(host).address, fleet.host(host).address6):
                    out.append(Target("tcp", host, addr, port, "published", answer, nets[0], name, spec, isinstance(item, dict)))
                out.append(Target("tcp", host, "127.0.0.1", port, "loopback", answer, nets[0], name, spec))
                if spec.startswith("127.0.0.1:"):
                    out.append(Target("tcp", host, "127.0.0.1", port, "routed", answer, nets[0], name, spec))
    return out


def probed_from(source, target):
    """Whether SOURCE probes TARGET at all: 127.0.0.1 is the host's own only from the host itself
    (a sandbox's or another machine's is its own loopback); it is routed to a host from the
    attacker, and from that host's sandboxes and private network (their next hop is that host)."""
    if target.via == "loopback":
        return source.kind == "host" and source.host == target.host
    if target.via == "routed":
        return source.kind == "attacker" or (source.kind in ("sandbox", "private") and source.host == target.host)
    return target.via != "attacker" or source.kind != "attacker"


def reaches_host(source, host):
    """Whether SOURCE reaches HOST's own addresses: the hosts and the attacker are on one LAN; a
    sandbox reaches its own host and other hosts, but one on an internal network only, which has
    no default route (as in Docker) and so reaches no address off its network; a private network
    only its own host (any other would be through its host)."""
    if source.kind == "sandbox":
        return not source.internal
    if source.kind == "private":
        return source.host == host
    return True


def expected(source, target):
    """Docker's policy, with the host kept closed, for what SOURCE gets from TARGET, over IPv4 and
    IPv6 alike (Docker's ip6tables rules are its iptables ones; an IPv6 target is the twin of an
    IPv4 one, on the same network, host or mapping).

    - A host is no router. Nothing reaches the private network behind a host but the host, its
      sandboxes (their egress, as Docker allows it to wherever the host routes; an internal
      network has none) and the network itself, and it reaches nothing through its host: not the LAN,
      the other host, its private network or the attacker, and no sandbox directly.
    - Members of one network reach each other; different networks are isolated, and so are
      the sandboxes of other hosts (no overlay): a direct address is reached only from the
      same host, by the host itself or by a member of that address's network; never from the
      LAN (the attacker, the other host) nor from the private network behind the host.
    - A host's own addresses and services (see ``reaches_host``), its gateways' too (a network's
      own gateway also from its members on an internal network: it is on their link); the attacker's:
      from the hosts and from sandboxes not on an internal network (egress), not from a private network.
    - A network's resolver (port 53 of its gateways, udp and tcp): from its own members and the host
      itself only; not from a member of another network of the host (whatever its route), the
      private network, the LAN or another host. Docker's default network has none: its gateways'
      port 53 is any address's of the host.
    - Published ports: through the lab address, from whoever reaches the host but internal
      networks (the attacker, the other host, the private network behind it); a port published
      on 127.0.0.1 only through 127.0.0.1 of its own host; a port published by a member of an
      internal network from no one through the lab address (the member has no route back to it:
      not even its own host's packets, which leave with the lab address as their source).
    - 127.0.0.1 is the host's alone: its loopback-only service and its ports published on
      127.0.0.1 answer the host itself, never a packet routed to 127.0.0.1 from a sandbox, the
      private network or the LAN (route_localnet's hole, CVE-2020-8558).

    A sandbox reaches its own published ports through a host address too: the DNATed packet
    goes back out of the bridge port it came in on (hairpin mode, which the sandboxes module
    sets as Docker does without its userland proxy).
    """
    same_host = source.host == target.host
    six = ":" in target.addr
    # an isolated network's bridge has no address: the host is not on its link (no route to its members)
    local = same_host and ((source.kind == "host" and not (target.network and isolated(target.network, six))) or target.network in source.networks)
    egress = source.kind == "sandbox" and not source.internal
    if target.via == "gateway" and isolated(target.network, six):
        reached = False  # no one has that address
    elif target.via == "direct":
        reached = local or direct(source, target, six, egress)
    elif target.via == "private":
        reached = same_host and (source.kind in ("host", "private") or egress)
    elif target.via == "host":
        reached = reaches_host(source, target.host)
    elif target.via == "gateway" or (target.via == "resolver" and not has_resolver(target.network)):
        reached = reaches_host(source, target.host) or local  # its own network's gateway is on its link
    elif target.via == "resolver":
        reached = local
    elif target.via == "attacker":
        reached = source.kind == "host" or egress
    elif target.via in ("published", "loopback") and target.network and mode_of(target.network, six) == "routed":
        reached = False  # Docker's routed port mapper maps no host port
    elif target.via == "published":
        if target.mapping.startswith("127.0.0.1:"):
            reached = False
        elif NETWORKS[target.network][1]:
            reached = False
        elif target.allow:  # the host's own connections and the network's members are not filtered
            reached = (same_host and (source.kind == "host" or target.network in source.networks)) or source.kind == "attacker" or (
                same_host and source.kind == "private")
        else:
            reached = reaches_host(source, target.host) and not source.internal
    elif target.via == "loopback":
        reached = True
    else:  # routed 127.0.0.1
        reached = False
    if target.kind == "icmp":
        return reached
    return target.answer if reached else None


def direct(source, target, six, egress):
    """Whether SOURCE, not on TARGET's network, reaches a member's address by routing (issue 19's
    gateway options; Docker's): in gateway mode nat-unprotected everything, in routed mode ICMP and
    its published container ports, from whatever routes to the host (the attacker, the other host
    and its sandboxes' egress, the private network behind the host), never from another network
    of the host (their isolation); in nat mode nothing, but a published container port from a
    trusted interface (front trusts eth1, the private network's)."""
    mode, same_host = mode_of(target.network, six), source.host == target.host
    routing = source.kind == "attacker" or (same_host and source.kind == "private") or (
        not same_host and (source.kind == "host" or egress))
    published = target.kind == "tcp" and target.port in published_ports(target.sandbox, six)
    if mode == "nat-unprotected":
        return routing
    if mode == "routed":
        return routing and (target.kind == "icmp" or published)
    trusted = "eth1" in OPTIONS.get(target.network, {}).get("trusted_host_interfaces", ())
    return trusted and same_host and source.kind == "private" and published


def addresses_of(run):
    """host -> sandbox -> [(network, address)], from the sandboxes module's results."""
    out = {}
    for host in HOSTS:
        found = run.results(host)[-1]["sandboxes"]
        out[host] = {}
        for name in SANDBOXES:
            ips = [ipaddress.ip_interface(a).ip for a in found[name]["addresses"]]
            out[host][name] = sorted((network, str(ip)) for ip in ips for network in NETWORKS for six in (False, True) if ip in subnet(host, network, six))
    return out


def behind(host, six=False):
    """What a LAN machine routes to HOST: its subnets and its private network (the IPv6 ones when SIX)."""
    return [str(subnet(host, n, six)) for n in NETWORKS] + [(PRIVATE_NETWORKS6 if six else PRIVATE_NETWORKS)[host]]


def lan_routes(sim, verb="add"):
    """Shell lines that route what is behind the simulated host SIM to it, both families (VERB del: no more)."""
    return (["ip route %s %s via %s" % (verb, net, sim.address) for net in behind(sim.name)]
            + ["ip -6 route %s %s via %s" % (verb, net, sim.address6) for net in behind(sim.name, True)])


def route_loopback(routes, netns=None):
    """Shell lines that send 127.0.0.1 out by TCP source port, in NETNS (or the host itself):
    ROUTES is [((low, high), via, dev)], a table each. DEV takes the answer, which comes from
    127.0.0.1 (route_localnet); Linux looks up local addresses first (rule 0), so the rules for
    the probes' source ports come before the local table."""
    ip, sysctl = ("ip -n %s" % netns, "ip netns exec %s sysctl" % netns) if netns else ("ip", "sysctl")
    lines = []
    for index, ((low, high), via, dev) in enumerate(routes):
        table = ROUTED_LOOPBACK + index
        lines += ["%s -qw net.ipv4.conf.%s.route_localnet=1" % (sysctl, dev),
                  "%s route add 127.0.0.1/32 via %s dev %s table %d" % (ip, via, dev, table),
                  "%s rule add pref %d to 127.0.0.1 ipproto tcp sport %d-%d lookup %d" % (ip, 100 + index, low, high, table)]
    return lines + ["%s rule add pref 200 lookup local" % ip, "%s rule del pref 0" % ip]


def private_network(host):
    """Shell lines that put the private network behind HOST: a namespace on a veth eth1."""
    me, machine = private_address(host, 1), private_address(host)
    me6, machine6 = private_address(host, 1, True), private_address(host, six=True)
    return ["ip netns add private", "ip link add eth1 type veth peer name eth0 netns private",
            "ip addr add %s/24 dev eth1" % me, "ip addr add %s/64 dev eth1 nodad" % me6, "ip link set eth1 up", "ip -n private link set lo up",
            "ip -n private addr add %s/24 dev eth0" % machine, "ip -n private addr add %s/64 dev eth0 nodad" % machine6, "ip -n private link set eth0 up",
            "ip -n private route add default via %s" % me, "ip -n private -6 route add default via %s" % me6,
            *route_loopback([(ROUTED_PORTS[host], me, "eth0")], "private")]


@pytest.fixture(scope="module")
def fleet():
    """This module's own fleet: the two hosts and the attacker."""
    yield from fleet_of(3, "isolation")


@pytest.fixture
def lan(fleet, hosts):
    """The private networks and every machine's routes (see the module's docstring)."""
    for host in HOSTS:
        other = HOSTS[1 - HOSTS.index(host)]
        sh(fleet.host(host), " && ".join(private_network(host) + lan_routes(fleet.host(other))))
    attacker = fleet.host(ATTACKER)
    routes = [line for host in HOSTS for line in lan_routes(fleet.host(host))]
    sh(attacker, " && ".join(routes + route_loopback([(ROUTED_PORTS[h], fleet.host(h).address, "eth0") for h in HOSTS])))
    yield
    # reset() removes the private networks and puts route_localnet back; not the routes over eth0.
    for host in HOSTS:
        other = HOSTS[1 - HOSTS.index(host)]
        fleet.host(host).run(" ; ".join(lan_routes(fleet.host(other), "del")), check=False)
    attacker.run(" ; ".join([line for host in HOSTS for line in lan_routes(fleet.host(host), "del")] + [
        "ip rule add pref 0 lookup local", "ip rule del pref 200", "ip rule del pref 100", "ip rule del pref 101",
        "ip route flush table %d" % ROUTED_LOOPBACK, "ip route flush table %d" % (ROUTED_LOOPBACK + 1)]), check=False)


@pytest.fixture
def servers(fleet):
    procs = Processes()
    yield procs
    procs.stop()


def serve(fleet, servers):
    """The hosts' services (one on 127.0.0.1 only), the private networks' and the attacker's."""
    for host in HOSTS:
        sim = fleet.host(host)
        servers.start(sim, "%s serve %s %d" % (PROBE, host, HOST_SERVICE))
        servers.start(sim, "%s serve %s/loopback-only 127.0.0.1:%d" % (PROBE, host, LOOPBACK_ONLY))
        servers.start(sim, "ip netns exec private %s serve %s/private %d" % (PROBE, host, PRIVATE_SERVICE))
        sh(sim, "%s wait 127.0.0.1:%d 127.0.0.1:%d %s:%d" % (PROBE, HOST_SERVICE, LOOPBACK_ONLY, private_address(host), PRIVATE_SERVICE))
    servers.start(fleet.host(ATTACKER), "%s serve attacker %d" % (PROBE, HOST_SERVICE))
    sh(fleet.host(ATTACKER), "%s wait 127.0.0.1:%d" % (PROBE, HOST_SERVICE))


def serve_resolvers(fleet, servers):
    """The networks' resolvers answer on every host (the run started them); on the gateways of
    Docker's default network, which has none, a stand-in listens on UDP and TCP port 53, to show
    that port is no more open there than any other of the host's."""
    for host in HOSTS:
        sim = fleet.host(host)
        for network in (n for n in NETWORKS if has_resolver(n)):
            sh(sim, "%s wait-dns %s %s" % (PROBE, member_of(network), " ".join("%s:%d" % (gateway(host, network, six), DNS) for six in (False, True))))
        endpoints = " ".join("%s:%d" % (gateway(host, n, six), DNS) for n in NETWORKS if not has_resolver(n) for six in (False, True)
                             if not isolated(n, six))
        servers.start(sim, "%s serve %s/dns %s" % (PROBE, host, endpoints))
        servers.start(sim, "%s serve-udp %s/dns %s" % (PROBE, host, endpoints))
        sh(sim, "%s wait %s" % (PROBE, endpoints))


def probe(fleet, source, chosen):
    """{label: answer} of CHOSEN ({label: probe.py's target}) probed from SOURCE."""
    on, netns = source.machine
    prefix = "ip netns exec %s " % netns if netns else ""
    return json.loads(sh(fleet.host(on), "%s%s probe '%s'" % (prefix, PROBE, json.dumps(chosen))))


def check_routed_probes(fleet):
    """The probes that route 127.0.0.1 to a host can succeed: once the host takes 127.0.0.1 from
    its cables (route_localnet, which no host has; only for this check, before anything is
    declared), the attacker and the private network reach its loopback-only service."""
    cables = "net.ipv4.conf.eth0.route_localnet=%d net.ipv4.conf.eth1.route_localnet=%d"
    for host in HOSTS:
        sim, port = fleet.host(host), ROUTED_PORTS[host][1]  # a source port the matrix does not use
        sh(sim, "sysctl -qw " + cables % (1, 1))
        try:
            for source in (Source("attacker"), Source("private", host)):
                assert probe(fleet, source, {"lo": ["tcp", "127.0.0.1", LOOPBACK_ONLY, port]}) == {"lo": "%s/loopback-only" % host}, source
        finally:
            sh(sim, "sysctl -qw " + cables % (0, 0))


def route_sandboxes_loopback(fleet, addresses):
    """Every sandbox sends 127.0.0.1 (for its host's ROUTED_PORTS) to its gateway, as root in it may
    (but a member of an isolated network only, which has none: its own loopback answers nothing)."""
    for host in HOSTS:
        sim = fleet.host(host)
        own = [ipaddress.ip_interface("%s/%d" % (a["local"], a["prefixlen"])) for link in sh_json(sim, "ip -j -4 addr show") for a in link["addr_info"]]
        lines = []
        for name, nets in addresses[host].items():
            if all(isolated(network) for network, _addr in nets):
                continue
            network, addr = next((network, addr) for network, addr in nets if "." in addr and not isolated(network))
            (gateway,) = [str(a.ip) for a in own if a.ip in subnet(host, network)]
            (dev,) = [link["ifname"] for link in sh_json(sim, "ip -n %s -j -4 addr show" % name) if any(a["local"] == addr for a in link["addr_info"])]
            lines += route_loopback([(ROUTED_PORTS[host], gateway, dev)], name)
        sh(sim, " && ".join(lines))


def measure(fleet, all_targets):
    """{(source, target label): answer} for every source, all probed at once."""
    jobs = []
    for source in SOURCES:
        chosen, sport = {}, {host: low for host, (low, _high) in ROUTED_PORTS.items()}
        for target in all_targets:
            if probed_from(source, target):
                spec = [target.kind, target.addr] + ([target.port] if target.kind != "icmp" else [])
                if target.via == "routed":
                    spec.append(sport[target.host])
                    sport[target.host] += 1
                if target.kind.startswith("dns-"):
                    spec.append(target.sandbox)  # the member name it asks for
                chosen[target.label] = spec
        jobs.append((source, chosen))

    def run(job):
        source, chosen = job
        return source, probe(fleet, source, chosen)

    out = {}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for source, answers in pool.map(run, jobs):
            out.update({(source, label): answer for label, answer in answers.items()})
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_measured_matrix_is_the_declared_policy(backend, ansible, fleet, lan, servers):
    serve(fleet, servers)
    check_routed_probes(fleet)
    for host in HOSTS:
        use_backend(fleet.host(host), backend)
    run = ansible.playbook(PLAY % json.dumps({host: declaration(host, fleet) for host in HOSTS}))
    assert not run.failed, run
    addresses = addresses_of(run)
    for host in HOSTS:
        sim = fleet.host(host)
        for name in SANDBOXES:
            servers.start(sim, "ip netns exec %s %s serve %s/%s %d" % (name, PROBE, host, name, SERVICE))
        reachable = ["%s:%d" % (addr, SERVICE) for nets in addresses[host].values() for n, addr in nets if not isolated(n, ":" in addr)]
        sh(sim, "%s wait %s" % (PROBE, " ".join(reachable)))
        for name, nets in addresses[host].items():  # the host has no way to a member's address on an isolated network: asked from the member
            inside = ["%s:%d" % (addr, SERVICE) for n, addr in nets if isolated(n, ":" in addr)] or ["127.0.0.1:%d" % SERVICE]
            sh(sim, "%s wait %s" % (PROBE, " ".join(inside)), netns=name)
    route_sandboxes_loopback(fleet, addresses)
    serve_resolvers(fleet, servers)

    all_targets = targets(fleet, addresses)
    measured = measure(fleet, all_targets)
    by_label = {t.label: t for t in all_targets}
    want = {(source, label): expected(source, by_label[label]) for source, label in measured}
    diffs = ["%-12s -> %-45s measured %-16s expected %s" % (source.label, label, measured[(source, label)], want[(source, label)])
             for source, label in sorted(measured, key=lambda pair: (pair[0].label, pair[1])) if measured[(source, label)] != want[(source, label)]]
    reachable = sum(1 for v in measured.values() if v)
    assert not diffs, "%d of %d pairs differ from the policy (%d reachable):\n%s" % (len(diffs), len(measured), reachable, "\n".join(diffs))
    assert len(measured) > 1000 and 0 < reachable < len(measured)
