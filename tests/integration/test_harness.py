# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulated fleet itself: private hosts, and nothing left behind by down or sweep."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import simfleet
from conftest import REPO, sh


def lab_links(fleet_id):
    mine = "%s%d" % (simfleet.PREFIX, fleet_id)
    return [n for n in simfleet._link_names() if n == mine or n.startswith(mine + "h")]


@pytest.fixture
def spare(tmp_path):
    fleet = simfleet.Fleet(tmp_path / "spare", size=1, python=sys.executable)
    yield fleet
    fleet.down()


def test_hosts_are_private(fleet):
    sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
    assert sh(sim1, "hostname").strip() == "sim1" and sh(sim2, "hostname").strip() == "sim2"
    sh(sim1, "ip netns add private-probe && mkdir -p /etc/netns/private-probe /usr/local/lib/private-probe")
    try:
        assert "private-probe" not in sh(sim2, "ls /run/netns 2>/dev/null || true")
        assert not os.path.exists("/run/netns/private-probe"), "a simulated host wrote into the real /run"
        assert not os.path.exists("/etc/netns/private-probe"), "a simulated host wrote into the real /etc"
        # Where the boot restore's command goes by default (/usr/local/lib/netmodes)
        assert not os.path.exists("/usr/local/lib/private-probe"), "a simulated host wrote into the real /usr/local/lib"
        assert "private-probe" not in sh(sim2, "ls /usr/local/lib")
        sh(sim1, "ping -c 1 -W 2 %s" % sim2.address)
    finally:
        sh(sim1, "ip netns del private-probe; rm -rf /etc/netns/private-probe /usr/local/lib/private-probe")


def test_down_leaves_nothing(spare):
    spare.up()
    fleet_id, pids = spare.fleet_id, [(h.pid, h.unshare_pid) for h in spare.hosts]
    assert lab_links(fleet_id)
    spare.down()
    assert lab_links(fleet_id) == []
    assert not (simfleet.REGISTRY / ("%d.json" % fleet_id)).exists()
    assert not any(simfleet.running(p) for pair in pids for p in pair)


def test_sweep_removes_a_fleet_whose_processes_died(spare):
    spare.up()
    fleet_id = spare.fleet_id
    for host in spare.hosts:  # a crashed test run: the processes are gone, the links remain
        os.kill(host.unshare_pid, signal.SIGKILL)
        os.kill(host.pid, signal.SIGKILL)
        host.proc.wait(timeout=10)
    pids = [pid for host in spare.hosts for pid in (host.pid, host.unshare_pid)]
    deadline = time.monotonic() + 10
    while any(simfleet.running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)  # SIGKILL is delivered asynchronously
    spare.hosts, spare.fleet_id = [], None
    assert fleet_id in simfleet.sweep()
    assert lab_links(fleet_id) == []


def _save_until(fleet, deadline):
    while time.monotonic() < deadline:
        fleet._save()  # what up() does once its hosts run, without the registry lock


def test_a_sweep_never_reads_a_half_saved_entry(spare):
    # Parallel workers: one saves its starting fleet's registry entry while another sweeps.
    spare.up()
    deadline = time.monotonic() + 3
    writer = multiprocessing.get_context("fork").Process(target=_save_until, args=(spare, deadline))
    writer.start()
    try:
        while time.monotonic() < deadline:
            assert spare.fleet_id not in simfleet.sweep()
    finally:
        writer.join()
    assert writer.exitcode == 0
    assert lab_links(spare.fleet_id)


def test_a_number_given_back_is_not_claimed_again_at_once(tmp_path):
    # A worker checking that its stopped fleet left nothing must not find a newcomer's links there.
    first = simfleet.Fleet(tmp_path / "first", size=1, python=sys.executable)
    second = simfleet.Fleet(tmp_path / "second", size=1, python=sys.executable)
    try:
        first.up()
        fleet_id = first.fleet_id
        first.down()
        second.up()
        assert second.fleet_id != fleet_id
        assert lab_links(fleet_id) == []
    finally:
        first.down()
        second.down()


