# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks across hosts, as a user runs them: site.yml on a 3-host simulated fleet with an
inventory that declares an overlay network (VXLAN) or the lab segment as a macvlan (ipvlan)
network, and sandboxes on every host."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import assert_unchanged, fleet_of, reset, sh, snapshot
from test_macvlan import kernel_refuses_ipvlan
from test_portmap import Processes, status

# Names through hosts files (dns: false), members listed from the inventory across hosts;
# test_a_resolver_s_members_are_in_no_hosts_file has the network's resolver.
OVERLAY = {"name": "ov0", "driver": "overlay", "hosts": "ov", "subnet": "10.231.200.0/24", "dns": False}
LOCAL = {"name": "br0", "subnet": "10.231.201.0/24", "dns": False}
TWO_EACH = {
    "sim1": [{"name": "a1", "network_mode": "ov0"}, {"name": "a2", "network_mode": "ov0"}],
    "sim2": [{"name": "b1", "network_mode": "ov0"}, {"name": "b2", "network_mode": "ov0"}],
    "sim3": [{"name": "c1", "network_mode": "ov0"}, {"name": "c2", "network_mode": "ov0"}],
}
HOSTS = ("sim1", "sim2", "sim3")
# The overlay's VXLAN device on every host, as the guide documents it: "nmx" and the first 11 hex
# digits of sha256("vxlan\0ov0"), written out here rather than asked of the code under test.
VXLAN = "nmx55f4bbf11d7"
DECLARED = "file /etc/netmodes/declared.json"  # the boot-time restore's saved declaration
PROBE = "/usr/bin/python3 %s" % (Path(__file__).parent / "probe.py")
RESOLVER = "resolver ov0"  # the network's resolver on the host: its hosts file follows the members of every host


def member_mac(ip):
    """A member's MAC as Docker derives it: 02:42 and the four bytes of its IPv4 address."""
    return "02:42:" + ":".join("%02x" % int(byte) for byte in ip.split("."))


@pytest.fixture(scope="module")
def fleet():
    """Three simulated hosts for this module (the session's fleet has two)."""
    yield from fleet_of(3, "overlay")


@pytest.fixture
def lab(fleet):
    yield fleet
    for host in fleet.hosts:
        reset(host)


class Site:
    """site.yml with an inventory of our own beside the fleet's: the group ``ov``, every host's
    netmodes_sandboxes, and netmodes_networks for all."""

    def __init__(self, ansible, tmp_path):
        self.ansible, self.tmp_path, self.count = ansible, tmp_path, 0

    def run(self, networks, group, sandboxes, check=False):
        self.count += 1
        inventory = self.tmp_path / ("lab-%d.yml" % self.count)
        inventory.write_text(json.dumps({"all": {
            "hosts": {h: {"netmodes_sandboxes": sandboxes.get(h, [])} for h in HOSTS},
            "vars": {"netmodes_networks": networks, "netmodes_requirements": False},
            "children": {"ov": {"hosts": {h: {} for h in group}}}}}))
        return self.ansible._run(["ansible-playbook", "-i", str(inventory), "netmodes.linux.site"], check, False)


@pytest.fixture
def site(ansible, tmp_path):
    return Site(ansible, tmp_path)


def operations(run, host):
    return [op for result in run.results(host) for op in result.get("operations", [])]


def objects(run, host):
    return sorted({op["object"] for op in operations(run, host)})


def ping(host, netns, target, size=None, ok=True):
    flags = "-M do -s %d " % size if size is not None else ""
    proc = host.run("ip netns exec %s ping -c 1 -W 2 %s%s" % (netns, flags, target), check=False)
    assert (proc.returncode == 0) == ok, "%s: %s ping %s%s: %s%s" % (host.name, netns, flags, target, proc.stdout, proc.stderr)


def everyone_pings_everyone_by_name(fleet, sandboxes):
    for name, own in sandboxes.items():
        host = fleet.host(name)
        for netns in (s["name"] for s in own):
            for other in (s["name"] for ss in sandboxes.values() for s in ss if s["name"] != netns):
                ping(host, netns, other)


