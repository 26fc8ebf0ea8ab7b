# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.modules.vxlan import Vxlan

ZERO = "00:00:00:00:00:00"
VX = {"name": "vx0", "vni": 4242, "local": "10.231.1.11", "bridge": "br0", "peers": ["10.231.1.12", "10.231.1.13"]}
PEERDB = {"fdb": [{"mac": "02:42:0a:00:00:0c", "dst": "10.231.1.12"}, {"mac": "02:42:0a:00:00:0d", "dst": "10.231.1.13"}],
          "neigh": [{"ip": "10.231.200.12", "mac": "02:42:0a:00:00:0c"}, {"ip": "10.231.200.13", "mac": "02:42:0a:00:00:0d"}]}


def underlay(kernel, address="10.231.1.11/24", mtu=1500, name="eth0"):
    kernel.links[(None, name)] = Link(name, 90 + len(kernel.links), "veth", mtu, "02:00:00:00:00:90", True,
                                      addresses=interfaces([address], "a"))


@pytest.fixture
def world(converge, kernel):
    underlay(kernel)
    converge(Bridge, name="br0", addresses=["10.231.200.1/24"])


def ops_of(result):
    return [(o["action"], o["object"], o.get("field")) for o in result["operations"]]


def test_create_four_steps(world, four_steps, kernel):
    result = four_steps(Vxlan, **VX)
    assert ops_of(result) == [
        ("create", "vxlan vx0", None),
        ("create", "vxlan vx0 peer 10.231.1.12", None), ("create", "vxlan vx0 peer 10.231.1.13", None),
        ("create", "vxlan vx0 firewall", None),
        ("set", "vxlan vx0", "mtu"), ("set", "vxlan vx0", "master"), ("set", "vxlan vx0", "state")]
    assert result["operations"][0]["after"] == {"vni": 4242, "local": "10.231.1.11", "dstport": 4789}
    link = kernel.link("vx0")
    assert link.kind == "vxlan" and link.ours and link.up and link.master == "br0"
    assert link.mtu == 1450, "the underlay's 1500 less the 50 bytes of VXLAN over IPv4"
    assert link.info["learning"] is True, "without a peerdb a new device keeps the kernel's default"
    assert kernel.vxlan_fdb("vx0") == {(ZERO, ipaddress.ip_address("10.231.1.12")), (ZERO, ipaddress.ip_address("10.231.1.13"))}
    assert result["peers"] == ["10.231.1.12", "10.231.1.13"] and result["vni"] == 4242 and result["dstport"] == 4789


@pytest.mark.parametrize("address, mtu, local, want", [
    ("10.231.1.11/24", 9000, "10.231.1.11", 8950),
    ("fd42:231::11/64", 1500, "fd42:231::11", 1430),
])
def test_mtu_is_the_underlays_less_the_encapsulation(converge, kernel, address, mtu, local, want):
    underlay(kernel, address, mtu)
    converge(Vxlan, name="vx0", vni=7, local=local)
    assert kernel.link("vx0").mtu == want


def test_the_underlay_is_the_link_carrying_local(converge, kernel):
    underlay(kernel, "10.231.1.11/24", 1500, "eth0")
    underlay(kernel, "10.231.9.11/24", 9000, "eth1")
    converge(Vxlan, name="vx0", vni=7, local="10.231.9.11")
    assert kernel.link("vx0").mtu == 8950


def test_an_explicit_mtu_wins(world, converge, kernel):
    converge(Vxlan, mtu=1400, **VX)
    assert kernel.link("vx0").mtu == 1400


@pytest.mark.parametrize("peers, action", [
    (VX["peers"] + ["10.231.1.14"], ("create", "vxlan vx0 peer 10.231.1.14", None)),
    (VX["peers"][:1], ("delete", "vxlan vx0 peer 10.231.1.13", None)),
])
def test_one_peer_more_or_less_is_exactly_one_op_and_the_firewall(world, converge, kernel, firewall, peers, action):
    converge(Vxlan, **VX)
    check = converge(Vxlan, check=True, **dict(VX, peers=peers))
    filtered = ("set", "vxlan vx0 firewall", "peers")
    assert sorted(ops_of(check)) == sorted([action, filtered])
    calls, commits = len(kernel.calls), firewall.commits
    result = converge(Vxlan, **dict(VX, peers=peers))
    assert ops_of(result) == ops_of(check) and firewall.commits == commits + 1
    (call,) = kernel.calls[calls:]
    assert call[0] == ("fdb_add" if action[0] == "create" else "fdb_delete") and call[2:] == (ZERO, action[1].split()[-1])
    assert kernel.vxlan_fdb("vx0") == {(ZERO, ipaddress.ip_address(p)) for p in peers}
    assert not converge(Vxlan, **dict(VX, peers=peers))["changed"]


