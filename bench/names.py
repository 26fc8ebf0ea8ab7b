# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: a network's resolver (issue 18), as a member asks it and as its members change.

On one simulated host (Ansible not involved: the modules and the resolver adapter run inside it):

1. Through the sandboxes module, a network with 12 members (10 of them share the alias ``api``)
   and a lab upstream (a dnsmasq of the benchmark's own, on an address of the host's, knowing one
   name) that the host's resolv.conf names. From inside one member, over UDP to the network's
   gateway:
   - answer latency, p50 and p99 of 500 queries each: a member's name, the alias of 10 members
     (10 addresses in one answer), a forwarded name (the resolver asks the lab upstream, then
     answers from its cache, as any resolver);
   - the time from a run's end (the module returns) to the first correct answer for a member that
     run adds, asked every millisecond by a process started before the run (negative: answered
     before the module had returned), and the queries of a stable name lost meanwhile.
2. Through the collection's resolver adapter alone: the time from the start of a hosts file's
   write (atomic rename) to the first correct answer for the name it adds (100 names), and the
   answers lost for a member that stays while the file is replaced 300 times (a bounded query
   loop; 0 is the goal: aardvark-dns's reload dropped queries, aardvark-dns#389), and whether the
   process stayed the same.

Prints numbers and asserts nothing. Run as root from the repo root (`make bench`).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _lab import PY, REPO, module, simfleet

sys.path.insert(0, str(REPO))

from ansible_collections.netmodes.linux.plugins.module_utils import _fleet, _resolver  # noqa: E402
from ansible_collections.netmodes.linux.plugins.module_utils._resolver_service import Resolvers, Supervised  # noqa: E402

SUBNET, GATEWAY = "10.231.182.0/24", "10.231.182.1"
UPSTREAM, EXTERNAL = "10.231.181.53", ("ext.lab.test", "10.231.181.9")
NETWORKS = [{"name": "names", "subnet": SUBNET}]
SANDBOXES = [{"name": "s%d" % i, "network_mode": "names", "aliases": ["api"] if 1 <= i <= 10 else []} for i in range(12)]
RELOAD_GATEWAY = "10.231.183.1"  # part 2's resolver, on a bridge of its own

LAB_UP = ("ip link add labup type bridge && ip link set labup up && ip addr add {up}/32 dev labup && "
          "dnsmasq --no-resolv --no-hosts --bind-interfaces --listen-address={up} --pid-file=/run/bench-labup.pid "
          "--host-record={name},{ip} && printf 'nameserver {up}\\n' > /etc/resolv.conf")


# How long a query may take before it counts as lost: glibc's stub resolver waits 5 s (resolv.conf's
# "timeout" default) before it asks again, so a slower answer is one a program sees as a failure. A
# shorter wait would count the machine's load (a reply late by a scheduler's whim) as a lost answer.
STUB_TIMEOUT = 5.0


def connect(server, timeout=1.0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((server, 53))
    sock.settimeout(timeout)
    return sock


def query(sock, name):
    """(rcode, answer count) of an A query for NAME over SOCK (connected UDP); (None, 0) on timeout."""
    head = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
    sock.send(head + b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1))
    while True:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            return None, 0
        if data[:2] == head[:2]:
            return data[3] & 0xF, struct.unpack(">H", data[6:8])[0]


# -- inside a member (part 1) ---------------------------------------------------------------------

def latency(server, names, count=500):
    """{name: {ok, p50, p99}} of COUNT queries of each of NAMES."""
    sock, out = connect(server), {}
    for name in names:
        times = []
        for _query in range(count):
            start = time.perf_counter()
            rcode, answers = query(sock, name)
            if rcode == 0 and answers:
                times.append(time.perf_counter() - start)
        times.sort()
        out[name] = {"ok": len(times), "p50": times[len(times) // 2] if times else None, "p99": times[int(len(times) * 0.99)] if times else None}
    return out


def watch(server, new, stable, seconds):
    """Ask NEW and STABLE in turn, every millisecond, until NEW is answered: when (monotonic), and
    how many of STABLE's queries went unanswered or wrong (lost; of them, timed out: no answer in
    STUB_TIMEOUT)."""
    sock, lost, asked, late = connect(server, STUB_TIMEOUT), 0, 0, 0
    print("ready", flush=True)
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        rcode, answers = query(sock, new)
        if rcode == 0 and answers:
            return {"first": time.monotonic(), "lost": lost, "timed out": late, "asked": asked}
        rcode, answers = query(sock, stable)
        asked, lost, late = asked + 1, lost + (not (rcode == 0 and answers)), late + (rcode is None)
        time.sleep(0.001)
    return {"first": None, "lost": lost, "timed out": late, "asked": asked}


def in_member(host, sandbox, *argv):
    """This file's client mode inside SANDBOX of HOST."""
    return host.nsenter("ip", "netns", "exec", sandbox, PY, str(Path(__file__).resolve()), "--client", *argv)


def through_the_module(host):
    host.run(LAB_UP.format(up=UPSTREAM, name=EXTERNAL[0], ip=EXTERNAL[1]))
    try:
        module(host, "sandboxes", {"config": SANDBOXES, "networks": NETWORKS, "converge_networks": True})
        found = json.loads(subprocess.run(in_member(host, "s0", "latency", GATEWAY, "s11", "api", EXTERNAL[0]),
                                          capture_output=True, text=True, check=True, timeout=300).stdout)
        watcher = subprocess.Popen(in_member(host, "s0", "watch", GATEWAY, "late", "s11", "60"), stdout=subprocess.PIPE, text=True)
        if watcher.stdout.readline().strip() != "ready":
            raise SystemExit("the watching client did not start")
        start = time.monotonic()
        module(host, "sandboxes", {"config": SANDBOXES + [{"name": "late", "network_mode": "names"}], "networks": NETWORKS,
                                   "converge_networks": True})
        end = time.monotonic()
        watched = json.loads(watcher.communicate(timeout=120)[0])
        module(host, "sandboxes", {"config": [], "networks": [], "converge_networks": True, "state": "overridden"})
    finally:
        host.run("kill $(cat /run/bench-labup.pid); ip link del labup", check=False)
    print("a network's resolver (dnsmasq), asked over UDP from a member, 500 queries each")
    for label, name in (("member", "s11"), ("alias of 10 members", "api"), ("forwarded (lab upstream)", EXTERNAL[0])):
        row = found[name]
        print("  %-44s p50 %-10s p99 %-10s (%d of 500 answered)" % (label, ms(row["p50"]), ms(row["p99"]), row["ok"]))
    first = watched["first"]
    print("  %-44s %s (the run took %.2f s)" % ("a member added: first answer after the run", ms(first - end) if first else "never", end - start))
    print("  %-44s %d of %d" % ("a stable name: queries lost during the run", watched["lost"], watched["asked"]))


# -- inside the host (part 2) ---------------------------------------------------------------------

def reloads(names, replacements):
    """Part 2, in the simulated host this runs in."""
    def member(name, ip):
        return _fleet.Member("h", name, ipaddress.ip_address(ip), 0)

    adapter = Resolvers(Supervised())
    members = [member("web", "10.231.183.2")]
    adapter.write("bench", config=_resolver.config("bench", [ipaddress.ip_address(RELOAD_GATEWAY)], []), hosts=_resolver.hosts("bench", members))
    adapter.restart("bench")
    pid, sock, waits = adapter.read("bench")["running"], connect(RELOAD_GATEWAY), []
    for i in range(names):
        members.append(member("n%d" % i, ipaddress.ip_address("10.231.184.0") + i))
        start = time.perf_counter()
        adapter.write("bench", hosts=_resolver.hosts("bench", members))
        while query(sock, "n%d" % i) != (0, 1):
            pass
        waits.append(time.perf_counter() - start)
    waits.sort()
    print("the resolver's adapter alone: a hosts file replaced by rename, dnsmasq reading it again by inotify")
    p50, p99 = ms(waits[len(waits) // 2]), ms(waits[int(len(waits) * 0.99)])
    print("  %-44s p50 %-10s p99 %-10s max %s (%d names)" % ("a new name, from the write to its answer", p50, p99, ms(waits[-1]), names))
    stop, counts = threading.Event(), {"right": 0, "wrong": 0, "timed out": 0}

    def load():
        own = connect(RELOAD_GATEWAY)
        while not stop.is_set():
            rcode, answers = query(own, "web")
            counts["timed out" if rcode is None else "right" if (rcode, answers) == (0, 1) else "wrong"] += 1

    thread = threading.Thread(target=load)
    thread.start()
    for i in range(replacements):
        adapter.write("bench", hosts=_resolver.hosts("bench", members[:1] + [member("x%d" % (i % 7), "10.231.183.%d" % (150 + i % 50))]))
        time.sleep(0.005)
    stop.set()
    thread.join()
    tally, same = ", ".join("%s %d" % item for item in counts.items()), adapter.read("bench")["running"] == pid
    print("  %-44s %s; same process: %s" % ("a stable name, during %d replacements" % replacements, tally, same))
    adapter.remove("bench")


def ms(seconds):
    return "%.2f ms" % (1000 * seconds) if seconds is not None else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--names", type=int, default=100)
    parser.add_argument("--replacements", type=int, default=300)
    parser.add_argument("--reloads", action="store_true", help=argparse.SUPPRESS)   # part 2, inside the host
    parser.add_argument("--client", nargs="+", help=argparse.SUPPRESS)              # part 1's client, inside a member
    args = parser.parse_args()
    if args.client:
        mode, server, *rest = args.client
        print(json.dumps(latency(server, rest) if mode == "latency" else watch(server, rest[0], rest[1], float(rest[2]))))
        return 0
    if args.reloads:
        reloads(args.names, args.replacements)
        return 0
    with tempfile.TemporaryDirectory(prefix="netmodes-bench-") as tmp:
        with simfleet.Fleet(Path(tmp) / "fleet", size=1, python=PY) as fleet:
            host = fleet.host("sim1")
            through_the_module(host)
            host.run("ip link add nmbench type bridge && ip link set nmbench up && ip addr add %s/24 dev nmbench" % RELOAD_GATEWAY)
            proc = host.run("cd %s && %s bench/names.py --reloads --names %d --replacements %d" % (REPO, PY, args.names, args.replacements),
                            check=False, timeout=600)
            print(proc.stdout + proc.stderr, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