def resolver_answers(host, address, name, netns=None):
    """{udp, tcp: "dns" when the network's resolver at ADDRESS port 53 answers a query for NAME (a
    member) from HOST (its NETNS), None when nothing does}."""
    prefix = "ip netns exec %s " % netns if netns else ""
    found = json.loads(sh(host, "%s%s probe '%s'" % (prefix, PROBE, json.dumps({p: ["dns-" + p, address, 53, name] for p in ("udp", "tcp")}))))
    return {found["udp"], found["tcp"]}


def wait_resolver(host, address, name):
    """Return once the network's resolver on HOST answers at ADDRESS (the run started it)."""
    sh(host, "%s wait-dns %s %s:53" % (PROBE, name, address))


def test_overlay_across_hosts_by_name_then_a_third_host_joins_and_leaves(lab, site):
    fleet = lab
    sim1, sim2, sim3 = (fleet.host(h) for h in HOSTS)
    two = {"sim1": TWO_EACH["sim1"], "sim2": TWO_EACH["sim2"]}

    run = site.run([OVERLAY], ["sim1", "sim2"], two)
    assert not run.failed and run.changed, run
    everyone_pings_everyone_by_name(fleet, two)
    assert sh(sim2, "getent hosts a2", netns="b1").split() == ["10.231.200.3", "a2"], "sim1's second sandbox"
    again = site.run([OVERLAY], ["sim1", "sim2"], two)
    assert not again.failed and not again.changed, "a second run changed something\n%r" % again

    # TCP across hosts, by name.
    procs = Processes()
    try:
        procs.start(sim2, "ip netns exec b1 /usr/bin/python3 -m http.server 8000")
        sh(sim1, "for i in $(seq 300); do ip netns exec a1 curl -s -o /dev/null http://b1:8000/ && exit 0; sleep 0.1; done; exit 1")
        assert sh(sim1, "curl -s -o /dev/null -w '%{http_code}' http://b1:8000/", netns="a1") == "200"
    finally:
        procs.stop()

    # The overlay's MTU is the underlay's (1500) less the VXLAN headers (50): a full-size packet
    # with DF set crosses, one byte more does not.
    ping(sim1, "a1", "b1", size=1450 - 28)
    ping(sim1, "a1", "b1", size=1450 - 27, ok=False)

    # sim3 joins: on sim1 and sim2 only the new peer (and the firewall, which accepts its VXLAN),
    # its members' forwarding and ARP entries (their MACs are 02:42 and their addresses, as every
    # host computes) and the hosts files change.
    three = dict(two, sim3=TWO_EACH["sim3"])
    joined = site.run([OVERLAY], HOSTS, three)
    assert not joined.failed and joined.changed, joined
    vxlan = VXLAN
    peerdb = []
    for sandbox in TWO_EACH["sim3"]:
        (eth0,) = json.loads(sh(sim3, "ip -j addr show eth0", netns=sandbox["name"]))
        ip = next(a["local"] for a in eth0["addr_info"] if a["family"] == "inet")
        assert eth0["address"] == member_mac(ip)
        peerdb += ["vxlan %s fdb %s" % (vxlan, eth0["address"]), "vxlan %s neigh %s" % (vxlan, ip)]
    for host in (sim1, sim2):
        own = [s["name"] for s in TWO_EACH[host.name]]
        # The boot-time restore's file too: it holds the fleet the overlay spans, sim3 now included.
        assert objects(joined, host.name) == sorted(["vxlan %s peer %s" % (vxlan, sim3.address), "vxlan %s firewall" % vxlan] + peerdb
                                                    + ["file /etc/netns/%s/hosts" % n for n in own] + [DECLARED]), joined
    everyone_pings_everyone_by_name(fleet, three)
    assert not site.run([OVERLAY], HOSTS, three).changed

    # sim3's sandboxes go: their names leave the other hosts' hosts files, their entries the VXLAN devices.
    gone = dict(two, sim3=[dict(s, state="absent") for s in TWO_EACH["sim3"]])
    left = site.run([OVERLAY], HOSTS, gone)
    assert not left.failed and left.changed, left
    assert sh(sim3, "ls /run/netns").split() == []
    for host in (sim1, sim2):
        assert objects(left, host.name) == sorted(["file /etc/netns/%s/hosts" % s["name"] for s in TWO_EACH[host.name]] + peerdb
                                                  + [DECLARED])
    assert "c1" not in sh(sim1, "cat /etc/netns/a1/hosts")
    assert sim1.run("ip netns exec a1 getent hosts c1", check=False).returncode != 0
    everyone_pings_everyone_by_name(fleet, two)