def test_the_diff_of_a_new_peer(world, converge):
    converge(Vxlan, **VX)
    result = converge(Vxlan, check=True, **dict(VX, peers=VX["peers"] + ["10.231.1.14"]))
    assert result["diff"] == {"before": {"vxlan vx0 firewall": {"peers": VX["peers"]}},
                              "after": {"vxlan vx0 peer 10.231.1.14": {"mac": ZERO},
                                        "vxlan vx0 firewall": {"peers": VX["peers"] + ["10.231.1.14"]}}}


def test_peers_omitted_are_left_alone_and_empty_removes_them(world, converge, kernel):
    converge(Vxlan, **VX)
    assert not converge(Vxlan, **dict(VX, peers=None))["changed"]
    result = converge(Vxlan, **dict(VX, peers=[]))
    assert ops_of(result) == [("set", "vxlan vx0 firewall", "peers"), ("delete", "vxlan vx0 peer 10.231.1.12", None),
                              ("delete", "vxlan vx0 peer 10.231.1.13", None)]
    assert result["operations"][0]["after"] == [], "VXLAN is accepted from nobody"
    assert kernel.vxlan_fdb("vx0") == frozenset()


def test_peerdb_four_steps_turns_learning_off_and_arp_proxy_on(world, four_steps, kernel):
    result = four_steps(Vxlan, **dict(VX, **PEERDB))
    link = kernel.link("vx0")
    assert link.info["learning"] is False and link.info["proxy"] is True
    assert kernel.neighbours("vx0") == {ipaddress.ip_address("10.231.200.12"): "02:42:0a:00:00:0c",
                                        ipaddress.ip_address("10.231.200.13"): "02:42:0a:00:00:0d"}
    assert result["fdb"] == [{"mac": "02:42:0a:00:00:0c", "dst": "10.231.1.12"}, {"mac": "02:42:0a:00:00:0d", "dst": "10.231.1.13"}]
    assert result["neigh"] == [{"ip": "10.231.200.12", "mac": "02:42:0a:00:00:0c"}, {"ip": "10.231.200.13", "mac": "02:42:0a:00:00:0d"}]
    assert result["learning"] is False and result["proxy"] is True


def test_a_member_moving_changes_only_its_entries(world, converge, kernel):
    converge(Vxlan, **dict(VX, **PEERDB))
    moved = {"fdb": [PEERDB["fdb"][0], {"mac": "02:42:0a:00:00:0d", "dst": "10.231.1.12"}],
             "neigh": [PEERDB["neigh"][0], {"ip": "10.231.200.13", "mac": "02:42:0a:00:00:0e"}]}
    result = converge(Vxlan, **dict(VX, **moved))
    assert result["operations"] == [
        {"action": "set", "object": "vxlan vx0 fdb 02:42:0a:00:00:0d", "field": "dst", "before": "10.231.1.13", "after": "10.231.1.12"},
        {"action": "set", "object": "vxlan vx0 neigh 10.231.200.13", "field": "mac", "before": "02:42:0a:00:00:0d", "after": "02:42:0a:00:00:0e"}]
    gone = converge(Vxlan, **dict(VX, fdb=PEERDB["fdb"][:1], neigh=PEERDB["neigh"][:1]))
    assert ops_of(gone) == [("delete", "vxlan vx0 fdb 02:42:0a:00:00:0d", None), ("delete", "vxlan vx0 neigh 10.231.200.13", None)]
    assert len(kernel.vxlan_fdb("vx0")) == 3 and len(kernel.neighbours("vx0")) == 1


def test_learning_changes_in_place(world, converge, kernel):
    converge(Vxlan, **VX)
    index = kernel.link("vx0").index
    result = converge(Vxlan, learning=False, **VX)
    assert result["operations"] == [{"action": "set", "object": "vxlan vx0", "field": "vxlan_learning", "before": True, "after": False}]
    assert kernel.link("vx0").index == index and kernel.link("vx0").info["learning"] is False
    assert not converge(Vxlan, **VX)["changed"], "learning omitted without a peerdb is left as it is"


