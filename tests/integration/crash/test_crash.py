# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash consistency: a module killed with SIGKILL anywhere in its apply, then run again, leaves
exactly the state of a run that was never interrupted, and nothing half-made or leaked.

For each case (a module call, after a setup), a clean run counts the writes it makes (see
crashpoint.py) and records the host's whole state (tests/harness/hostsnap.py, without the ids
the kernel picks anew). Each crash run then starts from the
same setup, kills the module at one point (just before or just after one write) chosen by a
seeded shuffle of all points, runs the same call again, and requires: the re-run succeeds, the
state equals the clean run's, and a further run reports no change.

CRASH_RUNS (default 30) runs are shared out over the cases by weight; CRASH_RUNS=all (``make
stress``) kills every case at every one of its points instead. CRASH_SEED picks the points; it is
new for every session unless given, and shown before the first run and in every failure, which
names the seed, the run, the point and the write it fell on: the same CRASH_RUNS and CRASH_SEED
repeat it exactly.
"""

from __future__ import annotations

import json
import os
import random
import sys
from dataclasses import dataclass

import pytest
from conftest import REPO, hostsnap, reset, sh, snapshot

EVERY = os.environ.get("CRASH_RUNS") == "all"
RUNS = 0 if EVERY else int(os.environ.get("CRASH_RUNS", "30"))
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1, 10 ** 6))
HERE = "tests/integration/crash"

NETWORKS = [{"name": "front", "subnet": "10.231.201.0/24"},
            {"name": "back", "subnet": "10.231.202.0/24", "internal": True, "icc": False}]
SANDBOXES = [
    {"name": "web", "network_mode": "front", "publish": ["8080:80", "127.0.0.1:9000:90/udp"], "hostname": "web1"},
    {"name": "db", "network_mode": "front", "networks": ["back"], "aliases": ["database"], "dns": ["10.231.201.53"]},
    {"name": "side", "network_mode": "container:web"},
    {"name": "quiet", "network_mode": "none"},
    {"name": "svc", "network_mode": "host", "ports": [9090]},
]
# Dual-stack and IPv6-only networks, made in the same plan as their members.
DUAL_NETWORKS = [{"name": "dual", "ipv6": True, "subnet": ["10.231.207.0/24", "fd31:207::/64"]},
                 {"name": "six", "ipv6": True, "ipv4": False, "subnet": "fd31:208::/64"}]
DUAL_SANDBOXES = [{"name": "a", "network_mode": "dual", "networks": ["six"], "hostname": "a1"}, {"name": "b", "network_mode": "six"},
                  {"name": "c", "network_mode": "dual", "ip6": "fd31:207::c"}]
PLUGGED = ("ip netns add web && ip link add br0 type bridge && ip addr add 10.231.200.1/24 dev br0 && ip link set br0 up"
           " && ip link add vweb type veth peer name eth0 netns web && ip link set vweb master br0 up"
           " && ip -n web addr add 10.231.200.10/24 dev eth0 && ip -n web link set eth0 up")
DNS = {"netns": "web", "hostname": "web1", "domainname": "example.internal", "nameservers": ["10.231.200.53"],
       "search": ["example.internal"], "options": ["ndots:2"], "extra_hosts": ["db:10.231.200.20"],
       "peers": {"cache": "10.231.200.30"}}


def _bridge(backend, **extra):
    return dict({"name": "br0", "addresses": ["10.231.200.1/24"], "mtu": 1400, "stp": True, "icc": False,
                 "firewall_backend": backend}, **extra)


def _ports(backend):
    return {"netns": "web", "bridge": "br0", "ports": ["8080:80", "127.0.0.1:9000:90/udp", "7000-7002:7000-7002"],
            "firewall_backend": backend}


def _sandboxes(backend, state="merged"):
    return {"config": SANDBOXES, "networks": NETWORKS, "state": state, "firewall_backend": backend}


@dataclass(frozen=True)
class Case:
    """A module call to crash, the setup it starts from ("sh" lines or (module, args)), its share of runs."""

    name: str
    module: str
    args: dict
    setup: tuple = ()
    weight: int = 1


CASES = [
    Case("netns", "netns", {"name": "web"}),
    Case("netns-share", "netns", {"name": "side", "share_with": "web"}, ("ip netns add web",)),
    Case("netns-remove", "netns", {"name": "web", "state": "absent"},
         (("netns", {"name": "web"}), ("netns", {"name": "side", "share_with": "web"}))),
    Case("bridge-nftables", "bridge", _bridge("nftables"), weight=2),
    Case("bridge-iptables", "bridge", _bridge("iptables", internal=True), weight=2),
    Case("veth", "veth", {"name": "vweb", "peer": "eth0", "netns": "web", "bridge": "br0", "addresses": ["10.231.200.10/24"],
                          "gateway": "10.231.200.1", "mac": "02:42:0a:e7:c8:0a", "mtu": 1400,
                          "routes": [{"dst": "10.231.250.0/24", "via": "10.231.200.254"}]},
         ("ip netns add web && ip link add br0 type bridge",), weight=3),
    Case("veth-host", "veth", {"name": "va", "peer": "vb", "addresses": ["10.231.203.1/24"]}),
    Case("vxlan", "vxlan", {"name": "vx0", "vni": 4242, "local": "10.231.204.1", "bridge": "br0", "mtu": 1400,
                            "peers": ["10.231.204.2", "10.231.204.3"], "fdb": [{"mac": "02:42:0a:e7:cc:0c", "dst": "10.231.204.2"}],
                            "neigh": [{"ip": "10.231.206.12", "mac": "02:42:0a:e7:cc:0c"}]},
         ("ip link add br0 type bridge && ip addr add 10.231.204.1/24 dev br0",)),
    Case("macvlan", "macvlan", {"name": "eth1", "parent": "eth0", "netns": "web", "addresses": ["10.231.205.10/24"],
                                "gateway": "10.231.205.1"}, ("ip netns add web",)),
    Case("portmap-nftables", "portmap", _ports("nftables"), (PLUGGED,), weight=2),
    Case("portmap-iptables", "portmap", _ports("iptables"), (PLUGGED,), weight=2),
    Case("portmap-remove-iptables", "portmap", dict(_ports("iptables"), state="absent"), (PLUGGED, ("portmap", _ports("iptables")))),
    Case("dns_config", "dns_config", DNS, ("ip netns add web && ip -n web link add eth0 type bridge"
                                           " && ip -n web addr add 10.231.200.10/24 dev eth0",), weight=2),
    Case("dns_config-remove", "dns_config", {"netns": "web", "state": "absent"},
         ("ip netns add web", ("dns_config", DNS))),
    # A sidecar's files of its own make way for a link to its target's (container mode, issue 18).
    Case("dns_config-share", "dns_config", {"netns": "side", "share_with": "web"},
         ("ip netns add web", ("netns", {"name": "side", "share_with": "web"}), ("dns_config", DNS),
          ("dns_config", {"netns": "side", "hostname": "side1"}))),
    Case("dns_config-unshare", "dns_config", {"netns": "side", "state": "absent"},
         ("ip netns add web", ("netns", {"name": "side", "share_with": "web"}), ("dns_config", DNS),
          ("dns_config", {"netns": "side", "share_with": "web"}))),
    Case("networks", "networks", {"config": NETWORKS}, weight=2),
    Case("networks-deleted", "networks", {"config": NETWORKS, "state": "deleted"}, (("networks", {"config": NETWORKS}),)),
    # back goes and front stays: back releases its forwarding before its link goes, and front must
    # not take back for an uplink in between.
    Case("networks-pruned", "networks", {"config": NETWORKS[:1], "state": "overridden"}, (("networks", {"config": NETWORKS}),)),
    Case("sandboxes", "sandboxes", _sandboxes("nftables"), (("networks", {"config": NETWORKS}),), weight=5),
    Case("sandboxes-iptables", "sandboxes", _sandboxes("iptables"),
         (("networks", {"config": NETWORKS, "firewall_backend": "iptables"}),), weight=2),
    Case("sandboxes-dual-stack", "sandboxes", {"config": DUAL_SANDBOXES, "networks": DUAL_NETWORKS, "converge_networks": True,
                                               "firewall_backend": "nftables"}, weight=2),
    Case("sandboxes-deleted", "sandboxes", _sandboxes("nftables", "deleted"),
         (("networks", {"config": NETWORKS}), ("sandboxes", _sandboxes("nftables"))), weight=2),
]


def share_out(total, cases):
    """Runs per case: proportional to weight (largest remainders), at least one each."""
    total = max(total, len(cases))
    weights = sum(c.weight for c in cases)
    exact = [(total - len(cases)) * c.weight / weights for c in cases]
    counts = [1 + int(e) for e in exact]
    order = sorted(range(len(cases)), key=lambda i: int(exact[i]) - exact[i])
    for i in order[:total - sum(counts)]:
        counts[i] += 1
    return counts


PARAMS = [pytest.param(case, run, id="%s-%02d" % (case.name, run))
          for case, count in zip(CASES, share_out(RUNS, CASES), strict=True) for run in range(count)]
EVERY_PARAMS = [pytest.param(case, id=case.name) for case in CASES]


class Outcome:
    def __init__(self, proc):
        self.rc, self.stderr = proc.returncode, proc.stderr
        self.points = [line.split(" ", 2)[2] for line in proc.stderr.splitlines() if line.startswith("CRASHPOINT ")]
        try:
            self.result = json.loads(proc.stdout)
        except ValueError:
            self.result = None

    @property
    def killed(self):
        return self.rc in (-9, 137) and "CRASHKILL" in self.stderr

    @property
    def ok(self):
        return self.rc == 0 and self.result is not None and not self.result.get("failed")

    def __repr__(self):
        return "rc=%s result=%s\nstderr: %s" % (self.rc, json.dumps(self.result)[:3000], self.stderr[-3000:])


def call(host, module, args, point=0):
    """Run MODULE inside HOST through crashpoint.py, killed at POINT (0: never)."""
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args})
    command = "cd %s && PYTHONPATH=%s %s %s/crashpoint.py %s %d" % (REPO, REPO, sys.executable, HERE, module, point)
    return Outcome(host.run(command, input=payload, check=False, timeout=300))


def state(host):
    return hostsnap.comparable(snapshot(host))


def prepare(host, case):
    reset(host)
    # Forwarding on the lab cable is switched on by masquerade and published ports, and the first
    # sandbox makes /run/netns a mount point: every run starts without either.
    sh(host, "sysctl -qw net.ipv4.conf.eth0.forwarding=0; while mountpoint -q /run/netns; do umount -l /run/netns; done;"
             " rm -rf /run/netns")
    for step in case.setup:
        if isinstance(step, str):
            sh(host, step)
        else:
            done = call(host, *step)
            assert done.ok, "setup %s failed: %r" % (step[0], done)


@pytest.fixture(scope="module")
def clean_runs():
    return {}


@pytest.fixture
def clean(sim1, clean_runs):
    """The clean run of a case: its write points and the state it leaves (made once per case)."""

    def get(case):
        if case.name not in clean_runs:
            prepare(sim1, case)
            run = call(sim1, case.module, case.args)
            assert run.ok and run.result["changed"], "the clean run of %s failed or changed nothing: %r" % (case.name, run)
            assert run.points, "the clean run of %s made no write" % case.name
            clean_runs[case.name] = (run.points, state(sim1))
        return clean_runs[case.name]

    return get


def kill_point(case, run, points):
    """The point of RUN: a seeded shuffle of every point of CASE, taken in order."""
    order = list(range(1, 2 * len(points) + 1))
    random.Random("%d:%s" % (SEED, case.name)).shuffle(order)
    return order[run % len(order)]


def crash_at(host, case, points, want, point, where):
    """What went wrong when CASE is killed at POINT and run again: a list of lines, empty if nothing."""
    write = points[(point - 1) // 2]
    side = "before" if point % 2 else "after"
    where = "%s: killed at point %d of %d, %s write %d (%s)" % (where, point, 2 * len(points), side, (point + 1) // 2, write)
    prepare(host, case)
    crashed = call(host, case.module, case.args, point)
    if not crashed.killed:
        return ["%s: the module was not killed there: %r" % (where, crashed)]
    again = call(host, case.module, case.args)
    if not again.ok:
        return ["%s: the re-run failed: %r" % (where, again)]
    found = hostsnap.differences(want, state(host))
    if found:
        return ["%s: the re-run left another state than a clean run:" % where] + found[:40]
    third = call(host, case.module, case.args)
    if not (third.ok and not third.result["changed"]):
        return ["%s: a further run still changes: %r" % (where, third)]
    return []


@pytest.fixture(scope="module", autouse=True)
def _show_seed(request):
    """The seed on the terminal before the first run, so that any failure can be repeated."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        sys.stderr.write("\ncrash test: CRASH_SEED=%d CRASH_RUNS=%s\n" % (SEED, "all" if EVERY else RUNS))


@pytest.mark.skipif(EVERY, reason="CRASH_RUNS=all runs test_killed_at_every_point instead")
@pytest.mark.parametrize("case,run", PARAMS)
def test_killed_anywhere_then_rerun_converges(sim1, clean, case, run):
    points, want = clean(case)
    where = "CRASH_SEED=%d CRASH_RUNS=%d, case %s run %d" % (SEED, RUNS, case.name, run)
    problems = crash_at(sim1, case, points, want, kill_point(case, run, points), where)
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(not EVERY, reason="CRASH_RUNS=all (make stress) kills every case at every point")
@pytest.mark.parametrize("case", EVERY_PARAMS)
def test_killed_at_every_point(sim1, clean, case):
    points, want = clean(case)
    problems = []
    for point in range(1, 2 * len(points) + 1):
        problems += crash_at(sim1, case, points, want, point, "CRASH_RUNS=all, case %s" % case.name)
    assert not problems, "\n".join(problems)
