# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The isolation matrix: who reaches whom, measured, against the policy the declaration implies.

Two hosts declare the same networks (two user-defined ones, an internal one and Docker's default
``bridge``) with their own subnets, and the same sandboxes, one of them on two networks; every
sandbox runs a TCP server on port 80 and every host one on port 9000. From every endpoint (each
sandbox and each host) one probe tries every target at once, ICMP and TCP: each sandbox address,
each host's lab address and service, each host's published ports through its lab address,
127.0.0.1 from the host itself, and a port published on 127.0.0.1 of the other host reached by
routing 127.0.0.1 to it (moby#41872). Each host routes the other's subnets to it, so that what
isolates a network is its firewall, not a missing route. The whole measured matrix must equal
``expected``, pair for pair: an extra reachable pair fails as much as a missing one.
"""

from __future__ import annotations

import ipaddress
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import BACKENDS, sh, use_backend
from test_portmap import Processes

PROBE = "/usr/bin/python3 %s" % (Path(__file__).parent / "probe.py")
HOSTS = ("sim1", "sim2")
# name -> (third octet of its subnet on sim1, internal); sim2's subnets are 10 higher.
NETWORKS = {"front": (201, False), "back": (202, False), "secret": (203, True), "bridge": (204, False)}
# name -> (networks, published ports); LO is the host's port published on 127.0.0.1 only, which
# differs between the hosts so that a probe of the other host's is not caught by the prober's own.
SANDBOXES = {
    "a1": (["front"], ["8080:80"]),
    "a2": (["front"], ["127.0.0.1:LO:80"]),
    "m1": (["front", "back"], []),
    "b1": (["back"], []),
    "s1": (["secret"], ["8082:80"]),
    "s2": (["secret"], []),
    "d1": (["bridge"], []),
}
SERVICE, HOST_SERVICE = 80, 9000
ROUTED_LOOPBACK = 231          # the routing table (and rule) that sends 127.0.0.1 to the other host
ROUTED_PORTS = (41000, 41099)  # the source ports that use it


def offset(host):
    return HOSTS.index(host) * 10


def loopback_port(host):
    return 8081 + offset(host)


def subnet(host, network):
    return ipaddress.ip_network("10.231.%d.0/24" % (NETWORKS[network][0] + offset(host)))


def declaration(host):
    networks = [{"name": name, "subnet": str(subnet(host, name)), "internal": internal} for name, (_octet, internal) in NETWORKS.items()]
    sandboxes = [{"name": name, "network_mode": nets[0], "networks": nets[1:],
                  "publish": [p.replace("LO", str(loopback_port(host))) for p in publish]}
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
class Target:
    """One thing to reach: KIND icmp or tcp at ADDR:PORT, on HOST, by way of VIA (direct: a
    sandbox's address on NETWORK; host: the host's lab address; published: a published port of
    SANDBOX through the lab address; loopback: through 127.0.0.1 of the host itself; routed:
    127.0.0.1 of the other host). ANSWER is what reaching it gives."""

    kind: str
    host: str
    addr: str
    port: int
    via: str
    answer: object
    network: str = None
    sandbox: str = None
    mapping: str = None

    @property
    def label(self):
        where = "%s:%d" % (self.addr, self.port) if self.kind == "tcp" else self.addr
        return "%s %s %s %s" % (self.host, self.via, self.kind, where)


def targets(fleet, addresses):
    """Every target of the matrix; ADDRESSES: host -> sandbox -> [(network, address)]."""
    out = []
    for host in HOSTS:
        lab = fleet.host(host).address
        for name, nets in addresses[host].items():
            for network, addr in nets:
                out.append(Target("icmp", host, addr, 0, "direct", True, network, name))
                out.append(Target("tcp", host, addr, SERVICE, "direct", "%s/%s" % (host, name), network, name))
        out.append(Target("icmp", host, lab, 0, "host", True))
        out.append(Target("tcp", host, lab, HOST_SERVICE, "host", host))
        for name, (nets, publish) in SANDBOXES.items():
            for spec in publish:
                spec = spec.replace("LO", str(loopback_port(host)))
                port = int(spec.split(":")[-2])
                answer = "%s/%s" % (host, name)
                out.append(Target("tcp", host, lab, port, "published", answer, nets[0], name, spec))
                out.append(Target("tcp", host, "127.0.0.1", port, "loopback", answer, nets[0], name, spec))
                if spec.startswith("127.0.0.1:"):
                    out.append(Target("tcp", host, "127.0.0.1", port, "routed", answer, nets[0], name, spec))
    return out


def probed_from(source_host, sandbox, target):
    """Whether SOURCE probes TARGET at all: 127.0.0.1 is only the host's own (a sandbox's is its
    own loopback), and 127.0.0.1 routed to the other host only from that other host."""
    if target.via == "loopback":
        return sandbox is None and source_host == target.host
    if target.via == "routed":
        return sandbox is None and source_host != target.host
    return True


def expected(source_host, sandbox, target):
    """Docker's policy for what SOURCE (a host, or one of its sandboxes) gets from TARGET.

    - Members of one network reach each other; different networks are isolated, and so are
      the sandboxes of other hosts (no overlay): a direct address is reached only from the
      same host, by the host itself or by a member of that address's network.
    - The host's lab address and services: from everywhere, except from an internal network
      of another host (an internal network has no egress; its own host it reaches).
    - Published ports: through the lab address, from everywhere but internal networks; a port
      published on 127.0.0.1 only through 127.0.0.1 of its own host (never through the lab
      address, nor by routing 127.0.0.1 to the host from elsewhere); a port published by a
      member of an internal network only from its own host and its own network.

    A sandbox reaches its own published ports through a host address too: the DNATed packet
    goes back out of the bridge port it came in on (hairpin mode, which the sandboxes module
    sets as Docker does without its userland proxy).
    """
    nets = SANDBOXES[sandbox][0] if sandbox else []
    same_host = source_host == target.host
    internal_source = any(NETWORKS[n][1] for n in nets)
    local = same_host and (sandbox is None or target.network in nets)
    if target.via == "direct":
        reached = local
    elif target.via == "host":
        reached = same_host or not internal_source
    elif target.via == "published":
        if target.mapping.startswith("127.0.0.1:"):
            reached = False
        elif NETWORKS[target.network][1]:
            reached = local
        else:
            reached = not internal_source
    elif target.via == "loopback":
        reached = True
    else:  # routed 127.0.0.1 from another host
        reached = False
    if target.kind == "icmp":
        return reached
    return target.answer if reached else None


def addresses_of(run):
    """host -> sandbox -> [(network, address)], from the sandboxes module's results."""
    out = {}
    for host in HOSTS:
        found = run.results(host)[-1]["sandboxes"]
        out[host] = {}
        for name in SANDBOXES:
            ips = [ipaddress.ip_interface(a).ip for a in found[name]["addresses"]]
            out[host][name] = sorted((network, str(ip)) for ip in ips for network in NETWORKS if ip in subnet(host, network))
    return out