@pytest.mark.parametrize("change, before, after", [
    ({"vni": 4243}, {"vni": 4242}, {"vni": 4243}),
    ({"dstport": 8472}, {"dstport": 4789}, {"dstport": 8472}),
    ({"local": "10.231.1.21"}, {"local": "10.231.1.11"}, {"local": "10.231.1.21"}),
    ({"neigh": []}, {"proxy": False}, {"proxy": True}),
])
def test_what_the_kernel_cannot_change_is_one_recreate(world, converge, kernel, change, before, after):
    kernel.links[(None, "eth0")].addresses |= interfaces(["10.231.1.21/24"], "a")
    converge(Vxlan, **VX)
    index = kernel.link("vx0").index
    result = converge(Vxlan, check=True, **dict(VX, **change))
    assert result["operations"][0] == {"action": "recreate", "object": "vxlan vx0", "before": before, "after": after}
    assert result["diff"]["before"]["vxlan vx0"] == before
    assert [o["action"] for o in result["operations"]].count("recreate") == 1
    converge(Vxlan, **dict(VX, **change))
    link = kernel.link("vx0")
    assert link.index != index and link.master == "br0" and link.mtu == 1450 and link.up
    assert len(kernel.vxlan_fdb("vx0")) == 2, "the peers' entries are made again on the new device"
    assert not converge(Vxlan, **dict(VX, **change))["changed"]


def test_absent_four_steps(world, converge, four_steps, kernel):
    converge(Vxlan, **dict(VX, **PEERDB))
    result = four_steps(Vxlan, name="vx0", state="absent")
    assert result["operations"] == [{"action": "delete", "object": "vxlan vx0", "before": {"vni": 4242}},
                                    {"action": "delete", "object": "vxlan vx0 firewall", "before": {"peers": ["10.231.1.12", "10.231.1.13"]}}]
    assert kernel.link("vx0") is None and kernel.fdb == {} and kernel.link("br0") is not None


@pytest.mark.parametrize("link, fragment", [
    (Link("vx0", 7, "vxlan", 1450, "02:00:00:00:00:07", True, alias="", info={"vni": 1}), "not created by netmodes.linux"),
    (Link("vx0", 7, "bridge", 1500, "02:00:00:00:00:07", True, alias="netmodes.linux bridge"), "is a bridge link, not a vxlan"),
])
def test_links_that_are_not_our_vxlans_are_left_alone(world, converge, kernel, link, fragment):
    kernel.links[(None, "vx0")] = link
    calls = len(kernel.calls)
    for state in ("present", "absent"):
        with pytest.raises(Conflict, match=fragment):
            converge(Vxlan, **dict(VX, state=state))
    assert len(kernel.calls) == calls


@pytest.mark.parametrize("options, error, fragment", [
    (dict(VX, vni=0), InvalidInput, r"vni: 0 is outside 1\.\.16777215 .*; give one in 1\.\.16777215"),
    (dict(VX, vni=16777216), InvalidInput, r"vni: 16777216 is outside 1\.\.16777215 .*; give one in 1\.\.16777215"),
    (dict(VX, vni="ten"), InvalidInput, r"vni: 'ten' is not a number; give one in 1\.\.16777215"),
    (dict(VX, vni=None), InvalidInput, "vni: required with state=present"),
    (dict(VX, local=None), InvalidInput, "local: required with state=present"),
    (dict(VX, local="10.231.1"), InvalidInput, "local: '10.231.1' is not a valid IP address"),
    (dict(VX, dstport=70000), InvalidInput, r"dstport: 70000 is outside 1\.\.65535 \(a UDP port\); give one in 1\.\.65535"),
    (dict(VX, mtu=20), InvalidInput, "mtu: MTU 20 is outside"),
    (dict(VX, name="vxlan-overlay-one"), InvalidInput, "name: interface name 'vxlan-overlay-one' is 17 bytes"),
    (dict(VX, peers=["10.231.1.12", "fd42::12"]), InvalidInput, r"peers\[1\]: fd42::12 is IPv6, the underlay is IPv4"),
    (dict(VX, peers=["10.231.1.11"]), InvalidInput, "peers: 10.231.1.11 is this host's own local address"),
    (dict(VX, fdb=[{"mac": "02:42:0a:00:00:0c"}]), InvalidInput, r"fdb\[0\]: an entry is a dict with exactly 'mac' and 'dst'"),
    (dict(VX, fdb=[{"mac": ZERO, "dst": "10.231.1.12"}]), InvalidInput, r"fdb\[0\].mac: the all-zero MAC is the default destination"),
    (dict(VX, fdb=[{"mac": "02:42:0a:00:00:0c", "dst": "10.231.1.12"}, {"mac": "02:42:0A:00:00:0C", "dst": "10.231.1.13"}]),
     InvalidInput, r"fdb\[1\]: mac 02:42:0a:00:00:0c is listed twice"),
    (dict(VX, neigh=[{"ip": "10.231.200", "mac": "02:42:0a:00:00:0c"}]), InvalidInput, r"neigh\[0\].ip: '10.231.200' is not a valid IP address"),
    (dict(VX, neigh=[{"ip": "10.231.200.12", "mac": "01:00:5e:00:00:01"}]), InvalidInput, r"neigh\[0\].mac: 01:00:5e:00:00:01 is a multicast"),
    (dict(VX, local="10.231.5.11"), NotFound, "local: 10.231.5.11 is not an address of any link on this host"),
    (dict(VX, bridge="br9"), NotFound, "bridge: br9 does not exist"),
    (dict(VX, bridge="eth0"), Conflict, r"bridge: eth0 is a veth link, not a bridge; name a bridge \(netmodes.linux.bridge makes one\)"),
])
def test_bad_input_fails_before_anything_changes(world, refused, options, error, fragment):
    refused(Vxlan, error, fragment, **options)