def test_an_overlay_is_isolated_from_other_networks_as_on_one_host(lab, site):
    fleet = lab
    sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
    sandboxes = {"sim1": [{"name": "a1", "network_mode": "ov0", "publish": ["8080:80"]}, {"name": "x1", "network_mode": "br0"}],
                 "sim2": [{"name": "b1", "network_mode": "ov0"}, {"name": "y1", "network_mode": "br0"}]}
    overlay = dict(OVERLAY, dns=True)  # with its resolver on each host
    before = [snapshot(h) for h in (sim1, sim2)]
    check = site.run([overlay, LOCAL], ["sim1", "sim2"], sandboxes, check=True)
    assert not check.failed and check.changed, check
    for host, was in zip((sim1, sim2), before, strict=True):
        assert_unchanged(was, snapshot(host), "check mode on %s" % host.name)
    run = site.run([overlay, LOCAL], ["sim1", "sim2"], sandboxes)
    assert not run.failed, run
    # sim1 has index 0 (slice .0/28, its bridge .1), sim2 index 1 (slice .16/28, its bridge .16).
    a1, b1, x1 = "10.231.200.2", "10.231.200.17", "10.231.201.2"
    assert sh(sim1, "grep ^nameserver /etc/resolv.conf", netns="a1").split() == ["nameserver", "10.231.200.1"]
    ping(sim1, "a1", b1)
    ping(sim1, "a1", "10.231.200.1")    # its gateway: its own host's bridge
    ping(sim2, "b1", "10.231.200.16")
    ping(sim1, "x1", a1, ok=False)      # from a local network of the same host into the overlay
    ping(sim2, "y1", a1, ok=False)      # ... of another host of the overlay
    ping(sim2, "y1", b1, ok=False)
    ping(sim1, "a1", x1, ok=False)      # from the overlay into a local network
    procs = Processes()                 # published ports work as on a bridge network
    try:
        procs.start(sim1, "ip netns exec a1 /usr/bin/python3 -m http.server 80")
        sh(sim1, "for i in $(seq 300); do ip netns exec a1 curl -s -o /dev/null http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1")
        assert status(sim2, "http://%s:8080/" % sim1.address) == "200"
        # The overlay's resolver on each host (its bridge address there) answers the overlay's
        # members (each asks its own host's: another host's bridge address is no neighbour of the
        # overlay's VXLAN devices); not a member of another network, nor a machine of the LAN.
        sim3 = fleet.host("sim3")
        wait_resolver(sim1, "10.231.200.1", "b1")
        wait_resolver(sim2, "10.231.200.16", "a1")
        assert resolver_answers(sim1, "10.231.200.1", "b1", "a1") == {"dns"}
        assert resolver_answers(sim2, "10.231.200.16", "a1", "b1") == {"dns"}
        assert resolver_answers(sim1, "10.231.200.1", "a1", "x1") == resolver_answers(sim2, "10.231.200.16", "b1", "y1") == {None}
        assert resolver_answers(sim2, "10.231.200.1", "a1", "y1") == {None}
        sh(sim3, "ip route add 10.231.200.1/32 via %s" % sim1.address)
        assert resolver_answers(sim3, "10.231.200.1", "a1") == {None}, "the LAN, through sim1's own cable"
    finally:
        procs.stop()
        fleet.host("sim3").run("ip route del 10.231.200.1/32", check=False)


def said(run):
    """What the run printed (stdout and stderr), its lines joined as one: Ansible wraps warnings."""
    return " ".join((run.stdout + run.stderr).split())


