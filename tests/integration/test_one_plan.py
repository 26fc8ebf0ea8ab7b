# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml converges a host in one plan: check mode reports what the run then does, a
declaration change applies whole in one run (a rename with a sidecar, a port moving, a network
removed with its members) and leaves nothing behind."""

from __future__ import annotations

import re

import hostsnap
import pytest
from conftest import reset, sh, snapshot
from test_portmap import Processes, status

from ansible_collections.netmodes.linux.tests.shared.declaration_changes import changed, renamed, without

NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16"}, {"name": "back", "subnet": "172.30.0.0/16", "internal": True}]
SANDBOXES = [
    {"name": "web", "network_mode": "br0", "publish": ["8080:80"]},
    {"name": "db", "network_mode": "br0", "networks": ["back"], "aliases": ["database"]},
    {"name": "side", "network_mode": "container:web"},
    {"name": "quiet", "network_mode": "none"},
    {"name": "legacy", "network_mode": "bridge", "publish": ["8081:80"]},
    {"name": "web2", "network_mode": "host", "ports": [9090]},
]


def declared(networks, sandboxes):
    return {"target": "sim1", "netmodes_prune": True, "netmodes_networks": networks, "netmodes_sandboxes": sandboxes}


BASE = declared(NETWORKS, SANDBOXES)


CHANGES = {
    "first run": BASE,
    # The subnets picked by the plan, the default bridge's after the others' (not one of theirs)
    "first run, subnets picked": declared([{"name": n["name"], "internal": n.get("internal", False)} for n in NETWORKS], SANDBOXES),
    "add a sandbox": declared(NETWORKS, SANDBOXES + [{"name": "cache", "network_mode": "br0", "publish": ["6379:6379"]}]),
    "remove a sandbox (pruned)": declared(NETWORKS, without(SANDBOXES, "legacy")),
    "rename with a sidecar": declared(NETWORKS, renamed(SANDBOXES, "web", "www")),
    "a port moves to another sandbox": declared(NETWORKS, changed(changed(SANDBOXES, "web", publish=[]), "db", publish=["8080:5432"])),
    "a sandbox swaps networks": declared(NETWORKS, changed(SANDBOXES, "db", network_mode="back", networks=["br0"])),
    "a network goes with its members": declared(NETWORKS[:1], changed(SANDBOXES, "db", networks=[])),
    "a new network with a member": declared(NETWORKS + [{"name": "extra", "subnet": "172.31.0.0/16"}],
                                            SANDBOXES + [{"name": "app", "network_mode": "extra", "publish": ["8082:80"]}]),
}
ONE_PLAN = "Converge the networks and the sandboxes of every mode, in one plan"


def site(ansible, declaration, check=False):
    run = ansible.collection_playbook("site", declaration, check=check, diff=check)
    assert not run.failed, run
    return run


def planned(run):
    """(changed, operations, warnings) of the tasks that converge networks, sandboxes and the boot
    restore, in order (one task: the host's plan)."""
    results = [r["result"] for r in run.records if r["host"] == "sim1" and "operations" in r["result"]]
    return (any(r.get("changed") for r in results), [op for r in results for op in r["operations"]],
            [w for r in results for w in r.get("warnings", [])])


@pytest.mark.parametrize("change", list(CHANGES))
def test_check_mode_plans_what_the_run_does(ansible, sim1, change):
    if not change.startswith("first run"):
        site(ansible, BASE)
    check_changed, check_ops, warnings = planned(site(ansible, CHANGES[change], check=True))
    run = site(ansible, CHANGES[change])
    run_changed, run_ops, _warnings = planned(run)
    assert run_changed and check_changed, "%s: the run or its check reported no change" % change
    assert check_ops == run_ops, "%s: check mode planned\n%s\nthe run did\n%s" % (change, check_ops, run_ops)
    assert not [w for w in warnings if "netmodes.linux." in w or "check mode" in w], warnings
    tasks = [r["task"] for r in run.records if r["host"] == "sim1" and "operations" in r["result"]]
    assert len(tasks) == 1 and tasks[0].endswith(ONE_PLAN), tasks
    assert not planned(site(ansible, CHANGES[change]))[0], "%s: a re-run changed something" % change


def test_a_rename_with_a_sidecar_converges_in_one_run_and_the_port_moves(ansible, sim1, fleet):
    site(ansible, BASE)
    procs = Processes()
    try:
        old = procs.start(sim1, "ip netns exec web /usr/bin/python3 -m http.server 80")
        sh(sim1, "for i in $(seq 300); do ip netns exec web curl -s -o /dev/null http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1")
        run = site(ansible, CHANGES["rename with a sidecar"])
        _changed, _ops, warnings = planned(run)
        found = [w for w in warnings if w.startswith("sandbox web is pruned")]
        assert found and re.search(r"pid %s \([^)]*http\.server 80" % old, found[0]), warnings
        assert sh(sim1, "stat -L -c %i /run/netns/side") == sh(sim1, "stat -L -c %i /run/netns/www"), "side shares www's namespace"
        assert not sh(sim1, "ls /run/netns").split().count("web")
        procs.start(sim1, "ip netns exec www /usr/bin/python3 -m http.server 80")
        sh(sim1, "for i in $(seq 300); do ip netns exec www curl -s -o /dev/null http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1")
        assert status(fleet.host("sim2"), "http://%s:8080/" % sim1.address) == "200", "the published port reaches www"
        assert not planned(site(ansible, CHANGES["rename with a sidecar"]))[0]
    finally:
        procs.stop()


def test_removing_a_network_with_its_members_leaves_what_a_fresh_host_has(ansible, sim1):
    """No eth1, address or route of back left in db, no host end without its bridge: the host is
    the one a fresh run of the new declaration builds."""
    after = CHANGES["a network goes with its members"]
    site(ansible, BASE)
    site(ansible, after)
    assert "eth1" not in sh(sim1, "ip -o link show", netns="db")
    assert "172.30." not in sh(sim1, "ip -o addr show", netns="db") + sh(sim1, "ip route show", netns="db")
    converged = hostsnap.comparable(snapshot(sim1))
    reset(sim1)
    site(ansible, after)
    fresh = hostsnap.comparable(snapshot(sim1))
    found = hostsnap.differences(fresh, converged)
    assert not found, "the converged host differs from a fresh one:\n%s" % "\n".join(found[:40])
