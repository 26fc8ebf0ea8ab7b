# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _links
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import temp_name
from ansible_collections.netmodes.linux.plugins.modules.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns
from ansible_collections.netmodes.linux.plugins.modules.veth import Veth

PLUG = {"name": "veth-web", "netns": "web", "bridge": "br0", "addresses": ["172.18.0.10/16"], "gateway": "172.18.0.1"}


@pytest.fixture
def world(converge):
    converge(Netns, name="web")
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])


def test_plug_four_steps(world, four_steps, kernel):
    result = four_steps(Veth, **PLUG)
    assert result["operations"][0] == {"action": "create", "object": "veth veth-web", "after": {"peer": "eth0", "netns": "web"}}
    host, peer = kernel.link("veth-web"), kernel.link("eth0", "web")
    assert host.master == "br0" and host.up and host.ours
    assert peer.up and peer.addresses == interfaces(["172.18.0.10/16"], "a")
    assert [str(r) for r in peer.routes] == ["default via 172.18.0.1"]
    assert kernel.link("eth0") is None, "the peer must be born in the sandbox, not the host"
    assert result["peer"]["routes"] == ["default via 172.18.0.1"] and result["master"] == "br0"


def test_routes_are_applied_after_the_addresses_they_need(world, converge, kernel):
    converge(Veth, **PLUG)
    names = [c[0] for c in kernel.calls]
    assert names.index("addresses_set") < names.index("routes_set")


def test_mac_and_mtu(world, converge, kernel):
    converge(Veth, mac="02:42:AC:12:00:0A", mtu=1450, **PLUG)
    assert kernel.link("eth0", "web").mac == "02:42:ac:12:00:0a"
    assert kernel.link("eth0", "web").mtu == kernel.link("veth-web").mtu == 1450
    assert not converge(Veth, mac="02-42-ac-12-00-0a", mtu=1450, **PLUG)["changed"]


def test_gateway_only_leaves_other_routes_alone(world, converge, kernel):
    converge(Veth, routes=[{"dst": "10.231.200.0/24", "via": "172.18.0.254"}], **PLUG)
    assert len(kernel.link("eth0", "web").routes) == 2
    assert not converge(Veth, **PLUG)["changed"]
    result = converge(Veth, routes=[], **PLUG)
    assert result["changed"] and [str(r) for r in kernel.link("eth0", "web").routes] == ["default via 172.18.0.1"]


def test_changing_the_gateway(world, converge, kernel):
    converge(Veth, **PLUG)
    result = converge(Veth, **dict(PLUG, gateway="172.18.0.254"))
    assert result["diff"]["before"] == {"eth0 in sandbox web": {"routes": ["default via 172.18.0.1"]}}
    assert result["diff"]["after"] == {"eth0 in sandbox web": {"routes": ["default via 172.18.0.254"]}}


def test_both_ends_in_the_host(converge, kernel):
    converge(Veth, name="va", peer="vb")
    assert kernel.link("va").peer_index == kernel.link("vb").index


@pytest.mark.parametrize("options, error, fragment", [
    (dict(PLUG, name="veth-web-frontend"), InvalidInput, "name: interface name 'veth-web-frontend' is 17 bytes; the kernel allows at most 15"),
    (dict(PLUG, peer="eth0-of-the-web-1"), InvalidInput, "peer: interface name"),
    (dict(PLUG, addresses=["172.18.0.10/16"], gateway="172.19.0.1"), InvalidInput, "gateway: 172.19.0.1 is not inside any subnet of addresses"),
    (dict(PLUG, addresses=["172.18.0.10"]), InvalidInput, "needs a prefix length"),
    (dict(PLUG, gateway="172.18.0"), InvalidInput, "gateway: '172.18.0' is not a valid IP address"),
    (dict(PLUG, mac="01:00:5e:00:00:01"), InvalidInput, "multicast"),
    (dict(PLUG, netns=None, peer="veth-web"), InvalidInput, "peer must differ from name"),
    (dict(PLUG, netns="db"), NotFound, "netns: sandbox 'db' does not exist"),
    (dict(PLUG, bridge="br9"), NotFound, "bridge: br9 does not exist"),
])
def test_bad_input_fails_before_anything_changes(world, refused, options, error, fragment):
    refused(Veth, error, fragment, **options)


def test_bridge_that_is_not_a_bridge(world, converge):
    converge(Veth, name="va", peer="vb")
    with pytest.raises(Conflict, match=r"^bridge: va is a veth link, not a bridge; name a bridge \(netmodes.linux.bridge makes one\)"):
        converge(Veth, **dict(PLUG, bridge="va"))


def test_a_peer_name_taken_in_the_sandbox(world, converge, kernel):
    converge(Veth, **PLUG)
    with pytest.raises(Conflict, match="peer: eth0 already exists in sandbox web"):
        converge(Veth, **dict(PLUG, name="veth-web2", addresses=None))