def test_cli_starts_enters_and_stops_a_fleet(tmp_path):
    """simfleet.py as a user runs it, in a fresh interpreter (not the module this session imported):
    up prints the inventory, sh runs inside a host, down leaves no lab link behind."""
    cli = [sys.executable, str(REPO / "tests" / "harness" / "simfleet.py")]
    workdir, fleet_id = tmp_path / "cli", None
    up = subprocess.run(cli + ["up", "--hosts", "1", "--workdir", str(workdir)], capture_output=True, text=True, timeout=300, check=False)
    try:
        assert up.returncode == 0, up.stderr
        inventory = Path(up.stdout.strip())
        assert inventory.is_file() and "sim1" in inventory.read_text(), up.stdout
        fleet_id = simfleet.Fleet.load(workdir).fleet_id
        assert lab_links(fleet_id), "up made no lab link"
        inside = subprocess.run(cli + ["sh", "--workdir", str(workdir), "sim1", "--", "hostname"], capture_output=True, text=True,
                                timeout=60, check=False)
        assert (inside.returncode, inside.stdout.strip()) == (0, "sim1"), inside.stderr
        failing = subprocess.run(cli + ["sh", "--workdir", str(workdir), "sim1", "--", "sh", "-c", "exit 7"], timeout=60, check=False)
        assert failing.returncode == 7, "sh passes the command's exit status on"
    finally:
        down = subprocess.run(cli + ["down", "--workdir", str(workdir)], capture_output=True, text=True, timeout=120, check=False)
    assert down.returncode == 0, down.stderr
    assert lab_links(fleet_id) == [], "down left lab links"


@pytest.mark.parametrize("tool", ["nft", "iptables-legacy-save", "bridge"])
def test_a_snapshot_that_cannot_be_taken_fails(sim1, tool):
    """hostsnap.py ends with an error naming the tool when one of its tools fails, instead of
    reading the failure as an empty firewall (or fdb) that would be equal on both sides."""
    sh(sim1, "mkdir -p /etc/broken-tools && printf '#!/bin/sh\\necho broken >&2\\nexit 3\\n' > /etc/broken-tools/%s"
             " && chmod +x /etc/broken-tools/%s" % (tool, tool))
    try:
        proc = sim1.run("cd %s && PATH=/etc/broken-tools:$PATH %s tests/harness/hostsnap.py" % (REPO, sys.executable), check=False)
    finally:
        sh(sim1, "rm -rf /etc/broken-tools")
    assert proc.returncode != 0 and proc.stdout == "", proc.stdout[:500]
    assert "%s" % tool in proc.stderr and "failed (3)" in proc.stderr, proc.stderr


def test_etc_netns_lists_what_is_there(ansible, sim1, fleet):
    """After site.yml and `ip netns exec` use (a process left running in a sandbox with its
    files mounted), /etc/netns lists, over ssh as a user reaches the host and through the
    harness alike, exactly what the host's /etc holds there (its overlay's upper layer):
    a leak check that lists the directory sees every sandbox's."""
    declared = {"target": "sim1", "netmodes_requirements": False, "netmodes_networks": [{"name": "br0", "subnet": "10.231.204.0/24"}],
                "netmodes_sandboxes": [{"name": "web", "network_mode": "br0"}, {"name": "db", "network_mode": "br0"}]}
    run = ansible.collection_playbook("site", declared)
    assert not run.failed, run
    held = sh(sim1, "cd /tmp && setsid ip netns exec web sleep 600 >/dev/null 2>&1 </dev/null & echo $!").strip()
    try:
        assert sh(sim1, "getent hosts db", netns="web").split()[1:] == ["db"]
        sh(sim1, "ip netns exec db cat /etc/hosts >/dev/null && touch /etc/netns/by-hand")
        there = sorted(sh(sim1, "ls -A /run/simfleet/upper/netns").split())
        assert there == [".netmodes", "by-hand", "db", "web"]
        ssh = ["ssh", "-i", str(fleet.workdir / "id_ed25519"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "ControlPath=none", "root@%s" % sim1.address]
        listed = {
            "ssh ls": subprocess.run(ssh + ["ls -A /etc/netns"], capture_output=True, text=True, timeout=60, check=False).stdout,
            "ssh os.listdir": subprocess.run(ssh + ["%s -c 'import os; print(\"\\n\".join(os.listdir(\"/etc/netns\")))'" % sys.executable],
                                             capture_output=True, text=True, timeout=60, check=False).stdout,
            "harness ls": sh(sim1, "ls -A /etc/netns"),
            "in the sandbox": sh(sim1, "ls -A /etc/netns", netns="web"),
        }
        assert {how: sorted(out.split()) for how, out in listed.items()} == {how: there for how in listed}
    finally:
        sim1.run("kill %s; rm -f /etc/netns/by-hand" % held, check=False)
