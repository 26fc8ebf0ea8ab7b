# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bad-input corpus: malformed and conflicting input to every module and to the site
playbook fails with a message that names the field and says how to fix it, and the simulated
host is identical before and after (the whole snapshot of tests/harness/hostsnap.py: links with
all their details, addresses, routes, fdb and neighbours of every namespace, our sysctls, both
firewalls, and every file the collection writes).

One host is built once for the whole file (``world``): a bridge with two plugged-in sandboxes,
a published port, DNS files, a host-mode claim, networks and sandboxes of the batch modules, a
namespace made by hand and a host process listening on a port, so that conflicts have something
to conflict with. A batch case declares something new beside its bad entry (``FRESH_NETWORK``,
``FRESH_SANDBOX``), so that a failure that comes only after a change shows as a changed host.

For speed, the module cases run one after another inside the host from one Python process
that forks a child per run (tests/harness/modrun.py: the module's own main(), as Ansible runs
it, without an interpreter start per case), each between two snapshots taken by the same code
as ``snapshot``; each case is then checked as its own test. The site playbook cases
run ansible-playbook each, as a user would.
"""

from __future__ import annotations

import json
import sys

import pytest
from conftest import REPO, Ansible, refused, reset, sh, snapshot
from test_portmap import Processes

BUSY_PORT = 9099  # a host process listens here (started by PID, stopped after the file)
NETWORKS = [{"name": "front", "subnet": "10.231.201.0/24"}, {"name": "back", "subnet": "10.231.202.0/24", "internal": True}]
SANDBOXES = [
    {"name": "app", "network_mode": "front", "ip": "10.231.201.10", "publish": ["8081:80"], "networks": ["back"]},
    {"name": "app-side", "network_mode": "container:app"},
    {"name": "quiet", "network_mode": "none"},
    {"name": "svc", "network_mode": "host", "ports": [9098]},
]
FRESH_NETWORK = {"name": "fresh", "subnet": "10.231.203.0/24"}
FRESH_SANDBOX = {"name": "fresh", "network_mode": "front", "hostname": "fresh1", "dns": ["10.231.201.53"]}

# What the corpus conflicts with, made by the modules themselves (run as modrun runs them).
WORLD = [
    ("bridge", {"name": "br0", "addresses": ["10.231.200.1/24"]}),
    ("netns", {"name": "web"}),
    ("netns", {"name": "db"}),
    ("veth", {"name": "veth-web", "netns": "web", "bridge": "br0", "addresses": ["10.231.200.10/24"], "gateway": "10.231.200.1"}),
    ("veth", {"name": "veth-db", "netns": "db", "bridge": "br0", "addresses": ["10.231.200.11/24"], "gateway": "10.231.200.1"}),
    ("portmap", {"netns": "web", "bridge": "br0", "ports": ["8080:80", "127.0.0.1:5353:53/udp"]}),
    ("dns_config", {"netns": "web", "hostname": "web1", "nameservers": ["10.231.200.53"], "extra_hosts": ["db:10.231.200.11"]}),
    ("networks", {"config": NETWORKS}),
    ("sandboxes", {"config": SANDBOXES, "networks": NETWORKS}),
]


def modrun(host, runs, snapshots=False):
    """tests/harness/modrun.py inside HOST: RUNS [(id, module, args)] one after another, each
    between snapshots (tests/harness/hostsnap.py) with SNAPSHOTS; its output lines, parsed."""
    request = {"snapshot": snapshots, "runs": [{"id": i, "module": m, "args": a} for i, m, a in runs]}
    proc = host.run("cd %s && PYTHONPATH=%s %s tests/harness/modrun.py" % (REPO, REPO, sys.executable),
                    input=json.dumps(request), check=False, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


class World:
    def __init__(self, host, ansible):
        self.host, self.ansible = host, ansible

    def state(self):
        return snapshot(self.host)


@pytest.fixture(scope="module")
def world(fleet, tmp_path_factory):
    host = fleet.host("sim1")
    reset(host)
    ansible, procs = Ansible(fleet, tmp_path_factory.mktemp("bad-input")), Processes()
    try:
        for line in modrun(host, [("%s %d" % (module, i), module, args) for i, (module, args) in enumerate(WORLD)]):
            assert line["rc"] == 0 and not line["result"].get("failed"), line
        sh(host, "ip netns add hand")  # a namespace that is not ours
        procs.start(host, "/usr/bin/python3 -m http.server %d --bind 0.0.0.0" % BUSY_PORT)
        sh(host, "for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:%d/ && exit 0; sleep 0.1; done; exit 1" % BUSY_PORT)
        yield World(host, ansible)
    finally:
        procs.stop()
        reset(host)


def case(name, module, args, field, fix):
    """A bad input to MODULE (ARGS: its options, or the site playbook's extra vars) whose message
    must contain FIELD (where the error is) and FIX (what to do about it)."""
    return pytest.param(module, args, field, fix, id=name)


def batch_sandboxes(*extra, networks=None):
    return {"config": SANDBOXES + [FRESH_SANDBOX] + list(extra), "networks": NETWORKS if networks is None else networks}


def batch_networks(*extra):
    return {"config": NETWORKS + [FRESH_NETWORK] + list(extra)}


def site(networks=(), sandboxes=()):
    """The site playbook's inventory: the world's declaration, something new, and the bad entries."""
    return {"target": "sim1", "netmodes_requirements": False,
            "netmodes_networks": NETWORKS + [FRESH_NETWORK] + list(networks),
            "netmodes_sandboxes": SANDBOXES + [dict(FRESH_SANDBOX, network_mode="fresh")] + list(sandboxes)}


LONG = "veth-frontend-web"  # 17 bytes: the kernel allows 15
VETH = {"name": "veth-new", "netns": "db", "peer": "eth1"}
PUB = {"netns": "db", "bridge": "br0"}
DNS = {"netns": "db"}

# Issue 13, items 3-5: values that reached a file, a rule or a command line as more than one thing.
NEWLINE_NAME = "s3\n-I INPUT 1 -j ACCEPT\n#"                          # an iptables comment over three lines
SCOPED = "fe80::1%x\nnameserver 6.6.6.6\nsearch evil.example"          # a scope id holds anything but '%'
SCOPED_HOST = "fe80::1%x\n6.6.6.6 bank.example"
WILDCARD = "firewall rules read '+' as a wildcard that matches other interfaces"
NAME_FIX = "Choose another name"
SCOPE_FIX = "which means nothing here; remove it"

NETNS_CASES = [
    case("netns-name-slash", "netns", {"name": "a/b"}, "name: sandbox name 'a/b'", "Choose another name"),
    case("netns-name-dotdot", "netns", {"name": ".."}, "name: sandbox name '..'", "Choose another name"),
    case("netns-name-too-long", "netns", {"name": "n" * 256}, "name: sandbox name", "Choose another name"),
    case("netns-name-newline", "netns", {"name": NEWLINE_NAME}, "name: sandbox name 's3\\n-I INPUT 1 -j ACCEPT\\n#' is not valid: it"
         " contains the control character '\\n'", NAME_FIX),
    case("netns-name-dot-first", "netns", {"name": ".x.tmp"}, "name: sandbox name '.x.tmp' is not valid: it starts with '.'", NAME_FIX),
    case("netns-name-wildcard", "netns", {"name": "nm+"}, "name: sandbox name 'nm+' is not valid: " + WILDCARD, NAME_FIX),
    case("netns-share-with-itself", "netns", {"name": "fresh", "share_with": "fresh"}, "share_with:", "name another sandbox"),
    case("netns-share-with-nothing", "netns", {"name": "fresh", "share_with": "nobody"}, "share_with: sandbox 'nobody'", "create it first"),
    case("netns-share-with-bad-name", "netns", {"name": "fresh", "share_with": "x/y"}, "share_with: sandbox name 'x/y'", "Choose another name"),
    case("netns-exists-unshared", "netns", {"name": "db", "share_with": "web"}, "share_with:", "remove db (state=absent)"),
    case("netns-remove-not-ours", "netns", {"name": "hand", "state": "absent"}, "name:", "ip netns del hand"),
]

BRIDGE_CASES = [
    case("bridge-name-too-long", "bridge", {"name": "br-" + "x" * 13}, "name: interface name", "Choose a shorter name"),
    case("bridge-name-space", "bridge", {"name": "br 1"}, "name: interface name 'br 1'", "Choose another name"),
    case("bridge-name-slash", "bridge", {"name": "br/1"}, "name: interface name 'br/1'", "Choose another name"),
    case("bridge-name-wildcard-plus", "bridge", {"name": "nm+"}, "name: interface name 'nm+' is not valid: " + WILDCARD, NAME_FIX),
    case("bridge-name-wildcard-alone", "bridge", {"name": "+"}, "name: interface name '+' is not valid: " + WILDCARD, NAME_FIX),
    case("bridge-name-wildcard-star", "bridge", {"name": "nm*"}, "name: interface name 'nm*' is not valid: firewall rules read '*'", NAME_FIX),
    case("bridge-name-negation", "bridge", {"name": "!eth0"}, "name: interface name '!eth0' is not valid: it contains '!'", NAME_FIX),
    case("bridge-name-newline", "bridge", {"name": "br\n1"}, "name: interface name 'br\\n1' is not valid: it contains the control", NAME_FIX),
    case("bridge-address-scope", "bridge", {"name": "br1", "addresses": ["fe80::1%x\n6.6.6.6/64"]}, "addresses[0]: 'fe80::1%x\\n6.6.6.6/64'"
         " carries a scope id", SCOPE_FIX),
    case("bridge-cidr-octet", "bridge", {"name": "br1", "addresses": ["10.231.210.1/24", "10.231.210.256/24"]},
         "addresses[1]: '10.231.210.256/24'", "write it as ADDRESS/PREFIX"),
    case("bridge-cidr-prefix", "bridge", {"name": "br1", "addresses": ["10.231.210.1/33"]}, "addresses[0]: '10.231.210.1/33'",
         "write it as ADDRESS/PREFIX"),
    case("bridge-cidr-no-prefix", "bridge", {"name": "br1", "addresses": ["10.231.210.1"]}, "addresses[0]: '10.231.210.1'",
         "needs a prefix length, for example"),
    case("bridge-mtu-small", "bridge", {"name": "br1", "mtu": 10}, "mtu: MTU 10", "give an MTU in 68..65535"),
    case("bridge-name-is-a-veth", "bridge", {"name": "eth0"}, "name: bridge eth0", "choose another name"),
    case("bridge-existing-not-ours", "bridge", {"name": "veth-web"}, "name: bridge veth-web", "choose another name"),
]

VETH_CASES = [
    case("veth-name-too-long", "veth", dict(VETH, name=LONG), "name: interface name 'veth-frontend-web' is 17 bytes",
         "Choose a shorter name"),
    case("veth-peer-too-long", "veth", dict(VETH, peer="eth0-of-db-sandbox"), "peer: interface name", "Choose a shorter name"),
    case("veth-name-slash", "veth", dict(VETH, name="veth/new"), "name: interface name 'veth/new'", "Choose another name"),
    case("veth-peer-space", "veth", dict(VETH, peer="eth 1"), "peer: interface name 'eth 1'", "Choose another name"),
    case("veth-bridge-too-long", "veth", dict(VETH, bridge="bridge-of-the-db"), "bridge: interface name", "Choose a shorter name"),
    case("veth-bridge-wildcard", "veth", dict(VETH, bridge="br+"), "bridge: interface name 'br+' is not valid: " + WILDCARD, NAME_FIX),
    case("veth-netns-newline", "veth", dict(VETH, netns=NEWLINE_NAME), "netns: sandbox name", NAME_FIX),
    case("veth-gateway-scope", "veth", dict(VETH, addresses=["10.231.200.12/24"], gateway="fe80::1%eth0"), "gateway: 'fe80::1%eth0' carries a"
         " scope id", SCOPE_FIX),
    case("veth-gateway-outside", "veth", dict(VETH, addresses=["10.231.200.12/24"], gateway="10.231.201.1"),
         "gateway: 10.231.201.1 is not inside any subnet of addresses", "pick an address of the interface's subnet"),
    case("veth-gateway-malformed", "veth", dict(VETH, addresses=["10.231.200.12/24"], gateway="10.231.200.300"),
         "gateway: '10.231.200.300'", "write it like 172.18.0.1"),
    case("veth-address-malformed", "veth", dict(VETH, addresses=["10.231.200.12/24", "banana"]), "addresses[1]: 'banana'",
         "needs a prefix length"),
    case("veth-netns-missing", "veth", dict(VETH, netns="nobody"), "netns: sandbox 'nobody' does not exist", "create it with netmodes.linux.netns"),
    case("veth-bridge-missing", "veth", dict(VETH, bridge="br9"), "bridge: br9 does not exist", "create it with netmodes.linux.bridge"),
    case("veth-bridge-not-a-bridge", "veth", dict(VETH, bridge="eth0"), "bridge: eth0 is a veth link", "name a bridge"),
    case("veth-peer-taken", "veth", dict(VETH, peer="eth0"), "peer: eth0 already exists in sandbox db", "choose another peer name"),
    case("veth-name-not-ours", "veth", dict(VETH, name="eth0"), "name: veth eth0", "choose another name"),
    case("veth-peer-mismatch", "veth", {"name": "veth-web", "netns": "web", "peer": "eth1"},
         "peer: veth veth-web exists but its peer is not eth1 in sandbox web", "remove it (state=absent) and re-run"),
    case("veth-peer-equals-name", "veth", {"name": "vx1", "peer": "vx1"}, "peer:", "peer must differ from name"),
    case("veth-mac-multicast", "veth", dict(VETH, mac="03:00:00:00:00:01"), "mac: 03:00:00:00:00:01 is a multicast MAC", "use a unicast one"),
    case("veth-mac-malformed", "veth", dict(VETH, mac="02:42:zz:00:00:01"), "mac: '02:42:zz:00:00:01'", "write six hex pairs"),
    case("veth-route-host-bits", "veth", dict(VETH, routes=[{"dst": "10.231.210.1/24", "via": "10.231.200.1"}]),
         "routes[0].dst: '10.231.210.1/24'", "with host bits zero"),
    case("veth-route-mixed-versions", "veth", dict(VETH, routes=[{"dst": "10.231.210.0/24", "via": "fd12::1"}]),
         "routes[0]: via fd12::1", "give a via of the same IP version"),
    case("veth-mtu-large", "veth", dict(VETH, mtu=70000), "mtu: MTU 70000", "give an MTU in 68..65535"),
]

PORTMAP_CASES = [
    case("portmap-port-0", "portmap", dict(PUB, ports=["0:80"]), "ports[0]: host port '0'", "give ports from 1 to 65535"),
    case("portmap-port-65536", "portmap", dict(PUB, ports=["65536:80"]), "ports[0]: host port '65536'", "give ports from 1 to 65535"),
    case("portmap-container-port-0", "portmap", dict(PUB, ports=["8090:0"]), "ports[0]: container port '0'", "give ports from 1 to 65535"),
    case("portmap-range-reversed", "portmap", dict(PUB, ports=["8099-8090:80-89"]), "ports[0]: host port '8099-8090'",
         "write the lower port first"),
    case("portmap-range-lengths", "portmap", dict(PUB, ports=["8090-8092:80-81"]), "ports[0]: '8090-8092:80-81'",
         "give ranges of the same length"),
    case("portmap-protocol", "portmap", dict(PUB, ports=["8090:80/icmp"]), "ports[0]: protocol 'icmp'", "use tcp, udp or sctp"),
    case("portmap-dict-protocol", "portmap", dict(PUB, ports=[{"host_port": 8090, "container_port": 80, "protocol": "http"}]),
         "ports[0]: protocol 'http'", "use tcp, udp or sctp"),
    case("portmap-random-host-range-for-container-range", "portmap", dict(PUB, ports=["8090-8099:80-82"]),
         "ports[0]: '8090-8099:80-82': host range 8090-8099 and container range 80-82 differ in length",
         "or one container port to publish on one free port of the host range"),
    case("portmap-random-no-container-port", "portmap", dict(PUB, ports=["127.0.0.1:8090:"]), "ports[0]: '127.0.0.1:8090:' needs a"
         " container port", "needs a container port"),
    case("portmap-not-a-port", "portmap", dict(PUB, ports=["http:80"]), "ports[0]: host port 'http'", "write it like 8080 or 5000-5010"),
    case("portmap-twice", "portmap", dict(PUB, ports=["8090:80", "8090:81"]), "ports: 8090:80/tcp and 8090:81/tcp", "publish each host port once"),
    case("portmap-host-ip", "portmap", dict(PUB, ports=["10.231.200.300:8090:80"]), "ports[0].host_ip: '10.231.200.300'",
         "write it like 172.18.0.1"),
    case("portmap-ipv6-loopback", "portmap", dict(PUB, ports=["[::1]:8090:80"]), "ports: [::1]:8090:80/tcp: publishing on ::1 needs"
         " Docker's userland proxy", "publish on 127.0.0.1 or on the host's IPv6 address instead"),
    case("portmap-ipv6-host-no-ipv6", "portmap", dict(PUB, ports=["[::]:8090:80"]), "ports: [::]:8090:80/tcp: the sandbox has no IPv6"
         " address on bridge br0, so Docker would need its userland proxy", "give the sandbox an IPv6 address on br0"),
    case("portmap-dict-unknown-key", "portmap", dict(PUB, ports=[{"host_port": 8090, "container_port": 80, "proto": "tcp"}]),
         "ports[0]: unknown keys proto", "known: allow, container_port, host_ip, host_port, port, protocol"),
    case("portmap-allow-not-a-list", "portmap", dict(PUB, ports=[{"port": "8090:80", "allow": "10.231.1.0/24"}]),
         "ports[0].allow: must be a list", "of CIDRs (10.231.1.0/24, fd31::/64) and inventory group names"),
    case("portmap-allow-host-bits", "portmap", dict(PUB, ports=[{"port": "8090:80", "allow": ["10.231.1.5/24"]}]),
         "ports[0].allow[0]: '10.231.1.5/24' has host bits set", "give the network (10.231.1.0/24)"),
    case("portmap-allow-malformed", "portmap", dict(PUB, ports=[{"port": "8090:80", "allow": ["10.231.1.0/40"]}]),
         "ports[0].allow[0]: '10.231.1.0/40' is neither a CIDR", "nor an inventory group name"),
    case("portmap-allow-group", "portmap", dict(PUB, ports=[{"port": "8090:80", "allow": ["clients"]}]),
         "ports: 8090:80/tcp: allow names the inventory group clients", "publish through netmodes.linux.sandboxes with the fleet"),
    case("portmap-allow-port-and-keys", "portmap", dict(PUB, ports=[{"port": "8090:80", "host_port": 8090}]),
         "ports[0]: give either port", "not both"),
    case("portmap-published-by-another", "portmap", dict(PUB, ports=["8080:80"]),
         "ports: host port 8080/tcp is already published by sandbox web", "choose another host port"),
    case("portmap-range-over-published", "portmap", dict(PUB, ports=["8076-8080:8076-8080"]),
         "ports: host port 8076-8080/tcp is already published by sandbox web", "choose another host port"),
    case("portmap-bound-by-process", "portmap", dict(PUB, ports=["%d:80" % BUSY_PORT]),
         "ports: host port %d/tcp is already in use on the host: python3 (pid" % BUSY_PORT, "stop it or choose another host port"),
    case("portmap-netns-newline", "portmap", {"netns": NEWLINE_NAME, "bridge": "br0", "ports": ["8090:80"]},
         "netns: sandbox name 's3\\n-I INPUT 1 -j ACCEPT\\n#' is not valid", NAME_FIX),
    case("portmap-bridge-wildcard", "portmap", dict(PUB, bridge="br+", ports=["8090:80"]), "bridge: interface name 'br+' is not valid: " + WILDCARD,
         NAME_FIX),
    case("portmap-address-scope", "portmap", {"address": "fe80::1%x\n6.6.6.6", "bridge": "br0", "ports": ["8090:80"]},
         "address: 'fe80::1%x\\n6.6.6.6' carries a scope id", SCOPE_FIX),
    case("portmap-bridge-missing", "portmap", dict(PUB, bridge="br9", ports=["8090:80"]), "bridge: br9 does not exist",
         "create it with netmodes.linux.bridge"),
    case("portmap-bridge-name", "portmap", dict(PUB, bridge="br/9", ports=["8090:80"]), "bridge: interface name 'br/9'", "Choose another name"),
    case("portmap-not-on-bridge", "portmap", {"netns": "quiet", "bridge": "br0", "ports": ["8090:80"]},
         "netns: sandbox 'quiet' has no IPv4 address on bridge br0", "plug it in with netmodes.linux.veth"),
    case("portmap-address-off-bridge", "portmap", {"address": "10.231.201.10", "bridge": "br0", "ports": ["8090:80"]},
         "address: 10.231.201.10 is not inside a subnet of bridge br0", "give the sandbox's address on br0"),
    case("portmap-address-ipv6", "portmap", {"address": "fd31:9b5e:c207:99::5", "bridge": "br0", "ports": ["8090:80"]},
         "address: fd31:9b5e:c207:99::5 is not inside a subnet of bridge br0", "give the sandbox's address on br0"),
]

DNS_CASES = [
    case("dns-hostname-underscore", "dns_config", dict(DNS, hostname="db_1"), "hostname: 'db_1'", "use labels of letters, digits and '-'"),
    case("dns-hostname-dash", "dns_config", dict(DNS, hostname="-db"), "hostname: '-db'", "not starting or ending with '-'"),
    case("dns-hostname-long-label", "dns_config", dict(DNS, hostname="d" * 64), "hostname: 'ddd", "each label 1-63 characters"),
    case("dns-domainname-alone", "dns_config", dict(DNS, domainname="corp.example"), "domainname: needs hostname", "give hostname too"),
    case("dns-nameserver-octet", "dns_config", dict(DNS, nameservers=["10.231.200.53", "10.231.200.999"]), "nameservers[1]: '10.231.200.999'",
         "write it like 172.18.0.1"),
    case("dns-nameserver-name", "dns_config", dict(DNS, nameservers=["dns.google"]), "nameservers[0]: 'dns.google'", "write it like 172.18.0.1"),
    case("dns-search-underscore", "dns_config", dict(DNS, search=["corp_example.com"]), "search[0]: 'corp_example.com'", "use labels of"),
    case("dns-option-two-words", "dns_config", dict(DNS, options=["ndots:2 edns0"]), "options[0]: 'ndots:2 edns0'",
         "give each option as its own list item"),
    case("dns-extra-host-ip", "dns_config", dict(DNS, extra_hosts=["web:10.231.200.999"]), "extra_hosts[0]: '10.231.200.999'",
         "write it like 172.18.0.1"),
    case("dns-extra-host-no-ip", "dns_config", dict(DNS, extra_hosts=["web"]), "extra_hosts[0]: 'web' is not NAME:IP", "e.g. db:10.231.9.9"),
    case("dns-extra-host-name", "dns_config", dict(DNS, extra_hosts=["bad_name:10.231.200.10"]), "extra_hosts[0]: 'bad_name'", "use labels of"),
    case("dns-extra-host-gateway", "dns_config", dict(DNS, extra_hosts=["gw:host-gateway"]), "extra_hosts[0]: 'gw:host-gateway'", "give the address"),
    case("dns-peers-ip", "dns_config", dict(DNS, peers={"web": "10.231.200.1000"}), "peers.web: '10.231.200.1000'", "write it like 172.18.0.1"),
    case("dns-share-with-own-files", "dns_config", dict(DNS, share_with="web", hostname="db1"), "share_with: the files are web's",
         "set hostname on web"),
    case("dns-share-with-itself", "dns_config", dict(DNS, share_with="db"), "share_with: sandbox db cannot share its own files",
         "name another sandbox"),
    case("dns-share-with-path", "dns_config", dict(DNS, share_with="../web"), "share_with: sandbox name '../web' is not valid: it contains '/'",
         "use letters, digits, '_', '.' and '-'"),
    case("dns-nameserver-scope-injection", "dns_config", dict(DNS, nameservers=[SCOPED]), "nameservers[0]: 'fe80::1%x\\nnameserver 6.6.6.6"
         "\\nsearch evil.example': its scope id 'x\\nnameserver 6.6.6.6\\nsearch evil.example' is not an interface name",
         "write a link-local address and an interface, like fe80::1%eth0"),
    case("dns-nameserver-scope-not-link-local", "dns_config", dict(DNS, nameservers=["fd31::53%eth0"]), "nameservers[0]: 'fd31::53%eth0':"
         " a scope id ('eth0') applies to link-local addresses", "write a link-local address and an interface"),
    case("dns-extra-host-scope-injection", "dns_config", dict(DNS, extra_hosts=["db:[%s]" % SCOPED_HOST]),
         "extra_hosts[0]: 'fe80::1%x\\n6.6.6.6 bank.example' carries a scope id", SCOPE_FIX),
    case("dns-extra-host-dict-scope-injection", "dns_config", dict(DNS, extra_hosts={"db": SCOPED_HOST}), "extra_hosts.db: 'fe80::1%x"
         "\\n6.6.6.6 bank.example' carries a scope id", SCOPE_FIX),
    case("dns-peers-scope-injection", "dns_config", dict(DNS, peers=[{"name": "db", "address": SCOPED_HOST}]), "peers[0]: 'fe80::1%x"
         "\\n6.6.6.6 bank.example' carries a scope id", SCOPE_FIX),
    case("dns-peers-dict-scope-injection", "dns_config", dict(DNS, peers={"api": ["10.231.200.20", SCOPED_HOST]}), "peers.api: 'fe80::1%x",
         SCOPE_FIX),
    case("dns-hostname-newline", "dns_config", dict(DNS, hostname="web1\n.evil"), "hostname: 'web1\\n.evil' is not a valid host name",
         "use labels of letters, digits and '-'"),
    case("dns-domainname-newline", "dns_config", dict(DNS, hostname="web1", domainname="corp\n.example"), "domainname: 'corp\\n.example'",
         "use labels of letters, digits and '-'"),
    case("dns-extra-host-name-newline", "dns_config", dict(DNS, extra_hosts=["db\n10.231.200.66 bank.example:10.231.200.11"]),
         "extra_hosts[0]: 'db\\n10.231.200.66 bank.example' is not a valid host name", "use labels of"),
    case("dns-search-newline", "dns_config", dict(DNS, search=["corp.example\n"]), "search[0]: 'corp.example\\n'", "use labels of"),
    case("dns-option-newline", "dns_config", dict(DNS, options=["ndots:1\n"]), "options[0]: 'ndots:1\\n' is not one resolver option",
         "give each option as its own list item"),
    case("dns-netns-newline", "dns_config", {"netns": "db\nx", "hostname": "x"}, "netns: sandbox name 'db\\nx' is not valid", NAME_FIX),
    case("dns-netns-missing", "dns_config", {"netns": "nobody", "hostname": "x"}, "netns: sandbox 'nobody' does not exist",
         "create it with netmodes.linux.netns first"),
    case("dns-netns-slash", "dns_config", {"netns": "../etc", "hostname": "x"}, "netns: sandbox name '../etc'", "Choose another name"),
]

NET_INFO_CASES = [
    case("net-info-netns-slash", "net_info", {"netns": ["web", "a/b"]}, "netns[1]: sandbox name 'a/b'", "Choose another name"),
    case("net-info-network-too-long", "net_info", {"network": ["bridge-of-the-front"]}, "network[0]: interface name", "Choose a shorter name"),
    case("net-info-network-wildcard", "net_info", {"network": ["br+"]}, "network[0]: interface name 'br+' is not valid: " + WILDCARD, NAME_FIX),
    case("net-info-network-space", "net_info", {"network": ["br 0"]}, "network[0]: interface name 'br 0'", "Choose another name"),
]

NETWORKS_CASES = [
    case("networks-name-too-long", "networks", batch_networks({"name": "frontend-network-1"}),
         "config[3] (frontend-network-1): name: network name 'frontend-network-1'",
         "give a bridge_name of at most 15 bytes"),
    case("networks-bridge-name-slash", "networks", batch_networks({"name": "x", "bridge_name": "br/x"}),
         "config[3] (x): bridge_name: interface name 'br/x'", "Choose another name"),
    case("networks-name-wildcard-plus", "networks", batch_networks({"name": "nm+", "subnet": "10.231.210.0/24"}),
         "config[3] (nm+): name: network name 'nm+' is not valid: " + WILDCARD, NAME_FIX),
    case("networks-name-wildcard-alone", "networks", batch_networks({"name": "+", "subnet": "10.231.210.0/24"}),
         "config[3] (+): name: network name '+' is not valid: " + WILDCARD, NAME_FIX),
    case("networks-name-wildcard-star", "networks", batch_networks({"name": "nm*", "subnet": "10.231.210.0/24"}),
         "config[3] (nm*): name: network name 'nm*' is not valid: firewall rules read '*'", NAME_FIX),
    case("networks-name-newline", "networks", batch_networks({"name": "x\ny", "bridge_name": "brx"}), "config[3]: name: network name 'x\\ny'",
         NAME_FIX),
    case("networks-bridge-name-wildcard", "networks", batch_networks({"name": "x", "bridge_name": "br+"}),
         "config[3] (x): bridge_name: interface name 'br+' is not valid: " + WILDCARD, NAME_FIX),
    case("networks-gateway-scope", "networks", batch_networks({"name": "x", "subnet": "10.231.210.0/24", "gateway": "fe80::1%eth0"}),
         "config[3] (x): gateway: 'fe80::1%eth0' carries a scope id", SCOPE_FIX),
    case("networks-subnet-malformed", "networks", batch_networks({"name": "x", "subnet": "10.231.300.0/24"}),
         "config[3] (x): subnet: '10.231.300.0/24'", "write it as a CIDR"),
    case("networks-subnet-host-bits", "networks", batch_networks({"name": "x", "subnet": "10.231.210.1/24"}),
         "config[3] (x): subnet: '10.231.210.1/24'", "host bits zero"),
    case("networks-subnets-overlap", "networks", batch_networks({"name": "x", "subnet": "10.231.203.128/25"}),
         "config: the subnets of fresh (10.231.203.0/24) and x (10.231.203.128/25) overlap", "give x a subnet of its own"),
    case("networks-subnet-in-use", "networks", batch_networks({"name": "x", "subnet": "10.231.200.0/25"}),
         "config[3] (x): subnet: 10.231.200.0/25 overlaps 10.231.200.0/24", "choose a free subnet"),
    case("networks-gateway-outside", "networks", batch_networks({"name": "x", "subnet": "10.231.210.0/24", "gateway": "10.231.211.1"}),
         "config[3] (x): gateway: 10.231.211.1 is not a host address of subnet 10.231.210.0/24", "a gateway inside it"),
    case("networks-gateway-broadcast", "networks", batch_networks({"name": "x", "subnet": "10.231.210.0/24", "gateway": "10.231.210.255"}),
         "config[3] (x): gateway: 10.231.210.255", "a gateway inside it"),
    case("networks-gateway-no-subnet", "networks", batch_networks({"name": "x", "gateway": "10.231.210.1"}),
         "config[3] (x): gateway: 10.231.210.1", "give a subnet and a gateway inside it"),
    case("networks-driver", "networks", batch_networks({"name": "x", "driver": "token-ring"}), "config[3] (x): driver: 'token-ring' is not a driver",
         "choose one of bridge"),
    case("networks-duplicate-name", "networks", batch_networks({"name": "front"}), "config: network name 'front' is declared twice",
         "declare each once"),
    case("networks-duplicate-bridge", "networks", batch_networks({"name": "x", "bridge_name": "front"}),
         "config: bridge name 'front' is declared twice", "declare each once"),
    case("networks-internal-not-bool", "networks", batch_networks({"name": "x", "internal": "maybe"}), "config[3] (x): internal: 'maybe'",
         "write true or false"),
    case("networks-dns-not-bool", "networks", batch_networks({"name": "x", "dns": "maybe"}), "config[3] (x): dns: 'maybe'",
         "write true or false"),
    case("networks-dns-on-default-bridge", "networks", batch_networks({"name": "bridge", "dns": True}),
         "config[3] (bridge): dns: Docker's default network bridge has no resolver", "declare a network of your own for names"),
    case("networks-ipv6-not-enabled", "networks", batch_networks({"name": "x", "subnet": "fd31:210::/64"}),
         "config[3] (x): subnet: fd31:210::/64 is an IPv6 subnet but the network has no IPv6", "add ipv6: true"),
    case("networks-ipv6-two-subnets", "networks", batch_networks({"name": "x", "ipv6": True, "subnet": ["fd31:210::/64", "fd31:211::/64"]}),
         "config[3] (x): subnet: fd31:210::/64 and fd31:211::/64 are both IPv6", "give at most one subnet of each IP version"),
    case("networks-ipv6-gateway-outside", "networks", batch_networks({"name": "x", "ipv6": True, "subnet": "fd31:210::/64", "gateway": "fd31:211::1"}),
         "config[3] (x): gateway: fd31:211::1 is not a host address of subnet fd31:210::/64", "a gateway inside it"),
    case("networks-ipv6-gateway-no-subnet", "networks", batch_networks({"name": "x", "ipv6": True, "gateway": "fd31:210::1"}),
         "config[3] (x): gateway: fd31:210::1 needs an IPv6 subnet", "give a subnet and a gateway inside it"),
    case("networks-host-binding-prefix", "networks", batch_networks({"name": "x", "host_binding_ipv4": "fd31:210::1/64"}),
         "config[3] (x): host_binding_ipv4: 'fd31:210::1/64' is not a valid IP address", "write it like 172.18.0.1"),
    case("networks-host-binding-malformed", "networks", batch_networks({"name": "x", "host_binding_ipv4": "10.231.300.1"}),
         "config[3] (x): host_binding_ipv4: '10.231.300.1' is not a valid IP address", "write it like 172.18.0.1"),
    case("networks-host-binding-list", "networks", batch_networks({"name": "x", "host_binding_ipv4": ["10.231.210.1"]}),
         "config[3] (x): host_binding_ipv4: ['10.231.210.1'] is not an address", "give one address of the host"),
    case("networks-host-binding-newline", "networks", batch_networks({"name": "x", "host_binding_ipv4": "10.231.210.1\n-j ACCEPT"}),
         "config[3] (x): host_binding_ipv4: '10.231.210.1\\n-j ACCEPT' is not a valid IP address", "write it like 172.18.0.1"),
    case("networks-host-binding-macvlan", "networks",
         batch_networks({"name": "x", "driver": "macvlan", "subnet": "10.231.210.0/24", "hosts": "all", "parent": "eth0",
                         "host_binding_ipv4": "10.231.210.1"}),
         "config[3] (x): host_binding_ipv4: a macvlan network has no host_binding_ipv4", "only bridge and overlay networks take it"),
    case("networks-ipv6-only-without-ipv6", "networks", batch_networks({"name": "x", "ipv4": False}),
         "config[3] (x): ipv4: a network without IPv4 needs IPv6", "add ipv6: true"),
    case("networks-ipv6-only-with-ipv4-subnet", "networks",
         batch_networks({"name": "x", "ipv4": False, "ipv6": True, "subnet": ["10.231.210.0/24", "fd31:210::/64"]}),
         "config[3] (x): subnet: 10.231.210.0/24 is an IPv4 subnet but the network has ipv4: false", "remove it or the ipv4 key"),
    case("networks-ipv6-subnets-overlap", "networks",
         batch_networks({"name": "x", "ipv6": True, "subnet": "fd31:210::/48"}, {"name": "y", "ipv6": True, "subnet": "fd31:210:0:1::/64"}),
         "config: the subnets of x (fd31:210::/48) and y (fd31:210:0:1::/64) overlap", "give y a subnet of its own"),
    case("networks-ipv6-subnet-in-use", "networks", batch_networks({"name": "x", "ipv6": True, "subnet": "fd31:9b5e:c207::/48"}),
         "config[3] (x): subnet: fd31:9b5e:c207::/48 overlaps", "choose a free subnet"),
    case("networks-ipv6-subnet-too-small", "networks", batch_networks({"name": "x", "ipv6": True, "subnet": "fd31:210::/127"}),
         "config[3] (x): subnet: fd31:210::/127 leaves no address for members", "Docker uses /64"),
    case("networks-ipv6-pool", "networks", dict(batch_networks({"name": "x", "ipv6": True}), ipv6_pool="10.231.0.0/16"),
         "ipv6_pool: '10.231.0.0/16' is not an IPv6 prefix of at most /64", "give one like fd31:1234:5678::/48"),
    case("networks-overlay-no-subnet", "networks", batch_networks({"name": "ov", "driver": "overlay", "hosts": "all"}),
         "config[3] (ov): subnet: an overlay network needs a subnet", "give one, like"),
    case("networks-overlay-vni-0", "networks", batch_networks({"name": "ov", "driver": "overlay", "subnet": "10.231.220.0/24", "hosts": "all", "vni": 0}),
         "config[3] (ov): vni: 0", "give a whole number from 1 to 16777215"),
    case("networks-overlay-vni-2-24", "networks",
         batch_networks({"name": "ov", "driver": "overlay", "subnet": "10.231.220.0/24", "hosts": "all", "vni": 16777216}),
         "config[3] (ov): vni: 16777216", "give a whole number from 1 to 16777215"),
    case("networks-unknown-key", "networks", batch_networks({"name": "x", "subnets": "10.231.210.0/24"}), "config[3] (x): unknown keys subnets",
         "known: "),
]

SANDBOXES_CASES = [
    case("sandboxes-ip6-on-ipv4-network", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "ip6": "fd31:201::5"}),
         "x: ip6: fd31:201::5 is an IPv6 address, but network front has no IPv6", "give the network ipv6: true"),
    case("sandboxes-ip6-ipv4", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "ip6": "10.231.201.77"}),
         "config[5] (x): ip6: 10.231.201.77 is an IPv4 address", "give IPv4 addresses in ip"),
    case("sandboxes-ip-ipv6", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "ip": "fd31:201::5"}),
         "config[5] (x): ip: fd31:201::5 is an IPv6 address", "give IPv6 addresses in ip6"),
    case("sandboxes-networks-ip6-ipv4", "sandboxes",
         batch_sandboxes({"name": "x", "network_mode": "front", "networks": [{"name": "back", "ip6": "10.231.202.9"}]}),
         "config[5] (x): networks[0].ip6: 10.231.202.9 is an IPv4 address", "give IPv4 addresses in ip"),
    case("sandboxes-container-nothing", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "container:nobody"}),
         "network_mode container:nobody names no sandbox", "declare nobody or run it first"),
    case("sandboxes-container-itself", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "container:x"}),
         "config[5] (x): network_mode: container:x names the sandbox itself", "name another sandbox"),
    case("sandboxes-container-publish", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "container:app", "publish": ["8090:80"]}),
         "publish cannot be used with network_mode container:app", "set them on app"),
    case("sandboxes-container-dns", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "container:app", "dns": ["10.231.201.53"]}),
         "dns cannot be used with network_mode container:app", "set them on app"),
    case("sandboxes-container-hostname", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "container:app", "hostname": "x1"}),
         "hostname cannot be used with network_mode container:app", "set them on app"),
    case("sandboxes-container-of-container", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "container:app-side"}),
         "container:app-side points at a sandbox that is itself in container mode", "point at app"),
    case("sandboxes-container-of-host", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "container:svc"}),
         "container:svc points at a host-mode sandbox", "use network_mode host"),
    case("sandboxes-duplicate-name", "sandboxes", batch_sandboxes({"name": "fresh", "network_mode": "none"}),
         "config: sandbox name 'fresh' is declared twice", "declare each once"),
    case("sandboxes-unknown-network", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "nonet"}),
         "x: network_mode: network 'nonet' does not exist", "declare it in netmodes_networks"),
    case("sandboxes-unknown-second-network", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "networks": ["nonet"]}),
         "x: networks: network 'nonet' does not exist", "declare it in netmodes_networks"),
    case("sandboxes-name-slash", "sandboxes", batch_sandboxes({"name": "a/b"}), "config[5] (a/b): name: sandbox name 'a/b'", "Choose another name"),
    case("sandboxes-name-newline", "sandboxes", batch_sandboxes({"name": NEWLINE_NAME, "hostname": "s3", "publish": ["8095:80"]}),
         "config[5]: name: sandbox name 's3\\n-I INPUT 1 -j ACCEPT\\n#' is not valid", NAME_FIX),
    case("sandboxes-container-newline", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "container:app\n"}),
         "config[5] (x): network_mode: sandbox name 'app\\n' is not valid", NAME_FIX),
    case("sandboxes-dns-scope-injection", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "dns": [SCOPED]}),
         "config[5] (x): dns[0]: 'fe80::1%x\\nnameserver 6.6.6.6", "write a link-local address and an interface"),
    case("sandboxes-extra-hosts-scope-injection", "sandboxes",
         batch_sandboxes({"name": "x", "network_mode": "front", "extra_hosts": ["db:[%s]" % SCOPED_HOST]}),
         "config[5] (x): extra_hosts[0]: 'fe80::1%x\\n6.6.6.6 bank.example' carries a scope id", SCOPE_FIX),
    case("sandboxes-extra-hosts-dict-scope-injection", "sandboxes",
         batch_sandboxes({"name": "x", "network_mode": "front", "extra_hosts": {"db": SCOPED_HOST}}),
         "config[5] (x): extra_hosts.db: 'fe80::1%x\\n6.6.6.6 bank.example' carries a scope id", SCOPE_FIX),
    case("sandboxes-hostname-newline", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "hostname": "x1\n.evil"}),
         "config[5] (x): hostname: 'x1\\n.evil'", "use labels of"),
    case("sandboxes-alias-newline", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "aliases": ["db\n"]}),
         "config[5] (x): aliases[0]: 'db\\n'", "use labels of"),
    case("sandboxes-dns-search-newline", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "dns_search": ["lan\n"]}),
         "config[5] (x): dns_search[0]: 'lan\\n'", "use labels of"),
    case("sandboxes-dns-options-newline", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "dns_options": ["ndots:1\n"]}),
         "config[5] (x): dns_options[0]: 'ndots:1\\n'", "give each option as its own list item"),
    case("sandboxes-ip-scope", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "ip": "fe80::5%eth0"}),
         "config[5] (x): ip: 'fe80::5%eth0' carries a scope id", SCOPE_FIX),
    case("sandboxes-network-wildcard", "sandboxes", batch_sandboxes(networks=NETWORKS + [{"name": "nm+", "subnet": "10.231.210.0/24"}]),
         "networks[2] (nm+): name: network name 'nm+' is not valid: " + WILDCARD, NAME_FIX),
    case("sandboxes-state", "sandboxes", batch_sandboxes({"name": "x", "state": "running"}), "config[5] (x): state: 'running'", "present or absent"),
    case("sandboxes-host-port-0", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "host", "ports": [0]}), "config[5] (x): ports: 0",
         "give a port from 1 to 65535"),
    case("sandboxes-host-port-65536", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "host", "ports": [65536]}),
         "config[5] (x): ports: 65536", "give a port from 1 to 65535"),
    case("sandboxes-host-protocol", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "host", "ports": ["80/icmp"]}),
         "config[5] (x): ports: '80/icmp'", "tcp, udp or sctp"),
    case("sandboxes-host-publish", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "host", "publish": ["8090:80"]}),
         "publish cannot be used with network_mode host", "list the ports it binds in ports"),
    case("sandboxes-host-port-bound", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "host", "ports": [BUSY_PORT]}),
         "x: port %d/tcp is already in use on the host: python3 (pid" % BUSY_PORT, "stop it or change the port"),
    case("sandboxes-host-port-published", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "host", "ports": [8080]}),
         "x: port 8080/tcp is published by sandbox web", "give x another port"),
    case("sandboxes-ports-on-bridge", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "ports": [80]}),
         "config[5] (x): ports: only host-mode sandboxes declare ports", "publish with publish"),
    case("sandboxes-publish-port-0", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "publish": ["0:80"]}),
         "config[5] (x): publish[0]: host port '0'", "give ports from 1 to 65535"),
    case("sandboxes-publish-reversed", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "publish": ["90-80:80"]}),
         "config[5] (x): publish[0]: host port '90-80'", "write the lower port first"),
    case("sandboxes-publish-lengths", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "publish": ["8090-8091:80-82"]}),
         "config[5] (x): publish[0]: '8090-8091:80-82'", "give ranges of the same length"),
    case("sandboxes-publish-protocol", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "publish": ["8090:80/gre"]}),
         "config[5] (x): publish[0]: protocol 'gre'", "use tcp, udp or sctp"),
    case("sandboxes-publish-published", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "publish": ["8080:80"]}),
         "x: publish: host port 8080/tcp is already published by sandbox web", "choose another host port"),
    case("sandboxes-publish-claimed", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "publish": ["9098:80"]}),
         "x: publish: host port 9098/tcp is already declared by host-mode sandbox svc", "choose another host port"),
    case("sandboxes-publish-bound", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "publish": ["%d:80" % BUSY_PORT]}),
         "x: publish: host port %d/tcp is already in use on the host: python3 (pid" % BUSY_PORT, "stop it or choose another host port"),
    case("sandboxes-publish-allow-name", "sandboxes",
         batch_sandboxes({"name": "x", "network_mode": "front", "publish": [{"port": "8090:80", "allow": ["web-clients"]}]}),
         "config[5] (x): publish[0].allow[0]: 'web-clients' is neither a CIDR", "(letters, digits and _)"),
    case("sandboxes-publish-allow-unknown-group", "sandboxes",
         batch_sandboxes({"name": "x", "network_mode": "front", "publish": [{"port": "8090:80", "allow": ["nobody"]}]}),
         "config[5] (x): publish: 8090:80/tcp: allow names the group 'nobody', which the inventory does not have",
         "pass the sandboxes to netmodes.linux.fleet"),
    case("sandboxes-publish-twice", "sandboxes",
         batch_sandboxes({"name": "x", "network_mode": "front", "publish": ["8090:80"]}, {"name": "y", "network_mode": "front", "publish": ["8090:81"]}),
         "y: publish: host port 8090/tcp is already published by sandbox x", "choose another host port"),
    case("sandboxes-dns-ip", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "dns": ["10.231.201.999"]}),
         "config[5] (x): dns[0]: '10.231.201.999'", "write it like 172.18.0.1"),
    case("sandboxes-dns-search", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "dns_search": ["a_b.example"]}),
         "config[5] (x): dns_search[0]: 'a_b.example'", "use labels of"),
    case("sandboxes-dns-options", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "dns_options": ["ndots:1 rotate"]}),
         "config[5] (x): dns_options[0]: 'ndots:1 rotate'", "give each option as its own list item"),
    case("sandboxes-extra-hosts", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "extra_hosts": ["db:10.231.201.1000"]}),
         "config[5] (x): extra_hosts[0]: '10.231.201.1000'", "write it like 172.18.0.1"),
    case("sandboxes-alias", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "aliases": ["data_base"]}),
         "config[5] (x): aliases[0]: 'data_base'", "use labels of"),
    case("sandboxes-name-not-a-host-name", "sandboxes", batch_sandboxes({"name": "my_app", "network_mode": "front"}),
         "config[5] (my_app): name: 'my_app' is the sandbox's default host name", "rename it with letters, digits and '-'"),
    case("sandboxes-hostname", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "hostname": "x_1"}),
         "config[5] (x): hostname: 'x_1'", "use labels of"),
    case("sandboxes-ip-outside", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "ip": "10.231.202.5"}),
         "x: ip: 10.231.202.5 is not a free host address of network front", "choose another address in 10.231.201.0/24"),
    case("sandboxes-ip-gateway", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "ip": "10.231.201.1"}),
         "x: ip: 10.231.201.1 is not a free host address of network front", "choose another address in 10.231.201.0/24"),
    case("sandboxes-ip-taken", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "ip": "10.231.201.10"}),
         "x: ip: 10.231.201.10 is already the address of sandbox app", "choose another address in 10.231.201.0/24"),
    case("sandboxes-ip-malformed", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "ip": "10.231.201"}),
         "config[5] (x): ip: '10.231.201'", "write it like 172.18.0.1"),
    case("sandboxes-default-network-plus", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "bridge", "networks": ["front"]}),
         "config[5] (x): networks:", "need a user-defined network_mode"),
    case("sandboxes-none-aliases", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "none", "aliases": ["y"]}),
         "aliases cannot be used with network_mode none", "join a network"),
    case("sandboxes-unknown-key", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "port": [80]}),
         "config[5] (x): unknown keys port", "known: "),
    case("sandboxes-bad-networks", "sandboxes", batch_sandboxes(networks=NETWORKS + [{"name": "n", "subnet": "10.231.201.0/25"}]),
         "networks: the subnets of front (10.231.201.0/24) and n (10.231.201.0/25) overlap", "give n a subnet of its own"),
]

RESTORE_TYPES = {"command": "/etc/netmodes/netmodes-restore", "networks": NETWORKS}  # as RESTORE below

# Issue 15, item 5: a list-valued field takes a list, even of one item; anything else is refused
# naming the field (ports "9097" was read as ports 9, 0, 9 and 7, publish "8090:80" per character).
LIST = "write a list, even of one item: "
TYPE_CASES = [
    case("sandboxes-host-ports-string", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "host", "ports": "9097"}),
         "config[5] (x): ports: '9097' is a string, not a list", LIST + "ports: ['9097']"),
    case("sandboxes-host-ports-number", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "host", "ports": 9097}),
         "config[5] (x): ports: 9097 is a number, not a list", LIST + "ports: [9097]"),
    case("sandboxes-publish-string", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "publish": "8090:80"}),
         "config[5] (x): publish: '8090:80' is a string, not a list", LIST + "publish: ['8090:80']"),
    case("sandboxes-publish-dict", "sandboxes",
         batch_sandboxes({"name": "x", "network_mode": "front", "publish": {"host_port": 8090, "container_port": 80}}),
         "config[5] (x): publish: {'host_port': 8090, 'container_port': 80} is a dict, not a list", LIST + "publish: [{'host_port'"),
    case("sandboxes-publish-number", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "publish": 484880}),
         "config[5] (x): publish: 484880 is a number, not a list", LIST + "publish: [484880]"),
    case("sandboxes-networks-string", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "networks": "back"}),
         "config[5] (x): networks: 'back' is a string, not a list", LIST + "networks: ['back']"),
    case("sandboxes-networks-dict", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "networks": {"back": None}}),
         "config[5] (x): networks: {'back': None} is a dict, not a list", LIST + "networks: [{'back': None}]"),
    case("sandboxes-aliases-string", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "aliases": "api"}),
         "config[5] (x): aliases: 'api' is a string, not a list", LIST + "aliases: ['api']"),
    case("sandboxes-aliases-boolean-item", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "aliases": [True]}),
         "config[5] (x): aliases[0]: True is a boolean", "give each item as one value, a string or a number (quote yes, no, on and off)"),
    case("sandboxes-dns-string", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "dns": "10.231.201.53"}),
         "config[5] (x): dns: '10.231.201.53' is a string, not a list", LIST + "dns: ['10.231.201.53']"),
    case("sandboxes-dns-search-string", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "dns_search": "corp.example"}),
         "config[5] (x): dns_search: 'corp.example' is a string, not a list", LIST + "dns_search: ['corp.example']"),
    case("sandboxes-dns-options-string", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "dns_options": "ndots:2"}),
         "config[5] (x): dns_options: 'ndots:2' is a string, not a list", LIST + "dns_options: ['ndots:2']"),
    case("sandboxes-extra-hosts-string", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "extra_hosts": "db:10.231.201.9"}),
         "config[5] (x): extra_hosts: 'db:10.231.201.9' is a string, not a list", LIST + "extra_hosts: ['db:10.231.201.9'] (or a dict)"),
    case("sandboxes-container-publish-string", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "container:app", "publish": "8090:80"}),
         "config[5] (x): publish: '8090:80' is a string, not a list", LIST + "publish: ['8090:80']"),
    case("sandboxes-alias-is-another-members-name", "sandboxes", batch_sandboxes({"name": "x", "network_mode": "front", "aliases": ["api", "app"]}),
         "config: network front: the name app is both sandbox app and sandbox x", "rename one (or drop the alias)"),
    case("networks-overlay-hosts-dict", "networks",
         batch_networks({"name": "ov", "driver": "overlay", "subnet": "10.231.220.0/24", "hosts": {"sim1": None}}),
         "config[3] (ov): hosts: an overlay network needs the hosts it spans", "an inventory group name or a list of inventory hosts"),
    case("dns-extra-hosts-number", "dns_config", dict(DNS, extra_hosts=9), "extra_hosts: give a list of NAME:IP strings", "or a dict NAME: IP"),
    case("boot_restore-publish-string", "boot_restore", dict(RESTORE_TYPES, sandboxes=SANDBOXES + [{"name": "x", "network_mode": "front",
                                                                                                    "publish": "8090:80"}]),
         "sandboxes[4] (x): publish: '8090:80' is a string, not a list", LIST + "publish: ['8090:80']"),
]

SITE_CASES = [
    case("site-container-itself", "site", site(sandboxes=[{"name": "x", "network_mode": "container:x"}]),
         "network_mode: container:x names the sandbox itself", "name another sandbox"),
    case("site-container-nothing", "site", site(sandboxes=[{"name": "x", "network_mode": "container:nobody"}]),
         "network_mode container:nobody names no sandbox", "declare nobody or run it first"),
    case("site-unknown-network", "site", site(sandboxes=[{"name": "x", "network_mode": "nonet"}]),
         "x: network_mode: network 'nonet' does not exist", "declare it in netmodes_networks"),
    case("site-duplicate-sandbox", "site", site(sandboxes=[{"name": "quiet", "network_mode": "none"}]),
         "netmodes_sandboxes: sandbox name 'quiet' is declared twice", "declare each once"),
    case("site-network-overlap", "site", site(networks=[{"name": "x", "subnet": "10.231.201.128/25"}]),
         "the subnets of front (10.231.201.0/24) and x (10.231.201.128/25) overlap", "give x a subnet of its own"),
    case("site-publish-published", "site", site(sandboxes=[{"name": "x", "network_mode": "front", "publish": ["8080:80"]}]),
         "x: publish: host port 8080/tcp is already published by sandbox web", "choose another host port"),
    case("site-host-port-bound", "site", site(sandboxes=[{"name": "x", "network_mode": "host", "ports": [BUSY_PORT]}]),
         "x: port %d/tcp is already in use on the host" % BUSY_PORT, "stop it or change the port"),
    case("site-subnet-in-use", "site", site(networks=[{"name": "x", "subnet": "10.231.200.128/25"}]),
         "netmodes_networks[3] (x): subnet: 10.231.200.128/25 overlaps 10.231.200.0/24 of br0", "choose a free subnet"),
    case("site-extra-hosts-scope-injection", "site", site(sandboxes=[{"name": "x", "network_mode": "front", "extra_hosts": ["db:[%s]" % SCOPED_HOST]}]),
         "netmodes_sandboxes[5] (x): extra_hosts[0]: 'fe80::1%x\\n6.6.6.6 bank.example' carries a scope id", SCOPE_FIX),
    case("site-network-wildcard", "site", site(networks=[{"name": "nm+", "subnet": "10.231.204.0/24"}]),
         "netmodes_networks[3] (nm+): name: network name 'nm+' is not valid: " + WILDCARD, NAME_FIX),
    case("site-dns-ip", "site", site(sandboxes=[{"name": "x", "network_mode": "front", "dns": ["10.231.201.256"]}]),
         "netmodes_sandboxes[5] (x): dns[0]: '10.231.201.256'", "write it like 172.18.0.1"),
    case("site-host-ports-string", "site", site(sandboxes=[{"name": "x", "network_mode": "host", "ports": "9097"}]),
         "netmodes_sandboxes[5] (x): ports: '9097' is a string, not a list", LIST + "ports: ['9097']"),
    case("site-publish-string", "site", site(sandboxes=[{"name": "x", "network_mode": "front", "publish": "8090:80"}]),
         "netmodes_sandboxes[5] (x): publish: '8090:80' is a string, not a list", LIST + "publish: ['8090:80']"),
]

VX = {"name": "vx1", "vni": 42, "local": "10.231.200.1"}  # br0's address: a local address of the host
VXLAN_CASES = [
    case("vxlan-vni-0", "vxlan", dict(VX, vni=0), "vni: 0 is outside 1..16777215", "give one in 1..16777215"),
    case("vxlan-vni-2-24", "vxlan", dict(VX, vni=16777216), "vni: 16777216 is outside 1..16777215", "give one in 1..16777215"),
    case("vxlan-dstport-0", "vxlan", dict(VX, dstport=0), "dstport: 0 is outside 1..65535", "give one in 1..65535"),
    case("vxlan-dstport-65536", "vxlan", dict(VX, dstport=65536), "dstport: 65536 is outside 1..65535", "give one in 1..65535"),
    case("vxlan-local-malformed", "vxlan", dict(VX, local="10.231.200"), "local: '10.231.200'", "write it like 172.18.0.1"),
    case("vxlan-local-not-here", "vxlan", dict(VX, local="10.231.250.1"), "local: 10.231.250.1 is not an address of any link on this host",
         "give this host's underlay address"),
    case("vxlan-peer-is-local", "vxlan", dict(VX, peers=["10.231.200.1"]), "peers: 10.231.200.1 is this host's own local address",
         "list the other hosts only"),
    case("vxlan-peer-ip-version", "vxlan", dict(VX, peers=["2001:db8::12"]), "peers[0]: 2001:db8::12 is IPv6, the underlay is IPv4",
         "use addresses of one IP version"),
    case("vxlan-peer-scope", "vxlan", dict(VX, peers=[SCOPED_HOST]), "peers[0]: 'fe80::1%x\\n6.6.6.6 bank.example' carries a scope id",
         SCOPE_FIX),
    case("vxlan-bridge-wildcard", "vxlan", dict(VX, bridge="br+"), "bridge: interface name 'br+' is not valid: " + WILDCARD, NAME_FIX),
    case("vxlan-name-too-long", "vxlan", dict(VX, name="vxlan-overlay-one"), "name: interface name 'vxlan-overlay-one' is 17 bytes",
         "Choose a shorter name"),
    case("vxlan-name-not-ours", "vxlan", dict(VX, name="eth0"), "name: vxlan eth0 exists but is a veth link", "choose another name"),
    case("vxlan-bridge-not-a-bridge", "vxlan", dict(VX, bridge="eth0"), "bridge: eth0 is a veth link", "name a bridge"),
    case("vxlan-fdb-zero-mac", "vxlan", dict(VX, fdb=[{"mac": "00:00:00:00:00:00", "dst": "10.231.200.12"}]),
         "fdb[0].mac: the all-zero MAC is the default destination", "list that host under peers"),
]

MV = {"name": "mv1", "parent": "eth0", "netns": "db", "addresses": ["10.231.210.5/24"]}
MACVLAN_CASES = [
    case("macvlan-parent-missing", "macvlan", dict(MV, parent="eth9"), "parent: eth9 does not exist on the host",
         "give the host interface on the segment"),
    case("macvlan-mode", "macvlan", dict(MV, mode="l2"), "mode: l2 is not a mode of macvlan", "use one of bridge, private, vepa, passthru"),
    case("macvlan-name-too-long", "macvlan", dict(MV, name="macvlan-of-db-12"), "name: interface name 'macvlan-of-db-12' is 16 bytes",
         "Choose a shorter name"),
    case("macvlan-netns-missing", "macvlan", dict(MV, netns="nobody"), "netns: sandbox 'nobody' does not exist", "create it with netmodes.linux.netns"),
    case("macvlan-shim-gateway", "macvlan", {"name": "mv1", "parent": "eth0", "gateway": "10.231.210.1"}, "gateway: a host shim",
         "give routes to the sandboxes' addresses instead"),
    case("macvlan-gateway-outside", "macvlan", dict(MV, gateway="10.231.211.1"), "gateway: 10.231.211.1 is not inside any subnet of addresses",
         "pick an address of the interface's subnet"),
    case("macvlan-parent-wildcard", "macvlan", dict(MV, parent="eth+"), "parent: interface name 'eth+' is not valid: " + WILDCARD, NAME_FIX),
    case("macvlan-name-not-ours", "macvlan", {"name": "veth-web", "parent": "eth0"}, "name: macvlan veth-web exists but is a veth link",
         "choose another name"),
]

# The restore command goes to the simulated host's own /etc, never to the machine's /usr/local,
# should a case be accepted by mistake.
RESTORE = {"command": "/etc/netmodes/netmodes-restore", "networks": NETWORKS, "sandboxes": SANDBOXES}
BOOT_RESTORE_CASES = [
    case("boot-restore-path-newline", "boot_restore", dict(RESTORE, path="/etc/netmodes/declared.json\nExecStartPre=/bin/sh -c id"),
         "path: '/etc/netmodes/declared.json\\nExecStartPre=/bin/sh -c id' is not a path a systemd unit can name as it is",
         "give an absolute path of letters, digits"),
    case("boot-restore-command-specifier", "boot_restore", {"command": "/usr/local/lib/%h/restore"}, "command: '/usr/local/lib/%h/restore'",
         "give an absolute path of letters, digits"),
    case("boot_restore-path-relative", "boot_restore", dict(RESTORE, path="declared.json"),
         "path: 'declared.json' is not a path a systemd unit can name as it is", "give an absolute path"),
    case("boot_restore-command-relative", "boot_restore", dict(RESTORE, command="bin/restore"),
         "command: 'bin/restore' is not a path a systemd unit can name as it is", "give an absolute path"),
    case("boot_restore-unit-dir-relative", "boot_restore", dict(RESTORE, unit_dir="systemd"),
         "unit_dir: 'systemd' is not a path a systemd unit can name as it is", "give an absolute path"),
    case("boot_restore-sandbox-itself", "boot_restore", dict(RESTORE, sandboxes=SANDBOXES + [{"name": "x", "network_mode": "container:x"}]),
         "sandboxes[4] (x): network_mode: container:x names the sandbox itself", "name another sandbox"),
    case("boot_restore-sandbox-name", "boot_restore", dict(RESTORE, sandboxes=[{"name": "a/b", "network_mode": "none"}]),
         "sandboxes[0] (a/b): name: sandbox name 'a/b'", "Choose another name"),
    case("boot_restore-network-driver", "boot_restore", dict(RESTORE, networks=NETWORKS + [{"name": "x", "driver": "vlan"}]),
         "networks[2] (x): driver: 'vlan' is not a driver", "choose one of bridge, overlay, macvlan, ipvlan"),
    case("boot_restore-network-subnet", "boot_restore", dict(RESTORE, networks=NETWORKS + [{"name": "x", "subnet": "10.231.300.0/24"}]),
         "networks[2] (x): subnet", "10.231.300.0/24"),
]

# Issue 19: Docker's gateway options of a bridge network (the bridge module's, a bridge network's keys;
# the bridge module's unknown mode is Ansible's choices check, before the module runs).
BR1 = {"name": "br1", "addresses": ["10.231.210.1/24"]}
GATEWAY_CASES = [
    case("bridge-gateway-mode-internal", "bridge", dict(BR1, gateway_mode_ipv6="routed", internal=True),
         "gateway_mode_ipv6: an internal network has no traffic to or from outside its bridge", "remove gateway_mode_ipv6 or internal"),
    case("bridge-trusted-wildcard", "bridge", dict(BR1, trusted_host_interfaces=["eth1", "eth+"]),
         "trusted_host_interfaces[1]: interface name 'eth+' is not valid: " + WILDCARD, NAME_FIX),
    case("bridge-trusted-newline", "bridge", dict(BR1, trusted_host_interfaces=["eth1\n-j ACCEPT"]),
         "trusted_host_interfaces[0]: interface name", NAME_FIX),
    case("bridge-host-ipv4-injection", "bridge", dict(BR1, host_ipv4="10.231.210.1 -j ACCEPT"),
         "host_ipv4: '10.231.210.1 -j ACCEPT' is not an IPv4 address", "give the host's address that outbound traffic leaves from"),
    case("bridge-host-ipv6-family", "bridge", dict(BR1, host_ipv6="10.231.210.1"), "host_ipv6: '10.231.210.1' is not an IPv6 address",
         "give the host's address that outbound traffic leaves from"),
    case("bridge-host-ipv4-no-masquerade", "bridge", dict(BR1, host_ipv4="10.231.210.1", ip_masquerade=False),
         "host_ipv4: the network has ip_masquerade: false", "remove host_ipv4 or ip_masquerade"),
    # isolated: an internal network's only (Docker: "gateway mode 'isolated' can only be used for an internal network")
    case("bridge-gateway-mode-isolated-not-internal", "bridge", dict(BR1, gateway_mode_ipv4="isolated"),
         "gateway_mode_ipv4: isolated leaves the host's bridge without an address, which only an internal network can do",
         "add internal: true, or choose nat, nat-unprotected or routed"),
    case("networks-gateway-mode-isolated-not-internal", "networks",
         batch_networks({"name": "x", "subnet": "10.231.210.0/24", "gateway_mode_ipv6": "isolated"}),
         "config[3] (x): gateway_mode_ipv6: isolated leaves the host's bridge without an address", "add internal: true"),
    case("networks-gateway-mode-isolated-no-subnet", "networks", batch_networks({"name": "x", "internal": True, "gateway_mode_ipv4": "isolated"}),
         "config[3] (x): gateway_mode_ipv4: isolated leaves the bridge without an IPv4 address", "declare the network's IPv4 subnet in subnet"),
    case("networks-gateway-mode-isolated-macvlan", "networks", batch_networks({"name": "x", "driver": "macvlan", "parent": "eth0",
                                                                               "subnet": "10.231.210.0/24", "gateway_mode_ipv4": "isolated"}),
         "config[3] (x): gateway_mode_ipv4: a macvlan network has no gateway_mode_ipv4", "only bridge networks take it; remove it"),
    case("networks-gateway-mode-isolated-overlay", "networks", batch_networks({"name": "x", "driver": "overlay", "subnet": "10.231.210.0/24",
                                                                               "hosts": ["sim1"], "internal": True, "gateway_mode_ipv4": "isolated"}),
         "config[3] (x): gateway_mode_ipv4: an overlay network has no gateway_mode_ipv4", "only bridge networks take it; remove it"),
    case("networks-gateway-mode-unknown", "networks", batch_networks({"name": "x", "gateway_mode_ipv6": "bridge"}),
         "config[3] (x): gateway_mode_ipv6: 'bridge' is not a gateway mode", "choose one of nat, nat-unprotected, routed, isolated"),
    case("networks-trusted-docker-string", "networks", batch_networks({"name": "x", "trusted_host_interfaces": "eth1:br*"}),
         "config[3] (x): trusted_host_interfaces[1]: interface name 'br*' is not valid: firewall rules read '*'", NAME_FIX),
    case("networks-trusted-internal", "networks", batch_networks({"name": "x", "internal": True, "trusted_host_interfaces": ["eth1"]}),
         "config[3] (x): trusted_host_interfaces: an internal network has no traffic to or from outside its bridge",
         "remove trusted_host_interfaces or internal"),
    case("networks-host-ipv4-loopback", "networks", batch_networks({"name": "x", "host_ipv4": "127.0.0.1"}),
         "config[3] (x): host_ipv4: 127.0.0.1 cannot be the source of outbound traffic (it is loopback)",
         "give one of the host's own unicast addresses"),
    case("networks-gateway-mode-overlay", "networks", batch_networks({"name": "x", "driver": "overlay", "subnet": "10.231.210.0/24",
                                                                      "hosts": ["sim1"], "gateway_mode_ipv4": "routed"}),
         "config[3] (x): gateway_mode_ipv4: an overlay network has no gateway_mode_ipv4", "only bridge networks take it; remove it"),
]

# Services in sandboxes: a unit name systemd would not take reaches no file and no systemctl; a
# sandbox must be declared (present). Refused before anything is read, so a host without systemd
# (this one) refuses them the same way.
SERVICES = {"sandboxes": SANDBOXES, "networks": NETWORKS}
UNIT_FIX = "give a unit name as systemctl shows it"
SERVICES_CASES = [
    case("services-unit-newline", "services", dict(SERVICES, services=[{"sandbox": "app", "unit": "x.service\nExecStartPre=/bin/sh"}]),
         "services[0]: unit: 'x.service\\nExecStartPre=/bin/sh' is not the name of a systemd service", UNIT_FIX),
    case("services-unit-path", "services", dict(SERVICES, services=[{"sandbox": "app", "unit": "../../x.service"}]),
         "services[0] (../../x.service): unit: '../../x.service' is not the name of a systemd service", UNIT_FIX),
    case("services-unit-no-suffix", "services", dict(SERVICES, services=[{"sandbox": "app", "unit": "nginx"}]),
         "services[0] (nginx): unit: 'nginx' is not the name of a systemd service", UNIT_FIX),
    case("services-unit-template", "services", dict(SERVICES, services=[{"sandbox": "app", "unit": "app@.service"}]),
         "unit: 'app@.service' is not the name of a systemd service", UNIT_FIX),
    case("services-unit-ours", "services", dict(SERVICES, services=[{"sandbox": "app", "unit": "netmodes-restore.service"}]),
         "unit: 'netmodes-restore.service' is one of netmodes.linux's own units", UNIT_FIX),
    case("services-sandbox-undeclared", "services", dict(SERVICES, services=[{"sandbox": "nobody", "unit": "nginx.service"}]),
         "services[0] (nginx.service): sandbox: 'nobody' is not a sandbox declared (present) in sandboxes", "declare it there"),
    case("services-sandbox-missing", "services", dict(SERVICES, services=[{"unit": "nginx.service"}]),
         "sandbox: None is not a sandbox declared", "declare it there"),
    case("services-unit-twice", "services",
         dict(SERVICES, services=[{"sandbox": "app", "unit": "nginx.service"}, {"sandbox": "quiet", "unit": "nginx.service"}]),
         "services: unit 'nginx.service' is declared twice", "declare each once"),
]

MODULE_CASES = GATEWAY_CASES + NETNS_CASES + BRIDGE_CASES + VETH_CASES + PORTMAP_CASES + DNS_CASES + NET_INFO_CASES + NETWORKS_CASES
MODULE_CASES += SANDBOXES_CASES + VXLAN_CASES + MACVLAN_CASES + BOOT_RESTORE_CASES + TYPE_CASES + SERVICES_CASES


@pytest.fixture(scope="module")
def corpus(world):
    """{case id: (state before, the case's result, state after)}, from one run of every module case
    inside the host (tests/harness/modrun.py), each between snapshots."""
    lines = modrun(world.host, [(p.id, p.values[0], p.values[1]) for p in MODULE_CASES], snapshots=True)
    out, before = {}, lines[0]["snapshot"]
    for run, snap in zip(lines[1::2], lines[2::2], strict=True):
        after = snap["snapshot"]
        out[run["id"]] = (before, run["result"], after)
        before = after
    return out


@pytest.mark.parametrize("module, args, field, fix", MODULE_CASES)
def test_a_module_refuses_bad_input_naming_field_and_fix_and_changes_nothing(corpus, request, module, args, field, fix):
    before, result, after = corpus[request.node.callspec.id]
    refused(result, field, before, after, fix)


@pytest.mark.parametrize("module, args, field, fix", SITE_CASES)
def test_the_site_playbook_refuses_a_bad_inventory_naming_field_and_fix_and_changes_nothing(world, module, args, field, fix):
    before = world.state()
    run = world.ansible.collection_playbook(module, args)
    failed = [r["result"] for r in run.records if r["status"] == "failed"]
    assert len(failed) <= 1, run
    refused(dict(failed[0], failed=True) if failed else {"msg": run.stdout[-2000:]}, field, before, world.state(), fix)


# An action that runs on the controller (no module code to run inside the host): run by Ansible.
CONTROLLER_CASES = [
    case("fleet_check-results-unregistered", "fleet_check", {"results": "convergd"}, "results: no host of the play has a variable convergd",
         "name the variable that the task which converged the networks registered its result in"),
]


@pytest.mark.parametrize("module, args, field, fix", CONTROLLER_CASES)
def test_a_controller_action_refuses_bad_input_naming_field_and_fix(world, module, args, field, fix):
    before = world.state()
    run = world.ansible.adhoc("sim1", module, args)
    (record,) = run.records
    refused(dict(record["result"], failed=record["status"] == "failed"), field, before, world.state(), fix)


def test_the_corpus_is_large_and_covers_every_module():
    cases = MODULE_CASES + SITE_CASES + CONTROLLER_CASES
    assert len(cases) >= 60
    modules = {path.stem for path in (REPO / "plugins" / "modules").glob("*.py") if not path.name.startswith("_")}
    assert len(modules) >= 11, modules
    assert {c.values[0] for c in cases} >= modules | {"site"}, "modules without a bad-input case: %s" % (modules - {c.values[0] for c in cases})
