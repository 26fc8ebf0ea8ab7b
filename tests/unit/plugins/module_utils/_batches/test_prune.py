# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pruning (state overridden): ours and undeclared goes, also when its parent vanished behind our
back; whatever is not ours stays."""

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration, _ledger
from ansible_collections.netmodes.linux.plugins.module_utils import _sysctl as sysctl_module
from ansible_collections.netmodes.linux.plugins.module_utils._batches import prune as _prune
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._records import OWNER_TAG, Link, temp_name
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks

NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16"}, {"name": "back", "subnet": "172.30.0.0/24"}]
SANDBOXES = [
    {"name": "web", "network_mode": "br0", "publish": ["8080:80"]},
    {"name": "db", "network_mode": "br0", "publish": ["5432:5432"]},
    {"name": "api", "network_mode": "back"},
    {"name": "legacy", "network_mode": "bridge"},
    {"name": "quiet", "network_mode": "none"},
    {"name": "web2", "network_mode": "host", "ports": [9090]},
]
FOREIGN_INODE = 4026539999


def named(*names):
    return [s for s in SANDBOXES if s["name"] in names]


@pytest.fixture
def host(converge, kernel, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Networks, config=NETWORKS)
    converge(Sandboxes, config=SANDBOXES, networks=NETWORKS)
    # Foreign objects: a namespace and a bridge made by hand, a file someone else wrote for the namespace.
    kernel.netns["handmade"] = FOREIGN_INODE
    kernel.links[(None, "fbr")] = Link("fbr", 900, "bridge", 1500, "02:00:00:00:09:00", True)
    files.files[("handmade", "hostname")] = "handmade\n"
    return kernel


def behind_our_back(kernel, name):
    """`ip netns del NAME` while a process keeps the namespace (and so its veth) alive."""
    del kernel.netns[name]


def owners(firewall):
    return sorted(firewall.read().owners())


def test_orphans_of_vanished_and_undeclared_sandboxes_go_and_foreign_objects_stay(host, converge, kernel, firewall, files, sockets):
    web_veth = "nmva697f8b15b4"  # sha256("web\0br0"), as the sandboxes module names it
    behind_our_back(kernel, "web")      # declared still: made again, with a new veth
    behind_our_back(kernel, "db")       # declared no more: its ports, files and marker go
    assert kernel.link(web_veth) is not None and sorted(_prune.orphan_veths(kernel)) == sorted([web_veth, _declaration.veth_name("db", "br0")])
    keep = named("web", "api", "quiet")  # legacy (default network) and web2 (host mode) are gone too
    run = converge(Sandboxes, config=keep, networks=NETWORKS, state="overridden")
    assert run["changed"]
    assert sorted(kernel.netns) == ["api", "handmade", "quiet", "web"]
    assert "netns:db" not in owners(firewall) and "netns:legacy" not in owners(firewall) and "netns:web" in owners(firewall)
    assert "bridge:" + _declaration.DEFAULT_BRIDGE not in owners(firewall) and kernel.link(_declaration.DEFAULT_BRIDGE) is None
    assert files.recorded_sandboxes() == ["api", "quiet", "web"]
    assert sockets.claimed == {}
    assert kernel.owned_markers() == ["api", "quiet", "web"]
    assert _prune.orphan_veths(kernel) == []
    new_web = kernel.links[(None, web_veth)]  # the stored link: link() leaves peer_netns out, as the adapter
    assert new_web.peer_netns == kernel.netns["web"], "web's veth is made again into its new namespace"
    # untouched: the namespace and bridge made by hand, the files of the namespace made by hand
    assert kernel.netns["handmade"] == FOREIGN_INODE and kernel.link("fbr") is not None
    assert files.files[("handmade", "hostname")] == "handmade\n"
    assert not converge(Sandboxes, config=keep, networks=NETWORKS, state="overridden")["changed"]


def test_check_mode_plans_the_same_prune_and_applies_nothing(host, converge, kernel, firewall, files):
    behind_our_back(kernel, "db")
    calls = (len(kernel.calls), firewall.commits, len(files.calls))
    keep = named("web", "api", "quiet", "legacy", "web2")
    check = converge(Sandboxes, check=True, config=keep, networks=NETWORKS, state="overridden")
    assert (len(kernel.calls), firewall.commits, len(files.calls)) == calls, "check mode applied something"
    run = converge(Sandboxes, config=keep, networks=NETWORKS, state="overridden")
    assert run["operations"] == check["operations"]
    objects = {op["object"] for op in run["operations"] if op["action"] == "delete"}
    assert {"veth nmv0785d6e6056", "portmap netns:db", "netns marker db"} <= objects, objects
    assert any(o.startswith("file /etc/netns/db/") for o in objects)


def test_a_marker_of_a_namespace_made_again_by_hand_is_dropped(host, converge, kernel):
    behind_our_back(kernel, "quiet")
    kernel.netns["quiet"] = FOREIGN_INODE + 1   # `ip netns add quiet`: someone else's namespace, and our marker still there
    assert "quiet" in kernel.owned_markers() and not kernel.netns_owned("quiet")
    converge(Sandboxes, config=named("web", "db", "api", "legacy", "web2"), networks=NETWORKS, state="overridden")
    assert kernel.netns["quiet"] == FOREIGN_INODE + 1, "the namespace made by hand stays"
    assert "quiet" not in kernel.owned_markers()


def test_a_bridge_deleted_by_hand_leaves_no_policy_behind(host, converge, kernel, firewall):
    converge(Sandboxes, config=named("web", "db", "legacy", "quiet", "web2"), networks=NETWORKS, state="overridden")
    del kernel.links[(None, "back")]
    assert "bridge:back" in owners(firewall)
    run = converge(Networks, config=NETWORKS[:1], state="overridden")
    assert run["changed"] and "bridge:back" not in owners(firewall) and "bridge:br0" in owners(firewall)
    assert kernel.link("fbr") is not None and kernel.link(_declaration.DEFAULT_BRIDGE) is not None, \
        "a foreign bridge stays; the default network is the sandboxes' to prune"
    assert not converge(Networks, config=NETWORKS[:1], state="overridden")["changed"]


def test_the_default_network_stays_while_a_declared_sandbox_uses_it(host, converge, kernel):
    assert not converge(Networks, config=NETWORKS, state="overridden")["changed"]
    assert not converge(Sandboxes, config=SANDBOXES, networks=NETWORKS, state="overridden")["changed"]
    assert kernel.link(_declaration.DEFAULT_BRIDGE) is not None


def test_a_veth_with_both_ends_on_the_host_is_no_orphan(converge, kernel):
    kernel.link_add_veth("nmx-a", "nmx-b")
    assert _prune.orphan_veths(kernel) == []


def test_a_veth_an_interrupted_run_left_under_its_temporary_name_goes(host, converge, kernel):
    """Killed between tagging a new veth and renaming it; the sandbox it was for is not declared any more."""
    half = temp_name("nmvc23558b2a23")
    kernel.links[(None, half)] = Link(half, 901, "veth", 1500, "02:00:00:00:09:01", False, alias="%s veth" % OWNER_TAG,
                                      peer_index=902, peer_netns=kernel.netns["web"])
    kernel.links[(None, "nmtforeign")] = Link("nmtforeign", 903, "veth", 1500, "02:00:00:00:09:03", False)
    assert _prune.orphan_veths(kernel) == [half], "untagged, a link is not ours whatever its name"
    run = converge(Sandboxes, config=SANDBOXES, networks=NETWORKS, state="overridden")
    assert "veth " + half in {op["object"] for op in run["operations"] if op["action"] == "delete"}
    assert kernel.link(half) is None and kernel.link("nmtforeign") is not None
    assert not converge(Sandboxes, config=SANDBOXES, networks=NETWORKS, state="overridden")["changed"]


def test_sysctls_held_by_a_pruned_sandbox_or_network_are_put_back_also_without_its_rules(host, converge, sysctl):
    """An owner the ledger still lists (its rules were flushed, or a run was killed between the
    two) is pruned like one the firewall lists: its sysctls go back as they were."""
    key = "net/ipv4/conf/br0/route_localnet"
    sysctl.entries = _ledger.claimed(sysctl.entries, key, "netns:gone", "0")
    sysctl.entries = _ledger.claimed(sysctl.entries, "net/ipv4/conf/brgone/forwarding", "bridge:brgone", "0")
    converge(Sandboxes, config=named("api", "quiet"), networks=NETWORKS, state="overridden")
    converge(Networks, config=NETWORKS[1:], state="overridden")
    assert sysctl_module.users(sysctl.ledger()) == {"bridge:back"}
    assert sysctl.values[key] == "0"


def test_a_sandbox_on_a_namespace_made_by_hand_is_unplugged_and_the_namespace_stays(converge, kernel, firewall, files):
    """Issue 13, item 8: its veth, published ports, files and links of ours inside go; what the
    veth or macvlan module made for it otherwise, and the namespace, stay."""
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    kernel.links[(None, "lab0")] = Link("lab0", 899, "veth", 1500, "02:00:00:00:08:99", True)
    converge(Networks, config=NETWORKS)
    kernel.netns["mine"] = FOREIGN_INODE   # `ip netns add mine`
    kernel.links[(FOREIGN_INODE, "lo")] = Link("lo", 1, "", 65536, "00:00:00:00:00:00", True)
    config = [{"name": "mine", "network_mode": "br0", "publish": ["8088:80"]}, {"name": "web", "network_mode": "br0"}]
    converge(Sandboxes, config=config, networks=NETWORKS)
    veth = _declaration.veth_name("mine", "br0")
    assert kernel.links[(None, veth)].peer_netns == FOREIGN_INODE and "netns:mine" in owners(firewall) and "mine" in files.recorded_sandboxes()
    kernel.link_add_macvlan("eth1", "lab0", netns="mine")           # as the sandboxes module plugs it into a macvlan network
    kernel.link_add_macvlan("seg0", "lab0", netns="mine")           # by the macvlan module
    kernel.link_add_veth("veth-mine", "eth5", "mine")               # by the veth module
    calls = len(kernel.calls)
    check = converge(Sandboxes, check=True, config=config[1:], networks=NETWORKS, state="overridden")
    assert len(kernel.calls) == calls, "check mode applied something"
    run = converge(Sandboxes, config=config[1:], networks=NETWORKS, state="overridden")
    deleted = [op for op in run["operations"] if op["action"] == "delete"]
    assert run["changed"] and deleted == [op for op in check["operations"] if op["action"] == "delete"]
    assert kernel.netns["mine"] == FOREIGN_INODE, "a namespace made by hand is never removed"
    assert kernel.link(veth) is None and kernel.link("eth1", "mine") is None
    assert "netns:mine" not in owners(firewall) and "mine" not in files.recorded_sandboxes()
    assert kernel.link("veth-mine") is not None and kernel.link("seg0", "mine") is not None, "not a sandbox's links"
    assert not converge(Sandboxes, config=config[1:], networks=NETWORKS, state="overridden")["changed"]


def test_a_namespace_made_by_hand_that_was_never_plugged_is_left_alone(host, converge, kernel):
    before = set(kernel.links)
    assert not converge(Sandboxes, config=SANDBOXES, networks=NETWORKS, state="overridden")["changed"]
    assert set(kernel.links) == before and kernel.netns["handmade"] == FOREIGN_INODE
