# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole host in one plan (sandboxes with converge_networks, as site.yml runs it): check mode
plans exactly the operations the real run then applies, across declaration changes."""

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict
from ansible_collections.netmodes.linux.tests.shared.declaration_changes import changed, renamed, without

NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16"}, {"name": "back", "subnet": "172.30.0.0/16", "internal": True}]
SANDBOXES = [
    {"name": "web", "network_mode": "br0", "publish": ["8080:80"]},
    {"name": "db", "network_mode": "br0", "networks": ["back"], "aliases": ["database"]},
    {"name": "side", "network_mode": "container:web"},
    {"name": "quiet", "network_mode": "none"},
    {"name": "legacy", "network_mode": "bridge"},
    {"name": "web2", "network_mode": "host", "ports": [9090]},
]


CHANGES = {
    "first run": (NETWORKS, SANDBOXES),
    "add a sandbox": (NETWORKS, SANDBOXES + [{"name": "cache", "network_mode": "br0", "publish": ["6379:6379"]}]),
    "remove a sandbox (pruned)": (NETWORKS, without(SANDBOXES, "legacy")),
    "rename with a sidecar and the port moving": (NETWORKS, renamed(SANDBOXES, "web", "www")),
    "a port moves to another sandbox": (NETWORKS, changed(changed(SANDBOXES, "web", publish=[]), "db", publish=["8080:5432"])),
    "a sandbox swaps networks": (NETWORKS, changed(SANDBOXES, "db", network_mode="back", networks=["br0"])),
    "a network goes with its members": ([NETWORKS[0]], changed(SANDBOXES, "db", networks=[])),
    "a new network with a new member": (NETWORKS + [{"name": "extra", "subnet": "172.31.0.0/16"}],
                                        SANDBOXES + [{"name": "app", "network_mode": "extra", "publish": ["8081:80"]}]),
}


def plan(converge, networks, sandboxes, check):
    return converge(Sandboxes, check=check, config=sandboxes, networks=networks, state="overridden", converge_networks=True)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_check_mode_plans_the_run(converge, files, change):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    if change != "first run":
        plan(converge, NETWORKS, SANDBOXES, False)
    networks, sandboxes = CHANGES[change]
    check = plan(converge, networks, sandboxes, True)
    run = plan(converge, networks, sandboxes, False)
    assert check["operations"] == run["operations"]
    assert check["changed"] and run["changed"]
    assert not [w for w in check.get("warnings", []) if "netmodes.linux." in w], check["warnings"]
    assert not plan(converge, networks, sandboxes, False)["changed"]
    target = next(s["network_mode"].partition(":")[2] for s in sandboxes if s["name"] == "side")
    assert files.shared == {"side": target}, "the sidecar shows its target's files (after a rename, the new name's)"


def test_a_refusal_only_a_later_step_finds_comes_before_the_first_change(converge, refused, kernel, files):
    """A handmade namespace named like a declared sandbox, with a link of its own called eth0: the
    veth of that sandbox cannot be made. Planned whole first, the run changes nothing."""
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    kernel.netns_create("db")
    kernel.owned.pop("db")
    kernel.link_add_veth("handmade", "eth0", netns="db")
    refused(Sandboxes, Conflict, "eth0 already exists in sandbox db", config=SANDBOXES, networks=NETWORKS,
            state="overridden", converge_networks=True)


def test_a_pruned_sandbox_with_processes_running_is_named_with_them(converge, kernel, sockets, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    plan(converge, NETWORKS, SANDBOXES, False)
    sockets.running[kernel.netns_inode("legacy")] = [(4242, "python3 -m http.server 80")]
    for check in (True, False):
        found = plan(converge, NETWORKS, without(SANDBOXES, "legacy"), check).get("warnings", [])
        assert [w for w in found if "sandbox legacy is pruned" in w and "pid 4242 (python3 -m http.server 80)" in w], found