def test_hosts_whose_underlay_mtus_differ_are_warned_until_the_overlay_declares_one(lab, site):
    """sim2's lab link has MTU 1400 (inside the simulated host), sim1's 1500: each derives its own
    overlay MTU (1350, 1450), and a packet of 1450 from sim1 is dropped on its way to sim2. The run
    warns, naming each host and the mtu to set; check mode does so before any change."""
    sim1, sim2 = lab.host("sim1"), lab.host("sim2")
    two = {"sim1": [{"name": "a1", "network_mode": "ov0"}], "sim2": [{"name": "b1", "network_mode": "ov0"}]}
    a1, b1 = "10.231.200.2", "10.231.200.17"
    mismatch = ("netmodes_networks[0] (ov0): the hosts of this overlay have different MTUs: 1450 on sim1 (eth0 1500 less 50), 1350 on"
                " sim2 (eth0 1400 less 50); a packet larger than 1350 that sim1 sends (up to 1450) is dropped without an error on its way"
                " to sim2 (a path MTU black hole); set mtu: 1350 on the network, the smallest its hosts' underlays carry")
    sh(sim2, "ip link set eth0 mtu 1400")
    try:
        before = [snapshot(h) for h in (sim1, sim2)]
        check = site.run([OVERLAY], ["sim1", "sim2"], two, check=True)
        assert not check.failed and mismatch in said(check), check
        for host, was in zip((sim1, sim2), before, strict=True):
            assert_unchanged(was, snapshot(host), "check mode on %s" % host.name)
        run = site.run([OVERLAY], ["sim1", "sim2"], two)
        assert not run.failed and mismatch in said(run), run
        ping(sim1, "a1", b1, size=1350 - 28)
        ping(sim1, "a1", b1, size=1450 - 28, ok=False)   # what the warning is about: sim1's MTU lets it go, sim2's link drops it

        # An mtu more than sim2's underlay carries: sim2 warns (its own check, before the change); both
        # hosts then agree, so no mismatch; sim1's full-size packets still die at sim2's link.
        beyond = site.run([dict(OVERLAY, mtu=1450)], ["sim1", "sim2"], two)
        assert not beyond.failed and "different MTUs" not in said(beyond), beyond
        assert ("netmodes_networks[0] (ov0): mtu 1450 is more than this host's underlay carries: eth0 has MTU 1400, less 50 for the"
                " VXLAN headers leaves 1350") in said(beyond), beyond
        assert [bool(r.get("warnings")) for r in beyond.results("sim2") if "overlays" in r] == [True], "sim2's own warning"
        assert not any(r.get("warnings") for r in beyond.results("sim1") if "overlays" in r), "sim1's underlay carries it"
        ping(sim1, "a1", b1, size=1450 - 28, ok=False)
        refused = sim2.run("ip netns exec b1 ping -c 1 -W 2 -M do -s %d %s" % (1450 - 28, a1), check=False)
        # sim2's kernel refuses it going out: "Frag needed and DF set (mtu = 1350)", then from its cache "mtu=1350"
        assert refused.returncode != 0 and re.search(r"mtu ?= ?1350", refused.stdout + refused.stderr), refused

        # The fix the warning names: no warning, and the network's MTU crosses both ways.
        fixed = site.run([dict(OVERLAY, mtu=1350)], ["sim1", "sim2"], two)
        assert not fixed.failed and fixed.changed, fixed
        assert "different MTUs" not in said(fixed) and "underlay carries" not in said(fixed), fixed
        for host, netns, other in ((sim1, "a1", b1), (sim2, "b1", a1)):
            assert sh(host, "cat /sys/class/net/eth0/mtu", netns=netns).strip() == "1350"
            assert sh(host, "cat /sys/class/net/ov0/mtu /sys/class/net/%s/mtu" % VXLAN).split() == ["1350", "1350"]
            ping(host, netns, other, size=1350 - 28)
            ping(host, netns, other, size=1350 - 27, ok=False)
    finally:
        sh(sim2, "ip link set eth0 mtu 1500")


def test_macvlan_on_the_lab_segment_with_the_host_shim(lab, site):
    _segment_with_shim(lab, site, "macvlan")


def test_ipvlan_on_the_lab_segment_with_the_host_shim(lab, site):
    refused = kernel_refuses_ipvlan(lab.host("sim1"))  # the kernel is asked, not the product
    if refused:
        pytest.skip("this kernel has no ipvlan: %s" % refused)
    _segment_with_shim(lab, site, "ipvlan")