def route_between(fleet, undo=False):
    """Each host routes the other's subnets and its 127.0.0.1 (for ROUTED_PORTS only) to it."""
    for host in HOSTS:
        other = HOSTS[1 - HOSTS.index(host)]
        via = fleet.host(other).address
        lines = ["ip route %s %s via %s" % ("del" if undo else "add", subnet(other, n), via) for n in NETWORKS]
        if undo:
            lines += ["ip rule add pref 0 lookup local", "ip rule del pref 200", "ip rule del pref 100",
                      "ip route flush table %d" % ROUTED_LOOPBACK, "sysctl -qw net.ipv4.conf.eth0.route_localnet=0"]
        else:
            # Linux looks up local addresses first (rule 0); the rule for the probe's source
            # ports must come before it to send 127.0.0.1 out of eth0.
            lines += ["sysctl -qw net.ipv4.conf.eth0.route_localnet=1",
                      "ip route add 127.0.0.1/32 via %s dev eth0 table %d" % (via, ROUTED_LOOPBACK),
                      "ip rule add pref 100 to 127.0.0.1 ipproto tcp sport %d-%d lookup %d" % (ROUTED_PORTS + (ROUTED_LOOPBACK,)),
                      "ip rule add pref 200 lookup local", "ip rule del pref 0"]
        fleet.host(host).run(" ; ".join(lines) if undo else " && ".join(lines), check=not undo)


@pytest.fixture
def routed(fleet, hosts):
    route_between(fleet)
    yield
    route_between(fleet, undo=True)


@pytest.fixture
def servers(fleet):
    procs = Processes()
    yield procs
    procs.stop()


def measure(fleet, all_targets):
    """{(source, target label): answer} for every source, all probed at once."""
    jobs = []
    for host in HOSTS:
        for sandbox in [None] + list(SANDBOXES):
            chosen, sport = {}, ROUTED_PORTS[0]
            for target in all_targets:
                if probed_from(host, sandbox, target):
                    spec = [target.kind, target.addr] + ([target.port] if target.kind == "tcp" else [])
                    if target.via == "routed":
                        spec.append(sport)
                        sport += 1
                    chosen[target.label] = spec
            jobs.append((host, sandbox, chosen))

    def run(job):
        host, sandbox, chosen = job
        prefix = "ip netns exec %s " % sandbox if sandbox else ""
        return job, json.loads(sh(fleet.host(host), "%s%s probe '%s'" % (prefix, PROBE, json.dumps(chosen))))

    out = {}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for (host, sandbox, _chosen), answers in pool.map(run, jobs):
            source = "%s/%s" % (host, sandbox) if sandbox else host
            out.update({(source, label): answer for label, answer in answers.items()})
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_measured_matrix_is_the_declared_policy(backend, ansible, fleet, hosts, routed, servers):
    for host in HOSTS:
        use_backend(fleet.host(host), backend)
    run = ansible.playbook(PLAY % json.dumps({host: declaration(host) for host in HOSTS}))
    assert not run.failed, run
    addresses = addresses_of(run)
    for host in HOSTS:
        sim = fleet.host(host)
        for name in SANDBOXES:
            servers.start(sim, "ip netns exec %s %s serve %s/%s %d" % (name, PROBE, host, name, SERVICE))
        servers.start(sim, "%s serve %s %d" % (PROBE, host, HOST_SERVICE))
        ready = ["127.0.0.1:%d" % HOST_SERVICE] + ["%s:%d" % (addr, SERVICE) for nets in addresses[host].values() for _n, addr in nets]
        sh(sim, "%s wait %s" % (PROBE, " ".join(ready)))

    all_targets = targets(fleet, addresses)
    measured = measure(fleet, all_targets)
    by_label = {t.label: t for t in all_targets}
    want = {}
    for source, label in measured:
        host, _sep, sandbox = source.partition("/")
        want[(source, label)] = expected(host, sandbox or None, by_label[label])
    diffs = ["%-10s -> %-45s measured %-10s expected %s" % (src, label, measured[(src, label)], want[(src, label)])
             for src, label in sorted(measured) if measured[(src, label)] != want[(src, label)]]
    reachable = sum(1 for v in measured.values() if v)
    assert not diffs, "%d of %d pairs differ from the policy (%d reachable):\n%s" % (len(diffs), len(measured), reachable, "\n".join(diffs))
    assert len(measured) > 500 and 0 < reachable < len(measured)
