# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 across hosts (issue 17), as a user runs it: site.yml on the two simulated hosts with an
inventory that declares a dual-stack or IPv6-only overlay network (VXLAN over the lab's IPv4 or
IPv6 cable) or a dual-stack macvlan network on the lab segment, with real traffic by name."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from pathlib import Path

import pytest
from conftest import BACKENDS, assert_unchanged, sh, sh_json, snapshot, use_backend
from test_boot_restore import rebooted
from test_portmap import Processes
from test_security import PROBE, wait_udp

# Names through hosts files (dns: false), a line per family per member across hosts.
DUAL = {"name": "ovd", "driver": "overlay", "hosts": "ov", "subnet": ["10.231.140.0/24", "fd31:140::/64"], "ipv6": True, "dns": False}
SIX = {"name": "ovs", "driver": "overlay", "hosts": "ov", "ipv6": True, "ipv4": False, "dns": False}
GROUP = ("sim1", "sim2")
INJECT = "/usr/bin/python3 %s" % (Path(__file__).parent / "vxlan_inject.py")


def ip6(text):
    """TEXT as ip prints an IPv6 address (the longest run of zeros shortened, the first of equals)."""
    return str(ipaddress.ip_address(text))


def vxlan_of(network):
    """An overlay's VXLAN device, as the guide documents it: nmx and sha256("vxlan\\0NAME")."""
    return "nmx" + hashlib.sha256(("vxlan\0%s" % network).encode()).hexdigest()[:11]


class Site:
    """site.yml with an inventory of our own beside the fleet's: the group ``ov`` (sim1, sim2),
    every host's netmodes_sandboxes and HOST_VARS, netmodes_networks for all."""

    def __init__(self, ansible, tmp_path, hosts):
        self.ansible, self.tmp_path, self.hosts, self.count = ansible, tmp_path, hosts, 0

    def run(self, networks, sandboxes, host_vars=None, check=False):
        self.count += 1
        inventory = self.tmp_path / ("lab-%d.yml" % self.count)
        inventory.write_text(json.dumps({"all": {
            "hosts": {h: dict((host_vars or {}).get(h, {}), netmodes_sandboxes=sandboxes.get(h, [])) for h in GROUP},
            "vars": {"netmodes_networks": networks, "netmodes_requirements": False},
            "children": {"ov": {"hosts": {h: {} for h in GROUP}}}}}))
        return self.ansible._run(["ansible-playbook", "-i", str(inventory), "netmodes.linux.site"], check, False)

    def four_steps(self, networks, sandboxes, host_vars=None):
        """The idempotence pattern (conftest's Ansible.four_steps) over site.yml: check mode changes
        nothing on either host, the run changes, a repeat and a repeat in check mode do not."""
        before = [snapshot(h) for h in self.hosts]
        check = self.run(networks, sandboxes, host_vars, check=True)
        assert not check.failed and check.changed, check
        for host, was in zip(self.hosts, before, strict=True):
            assert_unchanged(was, snapshot(host), "check mode on %s" % host.name)
        run = self.run(networks, sandboxes, host_vars)
        assert not run.failed and run.changed, (run, [r["result"].get("msg") for r in run.records if r["status"] == "failed"])
        again = self.run(networks, sandboxes, host_vars)
        assert not again.failed and not again.changed, "a second run changed something\n%r" % again
        recheck = self.run(networks, sandboxes, host_vars, check=True)
        assert not recheck.failed and not recheck.changed, "check mode after the run changed something\n%r" % recheck
        return run


def ping6(host, netns, target, size=None, ok=True):
    flags = "-M do -s %d " % size if size is not None else ""
    proc = host.run("ip netns exec %s ping -6 -c 1 -W 2 %s%s" % (netns, flags, target), check=False)
    assert (proc.returncode == 0) == ok, "%s: %s ping -6 %s%s: %s%s" % (host.name, netns, flags, target, proc.stdout, proc.stderr)


