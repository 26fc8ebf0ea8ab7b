# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Multi-host networks: what every host computes alike from the inventory (slices, indexes,
member addresses, VNI, hosts files), and the checks of the network declarations."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.filter.fleet import fleet as fleet_filter
from ansible_collections.netmodes.linux.plugins.module_utils import _declaration, _fleet
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput

OVERLAY = {"name": "ov0", "driver": "overlay", "hosts": "ov", "subnet": "10.231.200.0/24"}


def ip(text):
    return ipaddress.ip_address(text)


def net(**extra):
    return _declaration.network_spec(dict(OVERLAY, **extra), "config[0]")


def fleet(host="sim1", hosts=("sim1", "sim2", "sim3"), sandboxes=None, indexes=None):
    raw = {"host": host, "groups": {"ov": list(hosts)},
           "hosts": {h: {"index": (indexes or {}).get(h), "underlay": "10.231.5.%d" % (10 + i),
                         "sandboxes": (sandboxes or {}).get(h, [])} for i, h in enumerate(hosts, 1)}}
    return _fleet.fleet_from(raw)


def members(spec, the_fleet):
    hosts = _fleet.span(spec, the_fleet, "config[0]")
    declared = {h: _declaration.sandbox_specs(the_fleet.hosts[h].sandboxes) for h in hosts}
    return _fleet.members(spec, declared, _fleet.host_indexes(hosts, the_fleet, spec.max_hosts, "config[0]"), "config[0]")


def addresses(found):
    return {(m.host, m.sandbox): str(m.address) for m in found}


# -- host indexes --------------------------------------------------------------------------------

def test_hosts_sort_naturally_so_appending_sim10_keeps_sim2s_index():
    names = ["sim10", "sim2", "sim1", "web-b", "web-a"]
    assert sorted(names, key=_fleet.natural_key) == ["sim1", "sim2", "sim10", "web-a", "web-b"]
    nine = fleet(hosts=["sim%d" % i for i in range(1, 10)])
    ten = fleet(hosts=["sim%d" % i for i in range(1, 11)])
    before = _fleet.host_indexes(_fleet.span(net(), nine, "x"), nine, 16, "x")
    after = _fleet.host_indexes(_fleet.span(net(), ten, "x"), ten, 16, "x")
    assert after == dict(before, sim10=9)


def test_an_explicit_index_is_kept_and_the_others_fill_the_free_ones():
    the_fleet = fleet(indexes={"sim3": 0})
    assert _fleet.host_indexes(("sim1", "sim2", "sim3"), the_fleet, 16, "x") == {"sim3": 0, "sim1": 1, "sim2": 2}


