# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml and the roles: a host declared in Docker's vocabulary, as a user runs it."""

from __future__ import annotations

from conftest import assert_unchanged, sh, snapshot
from test_portmap import Processes, status

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
    assert sh(sim1, "getent hosts db", netns="web").split()[0] == "172.18.0.3"
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
    assert "container:x names the sandbox itself" in run.stdout + str(run.results()), run
    assert_unchanged(before, snapshot(sim1))