def ahostsv6(host, netns, name):
    """The IPv6 addresses getent ahostsv6 NAME gives inside NETNS."""
    return sorted({line.split()[0] for line in sh(host, "getent ahostsv6 %s" % name, netns=netns).splitlines()})


def global_addresses(host, netns, family):
    (eth0,) = sh_json(host, "ip netns exec %s ip -j addr show eth0" % netns)
    return [a["local"] for a in eth0["addr_info"] if a["family"] == family and a.get("scope") == "global"]


def test_a_dual_stack_overlay_across_hosts_by_name(ansible, hosts, tmp_path):
    sim1, sim2 = hosts[:2]
    sandboxes = {"sim1": [{"name": "a1", "network_mode": "ovd"}, {"name": "a2", "network_mode": "ovd"}],
                 "sim2": [{"name": "b1", "network_mode": "ovd"}]}
    Site(ansible, tmp_path, (sim1, sim2)).four_steps([DUAL], sandboxes)
    # sim1 has index 0 (slices 10.231.140.0/28, fd31:140::/68; its bridge .1, ::1), sim2 index 1
    # (10.231.140.16/28, fd31:140:0:0:1000::/68; its bridge .16, fd31:140:0:0:1000::)
    assert global_addresses(sim2, "b1", "inet6") == [ip6("fd31:140:0:0:1000::1")]
    assert global_addresses(sim1, "a2", "inet6") == ["fd31:140::3"]
    assert ahostsv6(sim1, "a1", "b1") == [ip6("fd31:140:0:0:1000::1")]
    assert ahostsv6(sim2, "b1", "a2") == ["fd31:140::3"]
    for host, netns, other in ((sim1, "a1", "b1"), (sim1, "a2", "b1"), (sim2, "b1", "a1"), (sim2, "b1", "a2"), (sim1, "a1", "a2")):
        ping6(host, netns, other)
        sh(host, "ping -4 -c 1 -W 2 %s" % other, netns=netns)
    route = sh_json(sim2, "ip netns exec b1 ip -j -6 route show default")
    assert [(r["gateway"], r["dev"]) for r in route] == [(ip6("fd31:140:0:0:1000::"), "eth0")], "via its own host's bridge"
    ping6(sim2, "b1", ip6("fd31:140:0:0:1000::"))
    # the overlay's MTU (1500 less 50 over the IPv4 cable) for IPv6 too: 1450 less IPv6 40 and ICMPv6 8
    ping6(sim1, "a1", "b1", size=1450 - 48)
    ping6(sim1, "a1", "b1", size=1450 - 47, ok=False)
    # the VXLAN device answers for the remote members from the inventory: an NDP entry each
    neigh = sh_json(sim1, "ip -j -6 neigh show dev %s" % vxlan_of("ovd"))
    assert {(n["dst"], n["lladdr"]) for n in neigh if "PERMANENT" in n.get("state", [])} == {(ip6("fd31:140:0:0:1000::1"), "02:42:0a:e7:8c:11")}
    hosts_file = sh(sim2, "cat /etc/hosts", netns="b1")
    assert "10.231.140.2\ta1" in hosts_file and "fd31:140::2\ta1" in hosts_file, hosts_file


