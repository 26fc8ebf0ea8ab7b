# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, KernelError, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.macvlan import Macvlan
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns

SANDBOX = {"name": "eth0", "parent": "eth0", "netns": "web", "addresses": ["10.231.1.101/24"], "gateway": "10.231.1.1"}
SHIM = {"name": "mv-shim", "parent": "eth0", "addresses": ["10.231.1.201/32"], "routes": [{"dst": "10.231.1.101/32"}]}


@pytest.fixture
def world(converge, kernel):
    for index, name in ((90, "eth0"), (91, "eth1")):
        kernel.links[(None, name)] = Link(name, index, "veth", 1500, "02:00:00:00:00:%d" % index, True,
                                          addresses=interfaces(["10.231.%d.11/24" % (index - 89)], "a"))
    converge(Netns, name="web")


def ops_of(result):
    return [(o["action"], o["object"], o.get("field")) for o in result["operations"]]


def test_a_sandbox_on_the_segment_four_steps(world, four_steps, kernel):
    result = four_steps(Macvlan, **SANDBOX)
    obj = "macvlan eth0 in sandbox web"
    assert ops_of(result) == [("create", obj, None), ("set", obj, "state"), ("set", obj, "addresses"), ("set", obj, "routes")]
    assert result["operations"][0]["after"] == {"parent": "eth0", "mode": "bridge"}, "Docker's default mode"
    link = kernel.link("eth0", "web")
    assert link.kind == "macvlan" and link.ours and link.up and link.peer_index == kernel.link("eth0").index
    assert link.addresses == interfaces(["10.231.1.101/24"], "a") and [str(r) for r in link.routes] == ["default via 10.231.1.1"]
    assert kernel.link("eth0").kind == "veth", "the host's eth0 is the parent, not replaced"
    assert ("link_add_macvlan", "eth0", "eth0", "macvlan", "bridge", "web", False) in kernel.calls
    assert result["parent"] == "eth0" and result["netns"] == "web" and result["mode"] == "bridge"


def test_the_host_shim_four_steps(world, four_steps, kernel):
    result = four_steps(Macvlan, **SHIM)
    shim = kernel.link("mv-shim")
    assert shim.kind == "macvlan" and shim.info["mode"] == "bridge" and shim.up
    assert [str(r) for r in shim.routes] == ["10.231.1.101/32"]
    assert result["netns"] is None and result["routes"] == ["10.231.1.101/32"]


@pytest.mark.parametrize("mode, kernel_mode", [(None, "l2"), ("l3", "l3"), ("l3s", "l3s")])
def test_ipvlan_plan_four_steps(world, four_steps, kernel, mode, kernel_mode):
    result = four_steps(Macvlan, kind="ipvlan", mode=mode, **SANDBOX)
    assert result["operations"][0] == {"action": "create", "object": "ipvlan eth0 in sandbox web",
                                       "after": {"parent": "eth0", "mode": kernel_mode}}
    assert ("link_add_macvlan", "eth0", "eth0", "ipvlan", kernel_mode, "web", False) in kernel.calls
    assert kernel.link("eth0", "web").kind == "ipvlan"


def test_ipvlan_where_the_kernel_lacks_it_fails_with_the_kernels_words(world, converge, kernel):
    kernel.missing_kinds.add("ipvlan")
    with pytest.raises(KernelError, match="Unknown device type") as caught:
        converge(Macvlan, kind="ipvlan", **SANDBOX)
    assert caught.value.operation["action"] == "create" and caught.value.applied == []


def test_a_mode_changes_in_place(world, converge, kernel):
    converge(Macvlan, **SANDBOX)
    index = kernel.link("eth0", "web").index
    result = converge(Macvlan, mode="private", **SANDBOX)
    assert result["operations"] == [{"action": "set", "object": "macvlan eth0 in sandbox web", "field": "macvlan_mode",
                                     "before": "bridge", "after": "private"}]
    assert kernel.link("eth0", "web").index == index and kernel.link("eth0", "web").info["mode"] == "private"


