# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batch modules with overlay and macvlan networks: one host's part of a network that spans
three, planned from the fleet the inventory gives."""

from __future__ import annotations

import dataclasses

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _fleet
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks
from ansible_collections.netmodes.linux.tests.shared.multi_host import lab_host
from ansible_collections.netmodes.linux.tests.shared.multi_host import site as shared_site

OVERLAY = {"name": "ov0", "driver": "overlay", "hosts": "ov", "subnet": "10.231.200.0/24"}
LAN = {"name": "lan", "driver": "macvlan", "hosts": "ov", "parent": "eth0", "subnet": "10.231.1.0/24", "gateway": "10.231.1.1",
       "ip_range": "10.231.1.128/25", "max_hosts": 8, "shim": True}
DECLARED = {
    "sim1": [{"name": "a1", "network_mode": "ov0"}],
    "sim2": [{"name": "b1", "network_mode": "ov0", "aliases": ["api"]}, {"name": "b2", "network_mode": "ov0"}],
    "sim3": [{"name": "c1", "network_mode": "ov0"}],
}
VXLAN = "nmx55f4bbf11d7"  # sha256("vxlan\0ov0"), written out
SHIM = "nmsf759f04bd99"  # sha256("shim\0lan")


def fleet(group=("sim1", "sim2", "sim3"), declared=None, host="sim2"):
    declared = DECLARED if declared is None else declared
    return {"host": host, "groups": {"ov": list(group)},
            "hosts": {h: {"index": None, "underlay": "10.231.1.%d" % (10 + int(h[3:])), "sandboxes": declared.get(h, [])}
                      for h in group}}


@pytest.fixture
def sim2(kernel, files):
    """The fake kernel as host sim2: its lab link eth0 carries its underlay address."""
    return lab_host(kernel, files, "10.231.1.12/24")


def site(converge, networks, the_fleet, declared=None, check=False):
    return shared_site(converge, networks, the_fleet, DECLARED if declared is None else declared, check)


def objects(*results):
    return sorted({op["object"] for result in results for op in result["operations"]})


def test_an_overlay_on_one_of_its_hosts(sim2, converge, files):
    networks, made = site(converge, [OVERLAY], fleet())
    assert networks["changed"] and made["changed"]
    bridge, vxlan = sim2.link("ov0"), sim2.link(VXLAN)
    assert sorted(map(str, bridge.addresses)) == ["10.231.200.16/24"], "sim2 (index 1) has the first address of .16/28"
    assert (bridge.mtu, vxlan.mtu, vxlan.master) == (1450, 1450, "ov0")
    assert (vxlan.info["vni"], str(vxlan.info["local"]), vxlan.info["dstport"]) == (_fleet.derived_vni("ov0"), "10.231.1.12", 4789)
    fdb = sorted((mac, str(dst)) for mac, dst in sim2.vxlan_fdb(VXLAN))
    assert [dst for mac, dst in fdb if mac == "00:00:00:00:00:00"] == ["10.231.1.11", "10.231.1.13"], "the other hosts"
    # Docker's peerdb, from the inventory: every member on another host, by its MAC and address
    assert [entry for entry in fdb if entry[0] != "00:00:00:00:00:00"] == [("02:42:0a:e7:c8:02", "10.231.1.11"),
                                                                           ("02:42:0a:e7:c8:21", "10.231.1.13")]
    assert {str(ip): mac for ip, mac in sim2.neighbours(VXLAN).items()} == {"10.231.200.2": "02:42:0a:e7:c8:02",
                                                                            "10.231.200.33": "02:42:0a:e7:c8:21"}
    assert vxlan.info["learning"] is False and vxlan.info["proxy"] is True
    eth0 = sim2.link("eth0", "b1")
    assert sorted(map(str, eth0.addresses)) == ["10.231.200.17/24"] and eth0.mtu == 1450
    assert eth0.mac == "02:42:0a:e7:c8:11", "02:42 and its address, 10.231.200.17"
    assert [str(r.via) for r in eth0.routes if r.dst.prefixlen == 0] == ["10.231.200.16"], "its host's bridge is the gateway"
    assert sorted(map(str, sim2.link("eth0", "b2").addresses)) == ["10.231.200.18/24"]
    # the network's resolver on sim2 listens on its bridge: b2 asks it, and lists no member
    assert "nameserver 10.231.200.16\n" in files.files[("b2", "resolv.conf")]
    assert files.files[("b2", "hosts")].endswith("localhost\n10.231.200.18\tb2\n")
    assert not any(site(converge, [OVERLAY], fleet())[i]["changed"] for i in (0, 1)), "a second run changes nothing"


def test_check_mode_changes_nothing_and_plans_the_same(sim2, converge, kernel, firewall, files):
    calls = (len(kernel.calls), firewall.commits, len(files.calls))
    check = site(converge, [OVERLAY], fleet(), check=True)
    assert all(r["changed"] for r in check) and (len(kernel.calls), firewall.commits, len(files.calls)) == calls
    run = site(converge, [OVERLAY], fleet())
    assert check[0]["operations"] == run[0]["operations"], "the networks' plan in check mode is the run's"


def test_an_overlay_member_publishes_its_port_from_the_first_run_of_one_plan(sim2, converge):
    # The overlay's bridge is made by the same plan: check mode (whose plan the run applies)
    # must publish the member's port on it too, not leave it out because the bridge is not there yet.
    declared = dict(DECLARED, sim2=[{"name": "b1", "network_mode": "ov0", "publish": ["8080:80"]}])
    options = {"config": declared["sim2"], "networks": [OVERLAY], "fleet": fleet(declared=declared), "converge_networks": True}
    check = converge(Sandboxes, check=True, **options)
    assert "portmap netns:b1" in objects(check)
    run = converge(Sandboxes, **options)
    assert run["operations"] == check["operations"]
    assert not converge(Sandboxes, **options)["changed"]


# With a resolver (dns, the default) the sandboxes' hosts files list no member: a member that joins
# or leaves changes the resolver's hosts file alone; with dns: false the sandboxes' list every member.
HOSTS_FILES = {True: ["resolver ov0"], False: ["file /etc/netns/b1/hosts", "file /etc/netns/b2/hosts"]}


@pytest.mark.parametrize("dns", [True, False], ids=["resolver", "dns false"])
def test_a_host_joining_changes_only_its_peer_and_the_hosts_files(sim2, converge, dns):
    two, overlay = {h: DECLARED[h] for h in ("sim1", "sim2")}, dict(OVERLAY, dns=dns)
    site(converge, [overlay], fleet(("sim1", "sim2"), two), two)
    joined = site(converge, [overlay], fleet())
    assert objects(*joined) == sorted(["vxlan %s peer 10.231.1.13" % VXLAN, "vxlan %s fdb 02:42:0a:e7:c8:21" % VXLAN,
                                       "vxlan %s neigh 10.231.200.33" % VXLAN, "vxlan %s firewall" % VXLAN] + HOSTS_FILES[dns])
    left = site(converge, [overlay], fleet(("sim1", "sim2"), two), two)
    assert objects(*left) == objects(*joined), "and leaving undoes just that"


@pytest.mark.parametrize("dns", [True, False], ids=["resolver", "dns false"])
def test_an_absent_member_leaves_the_hosts_files_of_the_others(sim2, converge, files, dns):
    overlay = dict(OVERLAY, dns=dns)
    site(converge, [overlay], fleet())
    assert ("10.231.200.33\tc1\n" in files.files[("b1", "hosts")]) is not dns
    gone = dict(DECLARED, sim3=[dict(DECLARED["sim3"][0], state="absent")])
    result = site(converge, [overlay], fleet(declared=gone), gone)
    assert objects(*result) == HOSTS_FILES[dns] + ["vxlan %s fdb 02:42:0a:e7:c8:21" % VXLAN, "vxlan %s neigh 10.231.200.33" % VXLAN]
    assert "c1" not in files.files[("b1", "hosts")]


def test_a_host_outside_the_span_gets_nothing(sim2, converge, kernel):
    outside = fleet(("sim1", "sim3"))
    outside["hosts"]["sim2"] = {"underlay": "10.231.1.12"}
    assert not converge(Networks, config=[OVERLAY], fleet=outside)["changed"]
    with pytest.raises(InvalidInput, match=r"b1: network ov0 does not span this host \(sim2\); add it to the network's hosts"):
        converge(Sandboxes, config=DECLARED["sim2"], networks=[OVERLAY], fleet=outside)


def test_a_sandbox_the_fleet_does_not_know_is_refused(sim2, converge):
    with pytest.raises(InvalidInput, match="netmodes_sandboxes of host sim2, from which every host of the network computes"):
        converge(Sandboxes, config=DECLARED["sim2"] + [{"name": "b3", "network_mode": "ov0"}], networks=[OVERLAY], fleet=fleet())


def test_pruning_removes_the_overlay_of_a_network_no_longer_declared(sim2, converge, kernel, firewall):
    site(converge, [OVERLAY], fleet())
    assert "vxlan:" + VXLAN in firewall.owners(), "VXLAN is accepted from the peers only"
    converge(Networks, config=[], state="overridden", fleet={})
    assert kernel.link("ov0") is None and kernel.link(VXLAN) is None
    assert kernel.link("eth0") is not None, "only ours go"
    assert not firewall.owners(), "nor the filter of its VXLAN"


def test_the_filter_of_a_vxlan_device_deleted_by_hand_is_pruned(sim2, converge, kernel, firewall):
    site(converge, [OVERLAY], fleet())
    kernel.link_delete(VXLAN)
    run = converge(Networks, config=[], state="overridden", fleet={})
    assert {"action": "delete", "object": "vxlan %s firewall" % VXLAN, "before": {"peers": "those of a device that is gone"}} \
        in run["operations"]
    assert not firewall.owners()


def test_macvlan_sandboxes_and_the_host_shim(sim2, converge, files):
    declared = {"sim1": [{"name": "m1", "network_mode": "lan"}], "sim2": [{"name": "m2", "network_mode": "lan"}]}
    networks, made = site(converge, [LAN], fleet(("sim1", "sim2"), declared), declared)
    assert networks["changed"] and made["changed"]
    shim = sim2.link(SHIM)
    assert (shim.kind, shim.info["mode"], sorted(map(str, shim.addresses))) == ("macvlan", "bridge", ["10.231.1.144/32"])
    assert [str(r.dst) for r in shim.routes] == ["10.231.1.144/28"], "the host reaches its slice through the shim"
    eth0 = sim2.link("eth0", "m2")
    assert eth0.kind == "macvlan" and sorted(map(str, eth0.addresses)) == ["10.231.1.145/24"]
    assert [str(r.via) for r in eth0.routes if r.dst.prefixlen == 0] == ["10.231.1.1"], "the segment's gateway"
    # the network's resolver on sim2 listens on the shim: m2 asks it, and lists no member
    assert "nameserver 10.231.1.144\n" in files.files[("m2", "resolv.conf")]
    assert "m1" not in files.files[("m2", "hosts")]
    assert not any(site(converge, [LAN], fleet(("sim1", "sim2"), declared), declared)[i]["changed"] for i in (0, 1))
    without = site(converge, [dict(LAN, shim=False)], fleet(("sim1", "sim2"), declared), declared)
    assert objects(*without) == ["file /etc/netns/m2/hosts", "file /etc/netns/m2/resolv.conf", "macvlan %s" % SHIM,
                                 "resolver lan", "resolver %s firewall" % SHIM]
    assert sim2.link(SHIM) is None
    # without a shim the host is out of the network's reach: no resolver, so the hosts file lists m1
    assert "10.231.1.129\tm1" in files.files[("m2", "hosts")].replace(" ", "\t")
    assert "nameserver 10.231.1.144" not in files.files[("m2", "resolv.conf")]


def test_a_sandbox_leaving_a_macvlan_network_loses_its_link_there(sim2, converge):
    declared = {"sim1": [{"name": "m1", "network_mode": "lan"}], "sim2": [{"name": "m2", "network_mode": "lan"}]}
    site(converge, [LAN], fleet(("sim1", "sim2"), declared), declared)
    left = dict(declared, sim2=[{"name": "m2", "network_mode": "none"}])
    _networks, made = site(converge, [LAN], fleet(("sim1", "sim2"), left), left)
    assert "macvlan eth0 in sandbox m2" in objects(made) and sim2.link("eth0", "m2") is None
    assert not any(site(converge, [LAN], fleet(("sim1", "sim2"), left), left)[i]["changed"] for i in (0, 1))


def test_ipvlan_is_planned_like_macvlan_and_fails_with_the_kernels_words(sim2, converge, kernel):
    declared = {"sim2": [{"name": "i2", "network_mode": "lan"}]}
    lan = dict(LAN, driver="ipvlan", mode="l2")
    check = converge(Networks, check=True, config=[lan], fleet=fleet(("sim2",), declared))
    assert [op["object"] for op in check["operations"]][:1] == ["ipvlan %s" % SHIM]
    kernel.missing_kinds.add("ipvlan")
    with pytest.raises(Exception, match="Unknown device type"):
        converge(Networks, config=[lan], fleet=fleet(("sim2",), declared))


def test_publish_is_refused_on_a_macvlan_network(sim2, converge):
    declared = {"sim2": [{"name": "m2", "network_mode": "lan", "publish": ["8080:80"]}]}
    with pytest.raises(InvalidInput, match="m2: publish: a macvlan network has no bridge to publish from"):
        converge(Sandboxes, config=declared["sim2"], networks=[LAN], fleet=fleet(("sim2",), declared))


def test_a_picked_subnet_avoids_the_overlays(sim2, converge):
    result = converge(Networks, config=[dict(OVERLAY, subnet="172.17.0.0/16"), {"name": "br0"}], fleet=fleet())
    assert result["networks"]["br0"]["subnet"] == "172.18.0.0/16"


# -- the kernel's neighbour table (issue 20: capacity) ----------------------------------------------

def crowded(count):
    """sim1 with COUNT members on ov0 (a /20 holds them), sim2 with none: sim2's VXLAN device needs COUNT neighbour entries."""
    declared = {"sim1": [{"name": "m%d" % i, "network_mode": "ov0"} for i in range(count)], "sim2": [], "sim3": []}
    return dict(OVERLAY, subnet="10.231.192.0/20", max_hosts=2), fleet(("sim1", "sim2"), declared)