def test_an_ipv6_only_overlay_across_hosts(ansible, hosts, tmp_path):
    sim1, sim2 = hosts[:2]
    sandboxes = {"sim1": [{"name": "a1", "network_mode": "ovs"}], "sim2": [{"name": "b1", "network_mode": "ovs"}]}
    Site(ansible, tmp_path, (sim1, sim2)).four_steps([SIX], sandboxes)
    for host, netns in ((sim1, "a1"), (sim2, "b1")):
        assert global_addresses(host, netns, "inet") == [], "no IPv4 at all"
        (ip,) = global_addresses(host, netns, "inet6")
        assert ip.startswith("fd") and not ip.startswith("fd00:"), ip
    (b1,) = global_addresses(sim2, "b1", "inet6")
    assert ahostsv6(sim1, "a1", "b1") == [b1]
    ping6(sim1, "a1", "b1")
    ping6(sim2, "b1", "a1")
    assert sim1.run("ip netns exec a1 ping -4 -c 1 -W 1 b1", check=False).returncode != 0, "b1 has no IPv4 name"


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_overlay_over_the_ipv6_cable(ansible, hosts, tmp_path, backend):
    sim1, sim2 = hosts[:2]
    for host in (sim1, sim2):
        use_backend(host, backend)
    sandboxes = {"sim1": [{"name": "a1", "network_mode": "ovd"}], "sim2": [{"name": "b1", "network_mode": "ovd"}]}
    underlay = {h.name: {"netmodes_underlay_address": h.address6} for h in (sim1, sim2)}
    Site(ansible, tmp_path, (sim1, sim2)).four_steps([DUAL], sandboxes, underlay)
    vxlan = vxlan_of("ovd")
    (link,) = sh_json(sim1, "ip -d -j link show %s" % vxlan)
    assert link["linkinfo"]["info_data"]["local6"] == sim1.address6
    assert link["mtu"] == 1430, "1500 less 70: the VXLAN headers over IPv6"
    fdb = sh(sim1, "bridge fdb show dev %s" % vxlan)
    assert "00:00:00:00:00:00 dst %s" % sim2.address6 in fdb, fdb
    for family in ("-4", "-6"):
        sh(sim1, "ping %s -c 1 -W 2 b1" % family, netns="a1")
        sh(sim2, "ping %s -c 1 -W 2 a1" % family, netns="b1")
    ping6(sim1, "a1", "b1", size=1430 - 48)
    ping6(sim1, "a1", "b1", size=1430 - 47, ok=False)
    # VXLAN over IPv6 is let in from the peers only (nftables: ip6 saddr; iptables: ip6tables' raw table)
    if backend == "nftables":
        chain = sh_json(sim1, "nft -j list chain inet netmodes vxlan-%s" % vxlan)
        sources = [e["match"]["right"] for item in chain["nftables"] if "rule" in item for e in item["rule"]["expr"]
                   if "match" in e and e["match"]["left"].get("payload", {}).get("field") == "saddr"]
    else:
        saved = sh(sim1, "ip6tables-legacy-save -t raw")
        sources = [line.split()[3].split("/")[0] for line in saved.splitlines() if line.startswith("-A NETMODES-VX-%s -s " % vxlan)]
    assert sources == [sim2.address6], sources
    # and it works: VXLAN with the overlay's VNI from a machine of the cable that is no peer does
    # not reach a1; the same from sim2 does
    (eth0,) = sh_json(sim1, "ip netns exec a1 ip -j addr show eth0")
    target = next(a["local"] for a in eth0["addr_info"] if a["family"] == "inet")
    vni = link["linkinfo"]["info_data"]["id"]
    intruder = sim2.address6.rsplit(":", 1)[0] + ":99"
    procs = Processes()
    try:
        sh(sim2, "ip addr add %s/64 dev eth0 nodad" % intruder)
        procs.start(sim1, "ip netns exec a1 %s udp-log /tmp/a1-udp.log 0.0.0.0:5000" % PROBE)
        wait_udp(sim1, 5000, netns="a1")
        # An intruder's VXLAN behind an IPv6 extension header is dropped too (u32 reads the VNI right
        # after the fixed header: ip6tables drops what has one); nftables finds UDP past it, so a
        # peer's gets through there, which shows the kernel delivers such VXLAN.
        sends = [(intruder, "from-intruder", ""), (intruder, "from-intruder-hopopts", " hopopts")]
        sends += [(sim2.address6, "from-peer-hopopts", " hopopts")] if backend == "nftables" else []
        for source, text, extra in sends + [(sim2.address6, "from-peer", "")]:
            sh(sim2, "%s %s %s %d %s 10.231.140.250 %s:5000 %s%s" % (INJECT, source, sim1.address6, vni, eth0["address"], target, text, extra))
        sh(sim1, "for i in $(seq 300); do grep -q from-peer$ /tmp/a1-udp.log 2>/dev/null && exit 0; sleep 0.1; done; exit 1")
        assert sh(sim1, "cat /tmp/a1-udp.log").split() == [text for _source, text, _extra in sends if "peer" in text] + ["from-peer"]
    finally:
        procs.stop()
        sim2.run("ip addr del %s/64 dev eth0" % intruder, check=False)
        sim1.run("rm -f /tmp/a1-udp.log", check=False)