@pytest.mark.parametrize("indexes, max_hosts, fragment", [
    ({"sim1": 1, "sim2": 1}, 16, "sim1 and sim2 both have netmodes_host_index 1; give each host its own"),
    ({"sim2": 4}, 4, "host sim2 has index 4, but the network is cut into max_hosts 4 slices"),
    ({}, 2, "host sim3 has index 2"),
])
def test_host_index_errors_name_the_hosts_and_the_fix(indexes, max_hosts, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        _fleet.host_indexes(("sim1", "sim2", "sim3"), fleet(indexes=indexes), max_hosts, "x")


# -- member addresses -------------------------------------------------------------------------------

SANDBOXES = {
    "sim1": [{"name": "a1", "network_mode": "ov0"}, {"name": "a2", "network_mode": "ov0", "aliases": ["db"]}],
    "sim2": [{"name": "b1", "network_mode": "ov0"}, {"name": "b2", "network_mode": "ov0", "ip": "10.231.200.3"}],
    "sim3": [{"name": "c0", "network_mode": "none"}, {"name": "c1", "network_mode": "ov0"}],
}


def test_member_addresses_come_from_the_owning_hosts_slice_in_declaration_order():
    found = members(net(), fleet(sandboxes=SANDBOXES))
    assert addresses(found) == {
        ("sim1", "a1"): "10.231.200.2", ("sim1", "a2"): "10.231.200.4",   # .3 is b2's static ip
        ("sim2", "b1"): "10.231.200.17", ("sim2", "b2"): "10.231.200.3",
        ("sim3", "c1"): "10.231.200.33"}


def test_every_host_computes_the_same_members():
    assert len({tuple(members(net(), fleet(host=h, sandboxes=SANDBOXES))) for h in ("sim1", "sim2", "sim3")}) == 1


def test_an_absent_sandbox_keeps_its_place_and_is_no_member():
    gone = dict(SANDBOXES, sim1=[dict(SANDBOXES["sim1"][0], state="absent"), SANDBOXES["sim1"][1]])
    found = members(net(), fleet(sandboxes=gone))
    assert addresses(found)[("sim1", "a2")] == "10.231.200.4", "a2 did not move"
    assert [m.present for m in found if m.sandbox == "a1"] == [False]


def test_adding_a_host_changes_no_address_of_the_others():
    two = members(net(), fleet(hosts=("sim1", "sim2"), sandboxes=SANDBOXES))
    three = members(net(), fleet(sandboxes=SANDBOXES))
    assert set(two) < set(three)


def test_a_second_network_is_eth1_and_gets_an_address_of_its_own_slice():
    extra = {"sim1": [{"name": "a1", "network_mode": "br0", "networks": ["ov0"]}]}
    (member,) = members(net(), fleet(sandboxes=extra))
    assert (member.interface, str(member.address)) == (1, "10.231.200.2")


@pytest.mark.parametrize("sandboxes, error, fragment", [
    ({"sim1": [{"name": "a", "network_mode": "ov0", "ip": "10.231.201.5"}]}, InvalidInput,
     "sandbox a of host sim1: ip 10.231.201.5 is not a host address of network ov0"),
    ({"sim1": [{"name": "a", "network_mode": "ov0", "ip": "10.231.200.16"}]}, Conflict,
     "ip 10.231.200.16 is host sim2's own address on network ov0"),
    ({"sim1": [{"name": "a", "network_mode": "ov0", "ip": "10.231.200.9"}],
      "sim2": [{"name": "b", "network_mode": "ov0", "ip": "10.231.200.9"}]}, Conflict,
     "sandbox b of host sim2: ip 10.231.200.9 is also the ip of sandbox a of host sim1; give one of them another"),
    ({"sim1": [{"name": "web", "network_mode": "ov0"}], "sim2": [{"name": "web", "network_mode": "ov0"}]}, Conflict,
     "the name web is both sandbox web of host sim1 and sandbox web of host sim2"),
    ({"sim1": [{"name": "a", "network_mode": "ov0", "aliases": ["b"]}], "sim2": [{"name": "b", "network_mode": "ov0"}]},
     Conflict, "the name b is both sandbox a of host sim1 and sandbox b of host sim2"),
    ({"sim1": [{"name": "s%d" % i, "network_mode": "ov0"} for i in range(15)]}, Conflict,
     "host sim1 has no address left for sandbox s14 in its slice 10.231.200.0/28 of network ov0"),
])
def test_member_conflicts_name_both_sides_and_the_fix(sandboxes, error, fragment):
    with pytest.raises(error, match=fragment):
        members(net(), fleet(sandboxes=sandboxes))


# -- hosts files across hosts ---------------------------------------------------------------------------

def test_hosts_entries_list_the_other_members_of_every_host_with_aliases():
    found = members(net(), fleet(sandboxes=SANDBOXES))
    assert _fleet.hosts_entries(found, "sim2", "b1") == [
        ("a1", ("sim1", "a1"), "10.231.200.2"), ("a2", ("sim1", "a2"), "10.231.200.4"), ("db", ("sim1", "a2"), "10.231.200.4"),
        ("b2", ("sim2", "b2"), "10.231.200.3"), ("c1", ("sim3", "c1"), "10.231.200.33")]
    gone = dict(SANDBOXES, sim3=[dict(SANDBOXES["sim3"][1], state="absent")])
    assert "c1" not in [name for name, _member, _ip in _fleet.hosts_entries(members(net(), fleet(sandboxes=gone)), "sim2", "b1")]


# Issue 15, item 6: an alias several members share resolves to all of them, from each of them.
SHARED = {
    "sim1": [{"name": "a1", "network_mode": "ov0", "aliases": ["api"]}, {"name": "a2", "network_mode": "ov0"}],
    "sim2": [{"name": "b1", "network_mode": "ov0", "aliases": ["api", "cache"]}],
    "sim3": [{"name": "c1", "network_mode": "ov0", "aliases": ["api"]}],
}


@pytest.mark.parametrize("host, sandbox, expected", [
    ("sim1", "a1", [("api", ("sim1", "a1"), "10.231.200.2"), ("a2", ("sim1", "a2"), "10.231.200.3"), ("b1", ("sim2", "b1"), "10.231.200.17"),
                    ("api", ("sim2", "b1"), "10.231.200.17"), ("cache", ("sim2", "b1"), "10.231.200.17"), ("c1", ("sim3", "c1"), "10.231.200.33"),
                    ("api", ("sim3", "c1"), "10.231.200.33")]),
    ("sim3", "c1", [("a1", ("sim1", "a1"), "10.231.200.2"), ("api", ("sim1", "a1"), "10.231.200.2"), ("a2", ("sim1", "a2"), "10.231.200.3"),
                    ("b1", ("sim2", "b1"), "10.231.200.17"), ("api", ("sim2", "b1"), "10.231.200.17"),
                    ("cache", ("sim2", "b1"), "10.231.200.17"), ("api", ("sim3", "c1"), "10.231.200.33")]),
])
def test_a_shared_alias_lists_every_member_that_has_it_own_included(host, sandbox, expected):
    assert _fleet.hosts_entries(members(net(), fleet(sandboxes=SHARED)), host, sandbox) == expected


def test_a_shared_alias_is_no_conflict_but_an_alias_that_is_another_members_name_is():
    assert len(members(net(), fleet(sandboxes=SHARED))) == 4
    clash = dict(SHARED, sim3=[{"name": "c1", "network_mode": "ov0", "aliases": ["a2"]}])
    with pytest.raises(Conflict, match="config\\[0\\]: network ov0: the name a2 is both sandbox a2 of host sim1 and sandbox c1 of host sim3;"
                       " members of a network resolve each other by name"):
        members(net(), fleet(sandboxes=clash))


# -- VNI and names --------------------------------------------------------------------------------------

def test_the_vni_is_derived_from_the_name_stably():
    assert _fleet.derived_vni("ov0") == 12219066, "a derived VNI must never change between releases"
    assert len({_fleet.derived_vni("net%d" % i) for i in range(1000)}) == 1000
    assert all(1 <= _fleet.derived_vni("net%d" % i) <= 2 ** 24 - 1 for i in range(1000))
    assert net().vni == _fleet.derived_vni("ov0") and net(vni=42).vni == 42


def test_device_names_are_short_and_ours():
    for name in (_fleet.vxlan_name("x" * 300), _fleet.shim_name("x" * 300)):
        assert len(name) <= 15
    # Written out (sha256 of "KIND\0NAME", 11 hex digits): every host must find the same name,
    # also one that runs another version.
    assert (_fleet.vxlan_name("ov0"), _fleet.vxlan_name("ov1")) == ("nmx55f4bbf11d7", "nmx4116a249699")
    assert (_fleet.shim_name("ov0"), _fleet.shim_name("lan")) == ("nms6a5a440d356", "nmsf759f04bd99")


# -- the declarations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, fragment", [
    ({"driver": "overlay", "hosts": "ov"}, r"config\[0\]: subnet: an overlay network needs a subnet, the same on every host"),
    ({"driver": "overlay", "subnet": "10.231.200.0/24"}, r"config\[0\]: hosts: an overlay network needs the hosts it spans"),
    ({"driver": "overlay", "hosts": [1, 2], "subnet": "10.231.200.0/24"}, r"config\[0\]: hosts"),
    (dict(OVERLAY, gateway="10.231.200.1"), r"config\[0\]: gateway: an overlay network has no gateway: each host's bridge is the"
                                            " gateway of its own sandboxes"),
    (dict(OVERLAY, parent="eth0"), r"config\[0\]: parent: an overlay network has no parent: only macvlan and ipvlan networks"),
    ({"driver": "bridge", "vni": 5}, r"config\[0\]: vni: a bridge network has no vni: only overlay networks take it; remove it"),
    (dict(OVERLAY, vni=0), r"config\[0\]: vni: 0 is not a whole number in 1..16777215; give a whole number from 1 to 16777215"),
    (dict(OVERLAY, vni=2 ** 24), r"vni: 16777216 is not a whole number"),
    (dict(OVERLAY, max_hosts=12), r"config\[0\]: max_hosts: 12 is not a power of two"),
    (dict(OVERLAY, max_hosts=128), r"config\[0\]: max_hosts: 128 slices of 10.231.200.0/24 would have 2 addresses each"),
    (dict(OVERLAY, ip_range="10.231.201.0/25"), r"config\[0\]: ip_range: 10.231.201.0/25 is not inside subnet 10.231.200.0/24"),
    ({"driver": "macvlan", "hosts": "ov", "subnet": "10.231.5.0/24"}, r"config\[0\]: parent: a macvlan network needs the host"
                                                                      " interface on the segment"),
    ({"driver": "macvlan", "hosts": "ov", "subnet": "10.231.5.0/24", "parent": "eth0", "mode": "l2"},
     r"config\[0\]: mode: 'l2' is not a macvlan mode \(choose one of bridge, private, vepa, passthru\)"),
    ({"driver": "ipvlan", "hosts": "ov", "subnet": "10.231.5.0/24", "parent": "eth0", "mode": "bridge"}, r"not an ipvlan mode"),
    ({"driver": "macvlan", "hosts": "ov", "subnet": "10.231.5.0/24", "parent": "eth0", "mode": "private", "shim": True},
     r"config\[0\]: shim: the host reaches its sandboxes through the shim only in mode bridge"),
    ({"driver": "macvlan", "hosts": "ov", "subnet": "10.231.5.0/24", "parent": "eth0", "icc": False},
     r"config\[0\]: icc: a macvlan network has no icc: only bridge and overlay networks take it"),
    ({"driver": "vlan"}, r"config\[0\]: driver: 'vlan' is not a driver \(choose one of bridge, overlay, macvlan, ipvlan\)"),
])
def test_bad_declarations_name_the_field_and_the_fix(raw, fragment):
    with pytest.raises(InvalidInput, match=fragment) as info:
        _declaration.network_spec(dict({"name": "ov0"}, **raw), "config[0]")
    assert info.value.field == "config[0]"