@pytest.mark.parametrize("release", ["6.18.44", "4.19.0", "5.14.0-503.el9.x86_64"])
def test_a_kernel_that_exempts_static_neighbours_takes_any_number(sim2, converge, sysctl, release):
    sysctl.values.update({"kernel/osrelease": release, "net/ipv4/neigh/default/gc_thresh3": "16", "net/ipv4/neigh/default/gc_thresh2": "8"})
    network, the_fleet = crowded(40)
    result = converge(Networks, config=[network], fleet=the_fleet)
    assert result["changed"] and not result.get("warnings")


def test_an_older_kernel_is_warned_past_gc_thresh2_and_refused_at_gc_thresh3_before_any_change(sim2, converge, sysctl, kernel):
    sysctl.values.update({"kernel/osrelease": "4.18.0-553.el8_10.x86_64",
                          "net/ipv4/neigh/default/gc_thresh3": "48", "net/ipv4/neigh/default/gc_thresh2": "32"})
    network, the_fleet = crowded(40)
    result = converge(Networks, config=[network], fleet=the_fleet)
    (warning,) = result["warnings"]
    assert warning.startswith("the overlay networks of this host need 40 static IPv4 neighbour entries") and \
        "net.ipv4.neigh.default.gc_thresh2=552 and net.ipv4.neigh.default.gc_thresh3=1064" in warning, warning
    network, the_fleet = crowded(60)
    calls = list(kernel.calls)
    with pytest.raises(Conflict, match=r"need 60 static IPv4 neighbour entries .* Linux 4\.18\.0-553\.el8_10\.x86_64 counts them against"
                                       r" net\.ipv4\.neigh\.default\.gc_thresh3 \(48\) and would refuse the rest"):
        converge(Networks, config=[network], fleet=the_fleet)
    assert kernel.calls == calls, "refused before any change"