@pytest.mark.parametrize("change, before, after", [
    ({"mode": "passthru"}, {"mode": "bridge"}, {"mode": "passthru"}),
    ({"parent": "eth1"}, {"parent": "eth0"}, {"parent": "eth1"}),
    ({"kind": "ipvlan"}, {"kind": "macvlan"}, {"kind": "ipvlan"}),
])
def test_what_the_kernel_cannot_change_is_one_recreate(world, converge, kernel, change, before, after):
    converge(Macvlan, **SANDBOX)
    index = kernel.link("eth0", "web").index
    options = dict(SANDBOX, **change)
    result = converge(Macvlan, **options)
    (recreate,) = [o for o in result["operations"] if o["action"] == "recreate"]
    assert recreate["before"] == before and recreate["after"] == after
    link = kernel.link("eth0", "web")
    assert link.index != index and link.addresses == interfaces(["10.231.1.101/24"], "a") and link.up
    assert not converge(Macvlan, **options)["changed"]


def test_absent_four_steps(world, converge, four_steps, kernel):
    converge(Macvlan, **SANDBOX)
    result = four_steps(Macvlan, name="eth0", netns="web", state="absent")
    assert result["operations"] == [{"action": "delete", "object": "macvlan eth0 in sandbox web", "before": {"kind": "macvlan"}}]
    assert kernel.link("eth0", "web") is None and kernel.link("eth0") is not None


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_link_that_is_not_ours_is_left_alone(world, converge, kernel, state):
    kernel.links[(None, "mv-shim")] = Link("mv-shim", 7, "macvlan", 1500, "02:00:00:00:00:07", True, info={"mode": "bridge"})
    with pytest.raises(Conflict, match="not created by netmodes.linux"):
        converge(Macvlan, **dict(SHIM, state=state))
    assert kernel.link("mv-shim") is not None


@pytest.mark.parametrize("options, error, fragment", [
    (dict(SANDBOX, mode="l2"), InvalidInput, "mode: l2 is not a mode of macvlan; use one of bridge, private, vepa, passthru"),
    (dict(SANDBOX, kind="ipvlan", mode="bridge"), InvalidInput, "mode: bridge is not a mode of ipvlan; use one of l2, l3, l3s"),
    (dict(SANDBOX, parent=None), InvalidInput, "parent: required with state=present"),
    (dict(SANDBOX, parent="eth9"), NotFound, "parent: eth9 does not exist on the host; give the host interface on the segment"),
    (dict(SANDBOX, gateway="10.231.2.1"), InvalidInput, "gateway: 10.231.2.1 is not inside any subnet of addresses"),
    (dict(SHIM, gateway="10.231.1.1", addresses=None), InvalidInput, "gateway: a host shim"),
    (dict(SANDBOX, name="macvlan-of-web-1"), InvalidInput, "name: interface name 'macvlan-of-web-1' is 16 bytes"),
    (dict(SANDBOX, netns="db"), NotFound, "netns: sandbox 'db' does not exist"),
    (dict(SANDBOX, mtu=10), InvalidInput, "mtu: MTU 10 is outside"),
])
def test_bad_input_fails_before_anything_changes(world, refused, options, error, fragment):
    refused(Macvlan, error, fragment, **options)


def test_a_parent_that_is_itself_a_macvlan(world, converge):
    converge(Macvlan, **SHIM)
    with pytest.raises(Conflict, match="parent: mv-shim is itself a macvlan"):
        converge(Macvlan, **dict(SANDBOX, parent="mv-shim"))


def test_check_mode_plans_through_a_sandbox_an_earlier_task_would_make(world, converge, kernel):
    calls = len(kernel.calls)
    result = converge(Macvlan, check=True, **dict(SANDBOX, netns="db"))
    assert result["changed"] and len(kernel.calls) == calls
    assert ops_of(result)[0] == ("create", "macvlan eth0 in sandbox db", None)
    assert any("sandbox 'db' does not exist" in w for w in result["warnings"])
