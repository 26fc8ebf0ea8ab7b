# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml and the roles: a host declared in Docker's vocabulary, as a user runs it."""

from __future__ import annotations

import re

from conftest import assert_unchanged, sh, snapshot
from test_portmap import Processes, status

# The roles' own names for the inventory's variables, which an error must not show the user.
ROLE_VARIABLES = re.compile(r"\b(sandboxes_config|sandboxes_networks|sandboxes_prune|sandboxes_firewall_backend|networks_config"
                            r"|networks_sandboxes|requirements_firewall_backend|boot_restore_\w+)\b")

DECLARED = {
    "target": "sim1",
    "netmodes_networks": [{"name": "br0", "subnet": "172.18.0.0/16"}],
    "netmodes_sandboxes": [
        {"name": "web", "network_mode": "br0", "publish": ["8080:80"]},
        {"name": "db", "network_mode": "br0"},
        {"name": "side", "network_mode": "container:web"},
        {"name": "quiet", "network_mode": "none"},
        {"name": "web2", "network_mode": "host", "ports": [9090]},
    ],
}


def test_site_converges_and_a_rerun_changes_nothing(ansible, sim1, fleet):
    before = snapshot(sim1)
    check = ansible.collection_playbook("site", DECLARED, check=True)
    assert not check.failed and check.changed, check
    assert_unchanged(before, snapshot(sim1), "check mode")
    run = ansible.collection_playbook("site", DECLARED)
    assert not run.failed and run.changed, run
    again = ansible.collection_playbook("site", DECLARED)
    assert not again.failed and not again.changed, "a re-run on an unchanged inventory changed something\n%r" % again
    # names: br0's resolver (issue 18) is web's nameserver, and side's, which shows web's files
    assert sh(sim1, "grep ^nameserver /etc/resolv.conf", netns="web").split() == ["nameserver", "172.18.0.1"]
    assert sh(sim1, "cat /etc/resolv.conf", netns="side") == sh(sim1, "cat /etc/resolv.conf", netns="web")
    procs = Processes()
    try:
        procs.start(sim1, "ip netns exec web /usr/bin/python3 -m http.server 80")
        sh(sim1, "for i in $(seq 300); do ip netns exec web curl -s -o /dev/null http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1")
        assert status(fleet.host("sim2"), "http://%s:8080/" % sim1.address) == "200"
    finally:
        procs.stop()


def test_a_bad_sandbox_fails_the_host_before_anything_is_made(ansible, sim1):
    before = snapshot(sim1)
    bad = dict(DECLARED, netmodes_sandboxes=DECLARED["netmodes_sandboxes"] + [{"name": "x", "network_mode": "container:x"}])
    run = ansible.collection_playbook("site", bad)
    assert run.failed
    assert "netmodes_sandboxes[5] (x): network_mode: container:x names the sandbox itself" in run.stdout + str(run.results()), run
    assert not ROLE_VARIABLES.search(run.stdout + run.stderr), run
    assert_unchanged(before, snapshot(sim1))


def test_a_wrong_typed_inventory_variable_is_named_without_the_argument_spec(ansible, sim1):
    """A role's argument error names the user's variable (netmodes_sandboxes, netmodes_networks, ...),
    not the role's internal one, and does not print the role's argument spec."""
    before = snapshot(sim1)
    wrong = [("netmodes_sandboxes", "web", "not a list"), ("netmodes_networks", "br0", "not a list"),
             ("netmodes_prune", "maybe", "not a boolean"), ("netmodes_firewall_backend", "ufw", "choose auto, nftables or iptables"),
             ("netmodes_boot_restore", "maybe", "not a boolean"), ("netmodes_boot_restore_command", "bin/restore", "not an absolute path"),
             ("netmodes_boot_restore_watch", "maybe", "not a boolean")]
    for variable, value, words in wrong:
        for check in (True, False):
            run = ansible.collection_playbook("site", dict(DECLARED, **{variable: value}), check=check)
            assert run.failed, run
            said = run.stdout + run.stderr
            assert variable in said, run
            assert words in said, run
            assert "argument_spec" not in said and "Validation of arguments failed" not in said, run
            assert not ROLE_VARIABLES.search(said), run
    assert_unchanged(before, snapshot(sim1))


def test_a_wrong_typed_role_variable_is_named_without_the_argument_spec(ansible, sim1):
    """A play that sets a role's own variable (sandboxes_dns) is told which, and not shown the role's spec."""
    before = snapshot(sim1)
    run = ansible.collection_playbook("site", dict(DECLARED, sandboxes_dns="maybe"))
    assert run.failed, run
    said = run.stdout + run.stderr
    message = " ".join(str(r.get("msg", "")) for r in run.results())  # the callbacks of ansible-core lines wrap and quote it apart
    assert "'sandboxes_dns'" in message and "'maybe' is not a valid boolean" in message, run
    assert "argument_spec" not in said, run
    assert_unchanged(before, snapshot(sim1))


def test_an_entry_that_is_not_a_dict_is_named_with_its_index(ansible, sim1):
    """netmodes_sandboxes[5], as the inventory counts, not the role's or the module's config[5]."""
    before = snapshot(sim1)
    bad = dict(DECLARED, netmodes_sandboxes=DECLARED["netmodes_sandboxes"] + ["web3"])
    run = ansible.collection_playbook("site", bad)
    assert run.failed, run
    assert "netmodes_sandboxes[5] is a string, not a dict" in run.stdout + run.stderr, run
    assert "argument_spec" not in run.stdout + run.stderr, run
    assert not ROLE_VARIABLES.search(run.stdout + run.stderr), run
    assert_unchanged(before, snapshot(sim1))
