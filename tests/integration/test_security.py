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
from conftest import sh
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
