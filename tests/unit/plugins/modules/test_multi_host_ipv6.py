# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 across hosts (issue 17): dual-stack and IPv6-only overlay networks, VXLAN over an IPv6
underlay, dual-stack macvlan networks with the host shim, as one host of three plans them from
the fleet the inventory gives; and the bad inputs of each, refused before anything changes."""

from __future__ import annotations

import hashlib
import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks
from ansible_collections.netmodes.linux.tests.shared.multi_host import lab_host
from ansible_collections.netmodes.linux.tests.shared.multi_host import site as shared_site

OVERLAY = {"name": "ov0", "driver": "overlay", "hosts": "ov", "subnet": ["10.231.140.0/24", "fd31:140::/64"], "ipv6": True}
SIX = {"name": "ov6", "driver": "overlay", "hosts": "ov", "ipv6": True, "ipv4": False}
LAN = {"name": "lan", "driver": "macvlan", "hosts": "ov", "parent": "eth0", "subnet": ["10.231.1.0/24", "fd31:141::/64"],
       "gateway": ["10.231.1.1", "fd31:141::1"], "ip_range": "10.231.1.128/25", "max_hosts": 8, "shim": True, "ipv6": True}
DECLARED = {
    "sim1": [{"name": "a1", "network_mode": "ov0"}],
    "sim2": [{"name": "b1", "network_mode": "ov0"}, {"name": "b2", "network_mode": "ov0"}],
    "sim3": [{"name": "c1", "network_mode": "ov0"}],
}
VXLAN = "nmx55f4bbf11d7"  # sha256("vxlan\0ov0"), written out
SHIM = "nmsf759f04bd99"  # sha256("shim\0lan")
ZERO = "00:00:00:00:00:00"


def fleet(group=("sim1", "sim2", "sim3"), declared=None, host="sim2", underlay="10.231.1.%d"):
    declared = DECLARED if declared is None else declared
    return {"host": host, "groups": {"ov": list(group)},
            "hosts": {h: {"index": None, "underlay": underlay % (10 + int(h[3:])), "sandboxes": declared.get(h, [])} for h in group}}


@pytest.fixture
def sim2(kernel, files):
    """The fake kernel as host sim2: its lab link eth0 carries its underlay addresses, both families."""
    return lab_host(kernel, files, "10.231.1.12/24", "fd31:9b5e:c207:1::12/64")


def site(converge, networks, the_fleet, declared=None, check=False):
    return shared_site(converge, networks, the_fleet, DECLARED if declared is None else declared, check)


def addresses(link):
    return sorted(map(str, link.addresses), key=lambda a: (":" in a, a))


def defaults(link):
    return sorted((str(r.via) for r in link.routes if r.dst.prefixlen == 0), key=lambda a: (":" in a, a))


def hosts_lines(files, netns):
    return [line.replace(" ", "\t") for line in files.files[(netns, "hosts")].splitlines()]


def test_a_dual_stack_overlay_on_one_of_its_hosts(sim2, converge, files):
    networks, made = site(converge, [OVERLAY], fleet())
    assert networks["changed"] and made["changed"]
    # sim2 has index 1: its slices are 10.231.140.16/28 and fd31:140:0:0:1000::/68 (a /64 cut in 16)
    assert addresses(sim2.link("ov0")) == ["10.231.140.16/24", "fd31:140:0:0:1000::/64"]
    b1 = sim2.link("eth0", "b1")
    assert addresses(b1) == ["10.231.140.17/24", "fd31:140::1000:0:0:1/64"]
    assert defaults(b1) == ["10.231.140.16", "fd31:140:0:0:1000::"], "both families via its host's bridge"
    assert b1.ipv6 == "on" and b1.mac == "02:42:0a:e7:8c:11", "an IPv4 member's MAC is still 02:42 and its IPv4 address"
    assert addresses(sim2.link("eth0", "b2")) == ["10.231.140.18/24", "fd31:140::1000:0:0:2/64"]
    # the peerdb: ARP and NDP entries for every member on another host, the same MAC for both
    assert {str(ip): mac for ip, mac in sim2.neighbours(VXLAN).items()} == {
        "10.231.140.2": "02:42:0a:e7:8c:02", "fd31:140::2": "02:42:0a:e7:8c:02",
        "10.231.140.33": "02:42:0a:e7:8c:21", "fd31:140::2000:0:0:1": "02:42:0a:e7:8c:21"}
    fdb = sorted((mac, str(dst)) for mac, dst in sim2.vxlan_fdb(VXLAN) if mac != ZERO)
    assert fdb == [("02:42:0a:e7:8c:02", "10.231.1.11"), ("02:42:0a:e7:8c:21", "10.231.1.13")], "the IPv4 underlay"
    # the network's resolver on sim2 listens on its bridge: b2 names its IPv4 address
    assert "nameserver 10.231.140.16\n" in files.files[("b2", "resolv.conf")]
    assert not any(site(converge, [OVERLAY], fleet())[i]["changed"] for i in (0, 1)), "a second run changes nothing"


def test_without_a_resolver_the_hosts_file_names_members_over_both_families(sim2, converge, files):
    site(converge, [dict(OVERLAY, dns=False)], fleet())
    # a line per family per member, IPv4 first
    lines = hosts_lines(files, "b2")
    for pair in (("10.231.140.2\ta1", "fd31:140::2\ta1"), ("10.231.140.17\tb1", "fd31:140::1000:0:0:1\tb1"),
                 ("10.231.140.33\tc1", "fd31:140::2000:0:0:1\tc1")):
        assert pair[0] in lines and pair[1] in lines and lines.index(pair[0]) < lines.index(pair[1]), lines


def test_an_ipv4_overlays_members_have_no_ipv6_and_the_same_addresses(sim2, converge):
    four = dict(OVERLAY, subnet="10.231.140.0/24", ipv6=False)
    site(converge, [four], fleet())
    b1 = sim2.link("eth0", "b1")
    assert (addresses(b1), b1.mac, b1.ipv6) == (["10.231.140.17/24"], "02:42:0a:e7:8c:11", "off"), "as a bridge network's (Docker 26+)"
    assert addresses(sim2.link("ov0")) == ["10.231.140.16/24"]


def test_an_ipv6_only_overlay_derives_its_subnet_and_macs_alike_on_every_host(sim2, converge, files):
    declared = {"sim1": [{"name": "a1", "network_mode": "ov6"}], "sim2": [{"name": "b1", "network_mode": "ov6"}]}
    site(converge, [SIX], fleet(("sim1", "sim2"), declared), declared)
    bridge = sim2.link("ov6")
    (subnet,) = {a.network for a in bridge.addresses}
    assert subnet.prefixlen == 64 and subnet.subnet_of(_addresses.ula_of("ov6")), "a /64 of the ULA its name gives"
    assert subnet != ipaddress.ip_network("fd00::/64")
    assert all(a.version == 6 for a in bridge.addresses)
    b1 = sim2.link("eth0", "b1")
    (ip,) = [a.ip for a in b1.addresses]
    assert ip == subnet.network_address + (1 << 60) + 1, "the first member address of sim2's slice (index 1 of 16)"
    assert defaults(b1) == [str(subnet.network_address + (1 << 60))]
    # no IPv4 to take a MAC from: 02:42 and sha256 of the IPv6 address, so every host knows it
    mac = "02:42:" + ":".join("%02x" % b for b in hashlib.sha256(ip.packed).digest()[-4:])
    assert b1.mac == mac
    a1 = subnet.network_address + 2  # slice 0: ::1 is sim1's bridge
    a1_mac = "02:42:" + ":".join("%02x" % b for b in hashlib.sha256(a1.packed).digest()[-4:])
    vxlan = "nmx" + hashlib.sha256(b"vxlan\0ov6").hexdigest()[:11]
    assert {str(k): v for k, v in sim2.neighbours(vxlan).items()} == {str(a1): a1_mac}
    # the network's resolver on sim2 listens on its bridge's IPv6 address, the only one it has
    assert "nameserver %s\n" % (subnet.network_address + (1 << 60)) in files.files[("b1", "resolv.conf")]
    assert "a1" not in files.files[("b1", "hosts")]
    site(converge, [dict(SIX, dns=False)], fleet(("sim1", "sim2"), declared), declared)
    assert "%s\ta1" % a1 in hosts_lines(files, "b1") and not any(line.startswith("10.") for line in hosts_lines(files, "b1"))


@pytest.mark.parametrize("network", [OVERLAY, dict(OVERLAY, subnet="10.231.140.0/24", ipv6=False)], ids=["dual-stack", "ipv4"])
def test_vxlan_over_an_ipv6_underlay(sim2, converge, network):
    the_fleet = fleet(underlay="fd31:9b5e:c207:1::%d")
    site(converge, [network], the_fleet)
    vxlan = sim2.link(VXLAN)
    assert str(vxlan.info["local"]) == "fd31:9b5e:c207:1::12"
    assert (vxlan.mtu, sim2.link("ov0").mtu, sim2.link("eth0", "b1").mtu) == (1430, 1430, 1430), "1500 less 70 (IPv6's headers)"
    assert sorted(str(dst) for mac, dst in sim2.vxlan_fdb(VXLAN) if mac == ZERO) == ["fd31:9b5e:c207:1::11", "fd31:9b5e:c207:1::13"]
    assert sorted(str(dst) for mac, dst in sim2.vxlan_fdb(VXLAN) if mac != ZERO) == ["fd31:9b5e:c207:1::11", "fd31:9b5e:c207:1::13"]
    assert not any(site(converge, [network], the_fleet)[i]["changed"] for i in (0, 1))


def test_a_dual_stack_macvlan_network_and_the_host_shim(sim2, converge, files):
    declared = {"sim1": [{"name": "m1", "network_mode": "lan"}], "sim2": [{"name": "m2", "network_mode": "lan", "ip6": "fd31:141::beef"}]}
    the_fleet = fleet(("sim1", "sim2"), declared)
    networks, made = site(converge, [LAN], the_fleet, declared)
    assert networks["changed"] and made["changed"]
    shim = sim2.link(SHIM)
    # sim2 has index 1 of 8: 10.231.1.144/28 of the ip_range, fd31:141:0:0:2000::/67 of the IPv6 subnet
    assert addresses(shim) == ["10.231.1.144/32", "fd31:141:0:0:2000::/128"] and shim.ipv6 == "on"
    assert sorted((str(r.dst) for r in shim.routes), key=len) == ["10.231.1.144/28", "fd31:141:0:0:2000::/67"]
    m2 = sim2.link("eth0", "m2")
    assert addresses(m2) == ["10.231.1.145/24", "fd31:141::beef/64"] and m2.ipv6 == "on"
    assert defaults(m2) == ["10.231.1.1", "fd31:141::1"], "the segment's gateways"
    assert "nameserver 10.231.1.144\n" in files.files[("m2", "resolv.conf")], "the resolver on the shim, IPv4 first"
    assert not any(site(converge, [LAN], the_fleet, declared)[i]["changed"] for i in (0, 1))
    site(converge, [dict(LAN, dns=False)], the_fleet, declared)
    lines = hosts_lines(files, "m2")
    # sim1's slice 0 of the IPv6 subnet: ::1 is the gateway, ::2 sim1's shim, ::3 m1
    assert "10.231.1.129\tm1" in lines and "fd31:141::3\tm1" in lines, lines


def test_ipvlan_is_planned_like_macvlan_for_ipv6_too(sim2, converge):
    """Untested on a kernel (this machine's has no ipvlan): the plan is macvlan's."""
    declared = {"sim2": [{"name": "i2", "network_mode": "lan"}]}
    check = converge(Networks, check=True, config=[dict(LAN, driver="ipvlan", mode="l2")], fleet=fleet(("sim2",), declared))
    (shim,) = [op for op in check["operations"] if op["object"] == "ipvlan %s" % SHIM and op.get("field") == "addresses"]
    assert shim["after"] == ["10.231.1.128/32", "fd31:141::2/128"], "slice 0: fd31:141::1 is the gateway"


@pytest.mark.parametrize(("networks", "declared", "the_fleet", "error", "fragment"), [
    ([dict(OVERLAY, subnet=["10.231.140.0/24", "fd31:140::/124"])], None, None, InvalidInput,
     r"max_hosts: 16 slices of fd31:140::/124 would have 1 addresses each; give a bigger IPv6 subnet or a smaller max_hosts"),
    ([OVERLAY], dict(DECLARED, sim2=[{"name": "b1", "network_mode": "ov0", "ip6": "fd31:999::5"}]), None, InvalidInput,
     r"sandbox b1 of host sim2: ip6 fd31:999::5 is not a host address of network ov0 \(fd31:140::/64\); pick one inside it"),
    ([OVERLAY], dict(DECLARED, sim2=[{"name": "b1", "network_mode": "ov0", "ip6": "fd31:140:0:0:1000::"}]), None, Conflict,
     r"ip6 fd31:140:0:0:1000:: is host sim2's own address on network ov0 \(the first of its slice\); pick another"),
    ([OVERLAY], dict(DECLARED, sim1=[{"name": "a1", "network_mode": "ov0", "ip6": "fd31:140::9"}],
                     sim2=[{"name": "b1", "network_mode": "ov0", "ip6": "fd31:140::9"}]), None, Conflict,
     r"ip6 fd31:140::9 is also the ip6 of sandbox a1 of host sim1; give one of them another"),
    ([dict(OVERLAY, subnet="10.231.140.0/24", ipv6=False)], dict(DECLARED, sim2=[{"name": "b1", "network_mode": "ov0", "ip6": "fd31:140::9"}]),
     None, InvalidInput, r"ip6 fd31:140::9 is an IPv6 address, but network ov0 has no IPv6; give the network ipv6: true or leave ip6 out"),
    ([SIX], {"sim2": [{"name": "b1", "network_mode": "ov6", "ip": "10.231.140.9"}]}, None, InvalidInput,
     r"ip 10.231.140.9 is an IPv4 address, but network ov6 has no IPv4; leave ip out \(the network is IPv6-only\)"),
    ([dict(SIX, ipv6=False)], None, None, InvalidInput, r"ipv4: a network without IPv4 needs IPv6 \(an IPv6-only network\); add ipv6: true"),
    ([dict(SIX, subnet="10.231.140.0/24")], None, None, InvalidInput, r"subnet: 10.231.140.0/24 is an IPv4 subnet but the network has ipv4: false"),
    ([dict(SIX, ip_range="fd31:140::/65")], None, None, InvalidInput, r"ip_range: fd31:140::/65: a range is taken of the IPv4 subnet only"),
    ([dict(LAN, subnet="10.231.1.0/24", gateway="10.231.1.1")], None, None, InvalidInput,
     r"subnet: a macvlan network with ipv6 needs the IPv6 subnet of its segment \(it cannot be picked\)"),
    ([OVERLAY], None, "mixed", InvalidInput,
     r"the hosts of an overlay network reach each other over one IP version, but host sim1 has the IPv4 underlay address 10.231.1.11"
     r" and host sim2 the IPv6 one fd31:9b5e:c207:1::12; set netmodes_underlay_address of every host"),
])
def test_bad_ipv6_across_hosts(sim2, converge, kernel, networks, declared, the_fleet, error, fragment):
    declared = DECLARED if declared is None else declared
    built = fleet(("sim1", "sim2", "sim3"), declared)
    if the_fleet == "mixed":  # sim2 over IPv6, the others over IPv4
        built["hosts"]["sim2"]["underlay"] = "fd31:9b5e:c207:1::12"
    calls = len(kernel.calls)
    with pytest.raises(error, match=fragment):
        site(converge, networks, built, declared)
    assert len(kernel.calls) == calls, "nothing changed"