def _segment_with_shim(fleet, site, driver):
    sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
    lab = sim1.address.rsplit(".", 1)[0]
    # The harness uses .1 (the lab bridge) and .11-.13 (the hosts): the upper half is free.
    network = {"name": "lan", "driver": driver, "hosts": "ov", "parent": "eth0", "subnet": "%s.0/24" % lab,
               "gateway": "%s.1" % lab, "ip_range": "%s.128/25" % lab, "max_hosts": 8, "shim": True}
    sandboxes = {"sim1": [{"name": "m1", "network_mode": "lan"}, {"name": "x1", "network_mode": "br0"}],
                 "sim2": [{"name": "m2", "network_mode": "lan"}]}
    run = site.run([network, LOCAL], ["sim1", "sim2"], sandboxes)
    assert not run.failed and run.changed, (run, [r["result"].get("msg") for r in run.records if r["status"] == "failed"])
    m1, shim1, m2, shim2 = "%s.129" % lab, "%s.128" % lab, "%s.145" % lab, "%s.144" % lab
    # names: the network's resolver on sim1 listens on its shim (issue 18); m1 lists no member
    assert sh(sim1, "grep ^nameserver /etc/resolv.conf", netns="m1").split() == ["nameserver", shim1]
    assert "m2" not in sh(sim1, "cat /etc/hosts", netns="m1")
    ping(sim1, "m1", m2)                                       # across hosts, on the segment
    ping(sim2, "m2", m1)
    ping(sim1, "m1", shim1)                                    # its own host, through the shim
    assert sim1.run("ping -c 1 -W 2 %s" % m1, check=False).returncode == 0, "the host reaches its sandbox"
    assert sim2.run("ping -c 1 -W 2 %s" % m2, check=False).returncode == 0
    ping(sim2, "m2", shim2)
    route = json.loads(sh(sim1, "ip -j route show default", netns="m1"))
    assert [(r["gateway"], r["dev"]) for r in route] == [("%s.1" % lab, "eth0")], "the segment's gateway"
    # The network's resolver on sim1 (its shim) answers its members there, and not a member of
    # another network of sim1 (which reaches the shim's address through its own bridge). A member
    # on another host asks its own host's; to this one it may come in through the parent (which
    # answers ARP for the shim's address too), as the LAN does, and is not let in.
    wait_resolver(sim1, shim1, "m2")
    assert resolver_answers(sim1, shim1, "m2", "m1") == {"dns"}
    assert resolver_answers(sim1, shim1, "m2", "x1") == {None}
    again = site.run([network, LOCAL], ["sim1", "sim2"], sandboxes)
    assert not again.failed and not again.changed, "a second run changed something\n%r" % again


def names_in_hosts_file(host, netns):
    """The lines of NETNS's hosts file that name the lab's addresses (10.231.*), as written."""
    return [line for line in sh(host, "cat /etc/netns/%s/hosts" % netns).splitlines() if line.startswith("10.231.")]