def test_a_dual_stack_macvlan_network_with_the_host_shim(ansible, hosts, tmp_path):
    sim1, sim2 = hosts[:2]
    lab = sim1.address.rsplit(".", 1)[0]
    # the upper half of the lab's IPv4 /24 (the harness uses .1 and .11-.13), and an IPv6 subnet of
    # its own on the same segment
    network = {"name": "lan", "driver": "macvlan", "hosts": "ov", "parent": "eth0", "subnet": ["%s.0/24" % lab, "fd31:141::/64"],
               "gateway": ["%s.1" % lab, "fd31:141::1"], "ip_range": "%s.128/25" % lab, "max_hosts": 8, "shim": True, "ipv6": True,
               "dns": False}  # names through hosts files
    sandboxes = {"sim1": [{"name": "m1", "network_mode": "lan"}], "sim2": [{"name": "m2", "network_mode": "lan"}]}
    Site(ansible, tmp_path, (sim1, sim2)).four_steps([network], sandboxes)
    # sim1 has index 0 of 8 (fd31:141::/67: ::1 the gateway, ::2 its shim, ::3 m1), sim2 index 1
    # (fd31:141:0:0:2000::/67: its shim the first address, m2 the next)
    m1, m2 = "fd31:141::3", ip6("fd31:141:0:0:2000::1")
    assert global_addresses(sim1, "m1", "inet6") == [m1] and global_addresses(sim2, "m2", "inet6") == [m2]
    assert ahostsv6(sim1, "m1", "m2") == [m2]
    ping6(sim1, "m1", "m2")                                      # across hosts, on the segment
    ping6(sim2, "m2", "m1")
    for host, ip in ((sim1, m1), (sim2, m2)):                    # each host reaches its own through the shim
        assert host.run("ping -6 -c 1 -W 2 %s" % ip, check=False).returncode == 0, "%s reaches its sandbox %s" % (host.name, ip)
    route = sh_json(sim1, "ip netns exec m1 ip -j -6 route show default")
    assert [(r["gateway"], r["dev"]) for r in route] == [("fd31:141::1", "eth0")], "the segment's IPv6 gateway"
    sh(sim1, "ping -4 -c 1 -W 2 m2", netns="m1")


def test_a_dual_stack_overlay_over_the_ipv6_cable_comes_back_after_a_reboot(ansible, hosts, tmp_path):
    """The boot-time restore makes sim1's part of the overlay again from the fleet it saved: both
    families, the IPv6 underlay, the peerdb's NDP entries."""
    sim1, sim2 = hosts[:2]
    sandboxes = {"sim1": [{"name": "a1", "network_mode": "ovd"}], "sim2": [{"name": "b1", "network_mode": "ovd"}]}
    underlay = {h.name: {"netmodes_underlay_address": h.address6} for h in (sim1, sim2)}
    site = Site(ansible, tmp_path, (sim1, sim2))
    run = site.run([DUAL], sandboxes, underlay)
    assert not run.failed, run
    rebooted(sim1)
    ping6(sim1, "a1", "b1")
    ping6(sim2, "b1", "a1")
    rerun = site.run([DUAL], sandboxes, underlay)
    assert not rerun.failed and not rerun.changed, "the site playbook finds the restored host as it left it\n%r" % rerun
