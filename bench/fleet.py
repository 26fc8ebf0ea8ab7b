# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: playbooks/site.yml on simulated fleets of 5, 20 and 50 hosts, against Ansible's floor.

Every host declares 10 sandboxes: 5 on an overlay network that spans all hosts, 5 on a local
bridge network with one published port each. For each fleet size it prints
- up: how long the fleet took to start; rss: the resident memory of every process in the
  fleet's hosts (sshd, modules, and the rest: summed over their PID namespaces), idle after the
  start and at its peak over the runs, sampled every 0.5 s; and the peak drop of the machine's
  MemAvailable over the same time (kernel objects and Ansible's processes on the controller
  included, and whatever else the machine runs meanwhile);
- first: the wall time of ``ansible-playbook playbooks/site.yml`` on the fresh fleet, and no-op:
  the same run again, with nothing to change (changed= is the sum of the recap's);
- floor: the same inventory, ansible.cfg and forks running a playbook of two trivial module
  tasks per host (ping, and command true): what Ansible itself needs to visit the fleet;
  the ratios of first and no-op to it. The no-op and the floor run in turns, three times each,
  and their medians are printed (one run of either moves by half on a shared machine);
- name check: from a sandbox of the first host, the overlay member of the last host resolved by
  name (getent) and reached (one ping);
- load: the machine's 1-minute load average before and after the size's runs.
Connections are warmed up by one untimed floor run first, so every timed run finds its ssh
masters open. Sizes: --sizes 5 20, or FLEET_SIZES=5,20 in the environment.

Prints numbers and asserts nothing; exits non-zero only when a run itself fails. Run as root
from the repo root: `make bench`.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _lab import PY, REPO, simfleet

SITE = REPO / "playbooks" / "site.yml"
ANSIBLE_PLAYBOOK = Path(PY).parent / "ansible-playbook"
OVERLAY = {"name": "ov", "driver": "overlay", "hosts": "sim", "subnet": "10.231.224.0/19", "max_hosts": 64}
BRIDGE = {"name": "lb", "subnet": "10.231.110.0/24"}
PER_NETWORK = 5
ROUNDS = 3
FLOOR = """\
- name: Ansible's floor, two trivial module tasks per host
  hosts: sim
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
    - name: Run true
      ansible.builtin.command: "true"
      changed_when: false
"""


def declaration(fleet):
    """The inventory beside the fleet's own: every host's sandboxes, and the networks for all."""
    hosts = {}
    for host in fleet.hosts:
        overlay = [{"name": "o%d-%s" % (i, host.name), "network_mode": OVERLAY["name"]} for i in range(1, PER_NETWORK + 1)]
        bridge = [{"name": "b%d" % i, "network_mode": BRIDGE["name"], "publish": ["%d:80" % (8080 + i)]}
                  for i in range(1, PER_NETWORK + 1)]
        hosts[host.name] = {"netmodes_sandboxes": overlay + bridge}
    return {"sim": {"hosts": hosts, "vars": {"netmodes_networks": [OVERLAY, BRIDGE]}}}


class Memory(threading.Thread):
    """Samples, every 0.5 s until stopped, the fleet's resident memory and the machine's
    MemAvailable; keeps the peak of the one and the lowest of the other."""

    def __init__(self, fleet):
        super().__init__(daemon=True)
        self.namespaces = {os.readlink("/proc/%d/ns/pid" % host.pid) for host in fleet.hosts}
        self.rss, self.lowest, self.halt = 0, mem_available(), threading.Event()

    def fleet_rss(self):
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/ns/pid" % entry) in self.namespaces:
                    with open("/proc/%s/status" % entry) as handle:
                        total += next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0) * 1024
            except OSError:
                pass  # gone meanwhile
        return total

    def run(self):
        while not self.halt.wait(0.5):
            self.rss, self.lowest = max(self.rss, self.fleet_rss()), min(self.lowest, mem_available())

    def stop(self):
        self.halt.set()
        self.join()


def mem_available():
    with open("/proc/meminfo") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("MemAvailable:")) * 1024