def test_a_shared_alias_resolves_to_every_member_from_every_member(lab, site):
    """Issue 15, item 6: as Docker's resolver answers an alias with every member that has it, the
    hosts file of every member lists all of them: on an overlay and a macvlan network across
    hosts (members from the inventory) and on a local network, in the documented order."""
    fleet = lab
    sim1, sim2, sim3 = (fleet.host(h) for h in HOSTS)
    lab_net = sim1.address.rsplit(".", 1)[0]
    lan = {"name": "lan", "driver": "macvlan", "hosts": "ov", "parent": "eth0", "subnet": "%s.0/24" % lab_net,
           "gateway": "%s.1" % lab_net, "ip_range": "%s.128/25" % lab_net, "max_hosts": 8}
    sandboxes = {
        "sim1": [{"name": "a1", "network_mode": "ov0", "aliases": ["api"]}, {"name": "a2", "network_mode": "ov0"},
                 {"name": "x1", "network_mode": "br0", "aliases": ["cache"]}, {"name": "x2", "network_mode": "br0", "aliases": ["cache"]},
                 {"name": "m1", "network_mode": "lan", "aliases": ["db"]}],
        "sim2": [{"name": "b1", "network_mode": "ov0", "aliases": ["api"]}, {"name": "m2", "network_mode": "lan", "aliases": ["db"]}],
        "sim3": [{"name": "c1", "network_mode": "ov0", "aliases": ["api"]}],
    }
    run = site.run([OVERLAY, LOCAL, lan], HOSTS, sandboxes)
    assert not run.failed and run.changed, (run, [r["result"].get("msg") for r in run.records if r["status"] == "failed"])
    # ov0: sim1's slice .0/28 (bridge .1), sim2's .16/28 (bridge .16), sim3's .32/28 (bridge .32);
    # lan: sim1's slice .128/28 (shim .128), sim2's .144/28; br0 is sim1's own (gateway .1).
    a1, a2, b1, c1 = "10.231.200.2", "10.231.200.3", "10.231.200.17", "10.231.200.33"
    x1, x2 = "10.231.201.2", "10.231.201.3"
    m1, m2 = "%s.129" % lab_net, "%s.145" % lab_net
    api = [a1 + "\tapi", b1 + "\tapi", c1 + "\tapi"]
    expected = {
        (sim1, "a1"): [a1 + "\ta1"] + api + [a2 + "\ta2", b1 + "\tb1", c1 + "\tc1"],
        (sim1, "a2"): [a2 + "\ta2", a1 + "\ta1"] + api + [b1 + "\tb1", c1 + "\tc1"],
        (sim2, "b1"): [b1 + "\tb1", a1 + "\ta1"] + api + [a2 + "\ta2", c1 + "\tc1"],
        (sim3, "c1"): [c1 + "\tc1", a1 + "\ta1"] + api + [a2 + "\ta2", b1 + "\tb1"],
        (sim1, "x1"): [x1 + "\tx1", x1 + "\tcache", x2 + "\tcache", x2 + "\tx2"],
        (sim1, "x2"): [x2 + "\tx2", x1 + "\tx1", x1 + "\tcache", x2 + "\tcache"],
        (sim1, "m1"): [m1 + "\tm1", m1 + "\tdb", m2 + "\tdb", m2 + "\tm2"],
        (sim2, "m2"): [m2 + "\tm2", m1 + "\tm1", m1 + "\tdb", m2 + "\tdb"],
    }
    for (host, netns), lines in expected.items():
        assert names_in_hosts_file(host, netns) == lines, "%s: %s" % (host.name, netns)
    # and the resolver inside every member answers with every member that has the alias
    for (host, netns), alias, members in [((sim1, "a1"), "api", [a1, b1, c1]), ((sim1, "a2"), "api", [a1, b1, c1]),
                                          ((sim2, "b1"), "api", [a1, b1, c1]), ((sim3, "c1"), "api", [a1, b1, c1]),
                                          ((sim1, "x1"), "cache", [x1, x2]), ((sim1, "x2"), "cache", [x1, x2]),
                                          ((sim1, "m1"), "db", [m1, m2]), ((sim2, "m2"), "db", [m1, m2])]:
        found = [line.split()[0] for line in sh(host, "getent hosts %s" % alias, netns=netns).splitlines()]
        assert found == members, "%s: %s: getent hosts %s" % (host.name, netns, alias)
    again = site.run([OVERLAY, LOCAL, lan], HOSTS, sandboxes)
    assert not again.failed and not again.changed, "a second run changed something\n%r" % again


def test_a_resolver_s_members_are_in_no_hosts_file(lab, site):
    """Issue 18: with its resolver (dns, the default) an overlay's members ask it, on their own
    host's bridge, and their hosts files list no member: a host joining changes no file."""
    fleet = lab
    sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
    resolving = dict(OVERLAY, dns=True)
    two = {"sim1": TWO_EACH["sim1"], "sim2": TWO_EACH["sim2"]}
    run = site.run([resolving], ["sim1", "sim2"], two)
    assert not run.failed and run.changed, run
    for host, netns, bridge in ((sim1, "a1", "10.231.200.1"), (sim2, "b1", "10.231.200.16")):
        assert sh(host, "grep ^nameserver /etc/resolv.conf", netns=netns).split() == ["nameserver", bridge], "its host's bridge"
        assert [line for line in sh(host, "cat /etc/hosts", netns=netns).splitlines() if line.startswith("10.231.")] == [
            ("10.231.200.2\ta1" if netns == "a1" else "10.231.200.17\tb1")], "its own line only"
    three = dict(two, sim3=TWO_EACH["sim3"])
    joined = site.run([resolving], HOSTS, three)
    assert not joined.failed and joined.changed, joined
    for host in (sim1, sim2):
        assert not [o for o in objects(joined, host.name) if o.startswith("file /etc/netns/")], "no sandbox file changes"
        assert RESOLVER in objects(joined, host.name), "the resolver's hosts file follows the members of every host"
    # a process asks the resolver: sim3's members are answered on sim1 and sim2 once the run is done
    for host, netns in ((sim1, "a1"), (sim2, "b1")):
        for member in TWO_EACH["sim3"]:
            assert sh(host, "getent hosts %s" % member["name"], netns=netns).split()[1] == member["name"]