def test_check_mode_plans_through_what_earlier_tasks_would_make(converge, kernel):
    # In check mode the bridge task and the task giving the host its underlay address made nothing.
    result = converge(Vxlan, check=True, **VX)
    assert result["changed"] and kernel.calls == []
    assert [o["action"] for o in result["operations"]][:3] == ["create", "create", "create"]
    assert any("local: 10.231.1.11 is not an address" in w for w in result["warnings"])
    assert any("bridge: br0 does not exist" in w for w in result["warnings"])


# -- who may send the device VXLAN (issue 13, item 13) ---------------------------------------------

def admitted_by(result, name="vx0"):
    """Whom the firewall op of device NAME in RESULT admits."""
    (op,) = [o for o in result["operations"] if o["object"] == "vxlan %s firewall" % name]
    return op["after"]["peers"] if op["action"] == "create" else op["after"]


def test_vxlan_is_admitted_from_the_devices_remotes_only(world, converge, firewall):
    result = converge(Vxlan, **dict(VX, peers=["10.231.1.12"], fdb=PEERDB["fdb"], neigh=PEERDB["neigh"]))
    assert admitted_by(result) == ["10.231.1.12", "10.231.1.13"], "the peers and the hosts of the fdb entries"
    assert firewall.owners() == {"vxlan:vx0", "bridge:br0", "sysctl:ledger"}, "br0 masquerades: eth0 forwards, guarded"
    assert not converge(Vxlan, name="vx0", vni=4242, local="10.231.1.11")["changed"], "remotes not managed: those it has"
    result = converge(Vxlan, **dict(VX, peers=["10.231.1.12"], fdb=PEERDB["fdb"][:1], neigh=PEERDB["neigh"][:1]))
    assert admitted_by(result) == ["10.231.1.12"]
    assert converge(Vxlan, **dict(VX, vni=4243, peers=["10.231.1.12"], fdb=PEERDB["fdb"][:1], neigh=PEERDB["neigh"][:1]))["changed"]
    chain = [rule for where, rule in firewall.owned("vxlan:vx0") if where == "vxlan-vx0"]
    assert all({"match": {"op": "==", "left": {"payload": {"base": "th", "offset": 96, "len": 24}}, "right": 4243}} in r for r in chain)


def test_a_device_gone_behind_our_back_leaves_a_filter_that_absent_removes(world, converge, kernel, firewall):
    converge(Vxlan, **VX)
    kernel.link_delete("vx0")
    result = converge(Vxlan, name="vx0", state="absent")
    assert result["operations"] == [{"action": "delete", "object": "vxlan vx0 firewall", "before": {"peers": "those of a device that is gone"}}]
    assert firewall.owners() == {"bridge:br0", "sysctl:ledger"}


@pytest.mark.parametrize("each_firewall", ["iptables"], indirect=True)
def test_the_iptables_backend_filters_both_families(converge, kernel, adapters, each_firewall):
    adapters["firewall"] = each_firewall
    underlay(kernel, "fd42:231::11/64")
    result = converge(Vxlan, name="vx0", vni=7, local="fd42:231::11", peers=["fd42:231::12"])
    assert admitted_by(result, "vx0") == ["fd42:231::12"] and "warnings" not in result
    underlay(kernel, "10.231.1.11/24", name="eth1")
    result = converge(Vxlan, name="vx1", vni=8, local="10.231.1.11", peers=["10.231.1.12"])
    assert admitted_by(result, "vx1") == ["10.231.1.12"] and "warnings" not in result