def underlay_mtu(kernel, mtu):
    """sim2's lab link (its underlay) with MTU MTU."""
    kernel.links[(None, "eth0")] = dataclasses.replace(kernel.links[(None, "eth0")], mtu=mtu)


@pytest.mark.parametrize("module", ["networks", "sandboxes"])
def test_the_overlay_s_mtu_and_its_underlay_are_returned_for_the_fleet_s_comparison(sim2, converge, kernel, module):
    underlay_mtu(kernel, 1400)
    options = {"config": [OVERLAY], "fleet": fleet()} if module == "networks" else {
        "config": DECLARED["sim2"], "networks": [OVERLAY], "fleet": fleet(), "converge_networks": True}
    resource = Networks if module == "networks" else Sandboxes
    expected = {"ov0": {"mtu": 1350, "declared": False, "underlay": {"link": "eth0", "mtu": 1400}, "carried": 1350, "where": "config[0] (ov0)"}}
    if module == "sandboxes":
        expected["ov0"]["where"] = "networks[0] (ov0)"
    calls = list(kernel.calls)
    assert converge(resource, check=True, **options)["overlays"] == expected, "in check mode too: before any change"
    assert kernel.calls == calls
    assert converge(resource, **options)["overlays"] == expected
    assert (kernel.link("ov0").mtu, kernel.link(VXLAN).mtu) == (1350, 1350)


def test_a_declared_mtu_beyond_the_underlay_is_warned_before_any_change(sim2, converge, kernel):
    underlay_mtu(kernel, 1400)
    calls = list(kernel.calls)
    check = converge(Networks, check=True, config=[dict(OVERLAY, mtu=1450)], fleet=fleet())
    assert kernel.calls == calls
    (warning,) = check["warnings"]
    assert warning.startswith("config[0] (ov0): mtu 1450 is more than this host's underlay carries: eth0 has MTU 1400, less 50 for"
                              " the VXLAN headers leaves 1350"), warning
    run = converge(Networks, config=[dict(OVERLAY, mtu=1450)], fleet=fleet())
    assert run["warnings"] == [warning] and kernel.link(VXLAN).mtu == 1450, "warned, and made as declared (the kernel takes it)"
    assert not converge(Networks, config=[dict(OVERLAY, mtu=1350)], fleet=fleet()).get("warnings")