def test_a_pair_left_under_its_temporary_name_by_an_interrupted_run_is_replaced(world, converge, kernel):
    """Killed between creating the pair and renaming it: the peer holds its name in the sandbox,
    but as the other end of the half-made pair it is no conflict; the creation replaces both."""
    kernel.link_add_veth(temp_name("veth-web"), "eth0", "web")
    half = kernel.link(temp_name("veth-web"))
    result = converge(Veth, **PLUG)
    assert result["operations"][0]["action"] == "create"
    assert kernel.link(temp_name("veth-web")) is None and kernel.link("veth-web").peer_index == kernel.link("eth0", "web").index
    assert kernel.link("eth0", "web").peer_index != half.index and kernel.link("eth0", "web").addresses
    assert not converge(Veth, **PLUG)["changed"]


def test_a_half_made_pair_does_not_excuse_another_peer(world, converge, kernel):
    kernel.link_add_veth(temp_name("veth-web"), "eth1", "web")
    kernel.link_add_veth("other", "eth0", "web")
    with pytest.raises(Conflict, match="peer: eth0 already exists in sandbox web"):
        converge(Veth, **PLUG)


def test_an_existing_pair_with_another_peer(world, converge):
    converge(Veth, **PLUG)
    with pytest.raises(Conflict, match=r"^peer: veth veth-web exists but its peer is not eth1 in sandbox web; remove it \(state=absent\)"):
        converge(Veth, **dict(PLUG, peer="eth1"))


def test_absent_removes_both_ends(world, converge, four_steps, kernel):
    converge(Veth, **PLUG)
    result = four_steps(Veth, name="veth-web", netns="web", state="absent")
    assert result["diff"]["before"] == {"veth veth-web": {"peer": "eth0"}}
    assert kernel.link("veth-web") is None and kernel.link("eth0", "web") is None
    assert kernel.link("br0") is not None


def test_absent_of_a_veth_that_is_not_ours(converge, kernel):
    converge(Veth, name="va", peer="vb")
    kernel.link("va").alias = ""
    with pytest.raises(Conflict, match="^name: veth va exists but was not created by netmodes.linux.*choose another name"):
        converge(Veth, name="va", peer="vb", state="absent")
    assert kernel.link("va") is not None


def test_check_mode_of_a_whole_play_plans_through_missing_references(converge, kernel):
    # In check mode the netns and bridge tasks before this one created nothing.
    result = converge(Veth, check=True, **PLUG)
    assert result["changed"] and kernel.calls == []
    assert [o["action"] for o in result["operations"]][0] == "create"
    assert any("sandbox 'web' does not exist" in w for w in result["warnings"])
    assert any("bridge: br0 does not exist" in w for w in result["warnings"])


def test_hairpin_is_set_on_the_bridge_port_after_its_master(world, four_steps, kernel):
    result = four_steps(Veth, hairpin=True, **PLUG)
    assert kernel.link("veth-web").hairpin is True
    sets = [(op["field"], op["after"]) for op in result["operations"] if op["action"] == "set" and op["object"] == "veth veth-web"]
    assert sets.index(("master", "br0")) < sets.index(("hairpin", True))


def test_hairpin_needs_a_bridge(world, converge):
    with pytest.raises(InvalidInput, match="^hairpin: .*give bridge"):
        converge(Veth, hairpin=True, **dict(PLUG, bridge=None))


def fill(kernel, bridge, count):
    """COUNT ports on BRIDGE that someone else plugged in (one end of a veth pair each)."""
    for i in range(count):
        kernel.link_add_veth("fill%d" % i, "peer%d" % i)
        kernel.link_set("fill%d" % i, master=bridge)


def test_a_bridge_takes_ports_up_to_the_kernels_limit_and_no_more(world, converge, kernel):
    """Issue 13, item 14: the kernel gives a bridge at most 1023 ports; the 1024th is refused
    before anything changes, with the limit named, and the last one fits."""
    fill(kernel, "br0", _links.MAX_BRIDGE_PORTS - 1)
    converge(Veth, **PLUG)
    assert len(kernel.bridge_ports("br0")) == _links.MAX_BRIDGE_PORTS
    converge(Netns, name="db")
    calls = len(kernel.calls)
    with pytest.raises(Conflict, match="bridge: bridge br0 would have 1024 ports .*at most 1023 on one bridge; plug this veth into another"):
        converge(Veth, **dict(PLUG, name="veth-db", netns="db", addresses=["172.18.0.11/16"]))
    assert len(kernel.calls) == calls
    assert not converge(Veth, **PLUG)["changed"], "a port already on the bridge is not counted again"
    converge(Veth, name="veth-web", state="absent")
    converge(Veth, **dict(PLUG, name="veth-db", netns="db", addresses=["172.18.0.11/16"]))


def test_an_empty_gateway_list_manages_the_default_routes_to_none(world, converge, kernel):
    # The sandboxes module's link to a network that is not the sandbox's gateway: an internal
    # network's, or a second network's. A default route there goes, of either IP version; other
    # routes stay (routes unmanaged); an omitted gateway leaves default routes alone, as before.
    converge(Veth, **PLUG)
    assert not converge(Veth, **dict(PLUG, gateway=None))["changed"]
    assert [str(r) for r in kernel.link("eth0", "web").routes] == ["default via 172.18.0.1"]
    result = converge(Veth, **dict(PLUG, gateway=[]))
    assert result["changed"] and kernel.link("eth0", "web").routes == frozenset()
    assert not converge(Veth, **dict(PLUG, gateway=[]))["changed"]
