# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two playbooks converging one host at once take turns on the host's lock and leave it right;
a run that waits too long for the lock fails naming the holder, and changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from conftest import BACKENDS, REPO, assert_unchanged, firewall, sh, sh_json, snapshot, use_backend

NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16", "dns": False}]  # every member in every hosts file
FIRST = [{"name": "web", "network_mode": "br0", "publish": ["8080:80"]},
         {"name": "db", "network_mode": "br0", "publish": ["5432:5432"]}]
SECOND = FIRST + [{"name": "cache", "network_mode": "br0", "publish": ["6379:6379"]},
                  {"name": "quiet", "network_mode": "none"}]

# Holds the host's lock inside a simulated host, as a netmodes.linux run would, for some seconds
# or until its stdin is closed (nsenter forks, so killing it would not end the holder).
HOLDER = ("import select, sys; sys.path.insert(0, %r)\n"
          "from ansible_collections.netmodes.linux.plugins.module_utils import _lock\n"
          "with _lock.host_lock('netmodes.linux.sandboxes'):\n"
          "    print('held', flush=True); select.select([sys.stdin], [], [], %%d)\n" % str(REPO))


def declared(sandboxes):
    return {"target": "sim1", "netmodes_networks": NETWORKS, "netmodes_sandboxes": sandboxes}


def published(host):
    """Every published port element in our table, duplicates kept."""
    listing = sh_json(host, "nft -j list table inet netmodes")["nftables"]
    return sorted(json.dumps(e, sort_keys=True) for item in listing for e in item.get("map", {}).get("elem", []))


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_site_runs_at_once_take_turns_and_leave_the_host_right(ansible, sim1, backend):
    use_backend(sim1, backend)
    runs = {}
    threads = [threading.Thread(target=lambda key=key, boxes=boxes: runs.__setitem__(key, ansible.collection_playbook("site", declared(boxes))))
               for key, boxes in (("first", FIRST), ("second", SECOND))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not runs["first"].failed, runs["first"]
    assert not runs["second"].failed, runs["second"]

    assert sorted(sh(sim1, "ls /run/netns").split()) == ["cache", "db", "quiet", "web"]
    addresses = {name: sh(sim1, "ip -br addr show eth0", netns=name).split()[2] for name in ("cache", "db", "web")}
    assert len(set(addresses.values())) == 3, "an address was handed out twice: %s" % addresses
    for name in ("cache", "db", "web"):
        hosts = sh(sim1, "cat /etc/netns/%s/hosts" % name)
        for other in {"cache", "db", "web"} - {name}:
            assert "%s\t%s" % (addresses[other].split("/")[0], other) in hosts, "%s does not resolve %s:\n%s" % (name, other, hosts)
    rules = firewall(sim1)
    if backend == "iptables":
        lines = [line for line in rules.splitlines() if line.startswith("-A")]
        assert len(lines) == len(set(lines)), "a rule is there twice:\n%s" % rules
        assert sum("--dport 6379" in line and "-j DNAT" in line for line in lines) == 1
    else:
        elements = published(sim1)
        assert len(elements) == len(set(elements)), "an element is there twice"
        assert sum("6379" in e for e in elements) >= 1
    declared_file = json.loads(sh(sim1, "cat /etc/netmodes/declared.json"))
    assert sorted(s["name"] for s in declared_file["sandboxes"]) == ["cache", "db", "quiet", "web"], "the boot restore knows both runs' sandboxes"

    for boxes in (FIRST, SECOND):
        again = ansible.collection_playbook("site", declared(boxes))
        assert not again.failed and not again.changed, "a second run changed something\n%r" % again


def hold_lock(host, seconds):
    """Start a process in HOST that holds the host's lock for SECONDS; returns it once it holds."""
    proc = subprocess.Popen(host.nsenter(sys.executable, "-c", HOLDER % seconds), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def release(holder):
    holder.stdin.close()
    holder.wait(30)


def test_a_held_lock_times_out_naming_the_holder_and_changes_nothing(ansible, sim1):
    before = snapshot(sim1)
    holder = hold_lock(sim1, 120)
    try:
        pid = json.loads(sh(sim1, "cat /run/netmodes/lock"))["pid"]
        run = ansible.adhoc("sim1", "sandboxes", {"config": FIRST, "networks": NETWORKS, "lock_timeout": 2})
        assert run.failed
        result = run.result()
        assert result["error"] == "Busy" and result["field"] == "lock_timeout", result
        assert result["msg"].startswith("the host is busy: netmodes.linux.sandboxes (pid %d, for " % pid), result["msg"]
        assert "did not finish within 2 s" in result["msg"] and "NETMODES_LOCK_TIMEOUT" in result["msg"]
        assert_unchanged(before, snapshot(sim1))
        info = ansible.adhoc("sim1", "net_info", {"lock_timeout": 1})
        assert info.failed and "the host is busy" in info.result()["msg"], "a read waits for a run that changes state"
    finally:
        release(holder)


# Whether a process of the host other than the holder (PID) has /run/netmodes/lock open: a run
# inside host_lock, waiting for the lock or holding it.
LOCK_OPEN = ("for p in /proc/[0-9]*; do [ ${p#/proc/} = %d ] && continue;"
             " ls -l $p/fd 2>/dev/null | grep -q /run/netmodes/lock && exit 0; done; exit 1")


def test_a_run_waits_for_the_holder_and_then_converges(ansible, sim1):
    """Shown by order, not by time: the run reaches the lock while another process holds it, has
    changed nothing and is still going while the holder holds it, and converges once released."""
    holder = hold_lock(sim1, 120)
    lock_open = LOCK_OPEN % json.loads(sh(sim1, "cat /run/netmodes/lock"))["pid"]
    runs = []
    thread = threading.Thread(target=lambda: runs.append(ansible.adhoc("sim1", "networks", {"config": NETWORKS})))
    try:
        thread.start()
        for _attempt in range(600):  # a bound for a run that never comes, not a measurement
            if sim1.run(lock_open, check=False).returncode == 0 or not thread.is_alive():
                break
            time.sleep(0.1)
        assert thread.is_alive(), "the run ended while another process held the lock: %r" % runs
        assert sim1.run(lock_open, check=False).returncode == 0, "the run never reached the lock"
        assert sim1.run("ip link show br0", check=False).returncode != 0, "the run changed the host while the lock was held"
        assert thread.is_alive(), "the run ended while another process held the lock: %r" % runs
    finally:
        release(holder)
        thread.join(300)
    (run,) = runs
    assert not run.failed and run.changed, run
    assert sh(sim1, "ip -br addr show br0").split()[2] == "172.18.0.1/16"