def test_two_overlays_with_one_vni_are_refused():
    with pytest.raises(InvalidInput, match="overlay networks a and b have the same VXLAN id 7; give one of them another vni"):
        _declaration.network_specs([dict(OVERLAY, name="a", vni=7), dict(OVERLAY, name="b", vni=7, subnet="10.231.201.0/24")])


@pytest.mark.parametrize("raw, fragment", [
    ({"host": "sim1", "hosts": {"sim2": {"index": "two"}}}, r"fleet.hosts.sim2.index: 'two' is not a whole number >= 0; set"
                                                            " netmodes_host_index of sim2"),
    ({"host": "sim1", "hosts": {"sim2": {"underlay": "sim2.lab"}}}, r"fleet.hosts.sim2.underlay: 'sim2.lab' is not a valid IP address;"
                                                                    " set netmodes_underlay_address of sim2"),
    ({"host": "sim1", "hosts": {"sim2": {"underlay": "fe80::1%x\n6.6.6.6"}}},
     r"fleet.hosts.sim2.underlay: 'fe80::1%x\\n6.6.6.6' carries a scope id, .*; set netmodes_underlay_address of sim2"),
    ({"host": "sim1", "hosts": {"sim2": {"sandboxes": {"a": 1}}}}, r"netmodes_sandboxes of sim2 must be a list"),
])
def test_bad_fleet_entries_name_the_inventory_variable(raw, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        _fleet.fleet_from(raw)


def test_the_span_is_a_group_or_a_list_of_inventory_hosts():
    assert _fleet.span(net(hosts=["sim3", "sim1"]), fleet(), "x") == ("sim1", "sim3")
    with pytest.raises(InvalidInput, match=r"x: hosts: 'nogroup' is no inventory group with hosts"):
        _fleet.span(net(hosts="nogroup"), fleet(), "x")
    with pytest.raises(InvalidInput, match=r"x: hosts: sim9 is not in the inventory"):
        _fleet.span(net(hosts=["sim1", "sim9"]), fleet(), "x")
    with pytest.raises(InvalidInput, match=r"x: an overlay network spans hosts, so it needs the fleet option"):
        _fleet.span(net(), _fleet.fleet_from({}), "x")


def test_peers_need_an_underlay_address():
    the_fleet = _fleet.fleet_from({"host": "sim1", "groups": {"ov": ["sim1", "sim2"]}, "hosts": {"sim1": {}, "sim2": {}}})
    with pytest.raises(InvalidInput, match="host sim2 has no underlay address; set netmodes_underlay_address of sim2"):
        _fleet.peers_of(["sim2"], the_fleet, "x")


# -- the filter that builds the fleet from the inventory -----------------------------------------------------

def test_the_fleet_filter_reads_each_hosts_variables():
    hostvars = {
        "sim1": {"ansible_host": "10.231.5.11", "netmodes_sandboxes": [{"name": "a1"}]},
        "sim2": {"ansible_host": "sim2.example", "ansible_default_ipv4": {"address": "10.231.5.12"}, "netmodes_host_index": 3},
        "sim3": {"ansible_host": "10.231.5.99", "netmodes_underlay_address": "10.231.6.13"},
        "other": {"netmodes_sandboxes": [{"name": "not-in-the-fleet"}]},
    }
    networks = [OVERLAY, {"name": "lan", "driver": "macvlan", "hosts": ["sim3"]}, {"name": "br0"}]
    out = fleet_filter(networks, hostvars, {"ov": ["sim1", "sim2"], "all": list(hostvars)}, "sim1")
    assert out == {"host": "sim1", "groups": {"ov": ["sim1", "sim2"]}, "hosts": {
        "sim1": {"index": None, "underlay": "10.231.5.11", "sandboxes": [{"name": "a1"}], "addresses": ["10.231.5.11"]},
        "sim2": {"index": 3, "underlay": "10.231.5.12", "sandboxes": [], "addresses": ["10.231.5.12"]},
        "sim3": {"index": None, "underlay": "10.231.6.13", "sandboxes": [], "addresses": ["10.231.6.13"]}}}
    assert _fleet.fleet_from(out).hosts["sim2"].underlay == ip("10.231.5.12")


def test_the_fleet_filter_gives_the_groups_an_allow_list_names_with_their_hosts_addresses():
    hostvars = {
        "sim1": {"ansible_host": "10.231.5.11"},
        "sim2": {"ansible_host": "10.231.5.12", "ansible_default_ipv6": {"address": "fd31:5::12"}},
        "sim3": {"netmodes_underlay_address": "10.231.5.13", "ansible_default_ipv4": {"address": "10.231.5.13"}},
    }
    sandboxes = [{"name": "web", "publish": ["80", {"port": "8080:80", "allow": ["clients", "10.231.9.0/24", "fd31:9::/64", "gone"]}]}]
    out = fleet_filter([], hostvars, {"clients": ["sim2", "sim3"], "all": list(hostvars)}, "sim1", sandboxes)
    assert out["groups"] == {"clients": ["sim2", "sim3"]}, "an unknown group is left for the module to name"
    assert {name: host["addresses"] for name, host in out["hosts"].items()} == {
        "sim2": ["10.231.5.12", "fd31:5::12"], "sim3": ["10.231.5.13"]}
    fleet = _fleet.fleet_from(out)
    assert fleet.group_addresses("clients", "publish") == [ip("10.231.5.12"), ip("fd31:5::12"), ip("10.231.5.13")]
    assert fleet.group_addresses("gone", "publish") is None
    for malformed in ({"a": 1}, [5], [{"publish": 484880}], [{"publish": [{"allow": "clients"}]}], [{"publish": ["8080:80", 5]}]):
        assert fleet_filter([], hostvars, {"clients": ["sim2"]}, "sim1", malformed)["groups"] == {}, "the module names what is wrong"
    bare = _fleet.fleet_from({"host": "sim1", "groups": {"clients": ["sim4"]}, "hosts": {}})
    with pytest.raises(InvalidInput) as info:
        bare.group_addresses("clients", "sandboxes[0]: publish")
    assert "sandboxes[0]: publish: host sim4 of group clients has no address in the inventory" in info.value.msg


def test_without_multi_host_networks_the_fleet_is_empty():
    assert fleet_filter([{"name": "br0"}], {"sim1": {}}, {}, "sim1") == {"host": "sim1", "groups": {}, "hosts": {}}