def playbook(inventories, path, what):
    """Run ansible-playbook PATH; (seconds, changed= summed over the recap). Exits when it fails."""
    argv = [str(ANSIBLE_PLAYBOOK), str(path)]
    for inventory in inventories:
        argv += ["-i", str(inventory)]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=7200)
    elapsed = time.monotonic() - start
    recap = re.findall(r"changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    if proc.returncode != 0 or not recap or any(int(u) or int(f) for _c, u, f in recap):
        # What went wrong, host by host, then the recap: a long run's tail alone holds only the recap.
        lines = proc.stdout.splitlines()  # a failure's line and the message under it (the yaml callback)
        wrong = ["\n".join(lines[i:i + 6]) for i, line in enumerate(lines) if line.startswith(("fatal:", "failed:")) or "UNREACHABLE" in line]
        parts = (what, proc.returncode, "\n".join(wrong)[-6000:], proc.stdout[-6000:], proc.stderr[-2000:])
        raise SystemExit("%s failed (rc %d):\n%s\n%s\n%s" % parts)
    return elapsed, sum(int(c) for c, _u, _f in recap)


def name_check(fleet):
    """From o1 of the first host, o1 of the last host by name: 'ADDRESS, ping ok' or what failed."""
    first, last = fleet.hosts[0], fleet.hosts[-1]
    source, target = "o1-%s" % first.name, "o1-%s" % last.name
    found = first.run("ip netns exec %s getent hosts %s" % (source, target), check=False)
    if found.returncode != 0:
        return "%s -> %s: not resolved" % (source, target)
    address = found.stdout.split()[0]
    ping = first.run("ip netns exec %s ping -c 1 -W 2 %s" % (source, target), check=False)
    return "%s -> %s = %s, ping %s" % (source, target, address, "ok" if ping.returncode == 0 else "FAILED")


def measure(size, tmp):
    load_before = os.getloadavg()[0]
    free_before = mem_available()
    workdir = Path(tmp) / ("fleet-%d" % size)
    start = time.monotonic()
    with simfleet.Fleet(workdir, size=size, python=PY) as fleet:
        up = time.monotonic() - start
        memory = Memory(fleet)
        idle = memory.fleet_rss()
        memory.start()
        mine = workdir / "declaration.json"
        mine.write_text(json.dumps(declaration(fleet)))
        floor_play = workdir / "floor.yml"
        floor_play.write_text(FLOOR)
        inventories = (fleet.inventory, mine)
        playbook(inventories, floor_play, "the warm-up run")
        first, first_changed = playbook(inventories, SITE, "the first site.yml run")
        # The no-op and the floor taken in turns, ROUNDS times, and their medians compared: on a
        # shared machine one run of either moves by half (the floor of 20 hosts went from 8.5 s
        # to 14.9 s between two runs); the first run happens once per fleet.
        noops, floors, noop_changed = [], [], 0
        for _round in range(ROUNDS):
            seconds, changed = playbook(inventories, SITE, "a no-op site.yml run")
            noops.append(seconds)
            noop_changed = max(noop_changed, changed)
            floors.append(playbook(inventories, floor_play, "the floor's run")[0])
        noop, floor = statistics.median(noops), statistics.median(floors)
        names = name_check(fleet)
        memory.stop()
    return {"hosts": size, "up": up, "idle": idle, "peak": memory.rss, "drop": free_before - memory.lowest, "first": first, "first_changed": first_changed,
            "noop": noop, "noop_changed": noop_changed, "floor": floor, "names": names,
            "load": (load_before, os.getloadavg()[0])}


def sizes_from(text):
    return [int(part) for part in text.replace(",", " ").split()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=sizes_from(os.environ.get("FLEET_SIZES") or "5,20,50"),
                        help="fleet sizes (default: FLEET_SIZES, else 5,20,50)")
    args = parser.parse_args()
    mib = 1024 * 1024
    config = configparser.ConfigParser()
    config.read(REPO / "ansible.cfg")
    print("site.yml: %d sandboxes per host (%d on overlay %s across all hosts, %d on bridge %s publishing a port each);"
          " forks %s (ansible.cfg), %d cores" % (2 * PER_NETWORK, PER_NETWORK, OVERLAY["name"], PER_NETWORK, BRIDGE["name"],
                                                 config.get("defaults", "forks", fallback="5"), os.cpu_count()))
    print("%-5s %7s %21s %9s %9s %7s %9s %8s %8s %11s  %s" % (
        "hosts", "up", "rss idle/peak, drop", "first", "no-op", "floor", "first/fl", "noop/fl", "changed", "load", "name check"))
    with tempfile.TemporaryDirectory(prefix="netmodes-bench-") as tmp:
        for size in args.sizes:
            row = measure(size, tmp)
            print("%-5d %6.2fs %5dM/%5dM, %5dM %8.1fs %8.1fs %6.1fs %8.1fx %7.1fx %4d/%-3d %5.2f>%5.2f  %s" % (
                row["hosts"], row["up"], row["idle"] / mib, row["peak"] / mib, row["drop"] / mib, row["first"], row["noop"], row["floor"],
                row["first"] / row["floor"], row["noop"] / row["floor"], row["first_changed"], row["noop_changed"],
                row["load"][0], row["load"][1], row["names"]))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
