# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: a network's resolver (dnsmasq) as its hosts file changes, in a simulated host.

(1) the time from the start of a hosts file's write (the collection's adapter, atomic rename) to
the first correct answer for the name it adds; (2) the answers lost for a member that stays while
the file is replaced again and again (a bounded query loop; 0 is the goal), and whether the
process stayed the same. Prints numbers and asserts nothing. Run as root from the repo root.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import socket
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "harness"))
sys.path.insert(0, str(REPO))

import simfleet  # noqa: E402

from ansible_collections.netmodes.linux.plugins.module_utils import _fleet, _resolver  # noqa: E402
from ansible_collections.netmodes.linux.plugins.module_utils._resolver_service import Resolvers, Supervised  # noqa: E402

GATEWAY = "10.231.190.1"


def query(sock, name):
    """(rcode, answer count) of an A query for NAME over SOCK (connected UDP)."""
    head = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
    sock.send(head + b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1))
    while True:
        data = sock.recv(512)
        if data[:2] == head[:2]:
            return data[3] & 0xF, struct.unpack(">H", data[6:8])[0]


def inside(names, replacements):
    """The measurement, in the simulated host this runs in."""
    def member(name, ip):
        return _fleet.Member("h", name, ipaddress.ip_address(ip), 0)

    adapter = Resolvers(Supervised())
    members = [member("web", "10.231.190.2")]
    adapter.write("bench", config=_resolver.config("bench", [ipaddress.ip_address(GATEWAY)], []), hosts=_resolver.hosts("bench", members))
    adapter.restart("bench")
    pid = adapter.read("bench")["running"]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((GATEWAY, 53))
    sock.settimeout(1.0)
    waits = []
    for i in range(names):
        members.append(member("n%d" % i, ipaddress.ip_address("10.231.191.0") + i))
        start = time.perf_counter()
        adapter.write("bench", hosts=_resolver.hosts("bench", members))
        while query(sock, "n%d" % i) != (0, 1):
            pass
        waits.append(time.perf_counter() - start)
    waits.sort()
    print("a new name, from the write to its answer: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d names)"
          % (waits[len(waits) // 2] * 1e3, waits[int(len(waits) * 0.99)] * 1e3, waits[-1] * 1e3, names))
    stop, counts = threading.Event(), {"right": 0, "wrong": 0, "timed out": 0}

    def load():
        own = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        own.connect((GATEWAY, 53))
        own.settimeout(1.0)
        while not stop.is_set():
            try:
                counts["right" if query(own, "web") == (0, 1) else "wrong"] += 1
            except TimeoutError:
                counts["timed out"] += 1

    thread = threading.Thread(target=load)
    thread.start()
    for i in range(replacements):
        adapter.write("bench", hosts=_resolver.hosts("bench", members[:1] + [member("x%d" % (i % 7), "10.231.190.%d" % (150 + i % 50))]))
        time.sleep(0.005)
    stop.set()
    thread.join()
    print("queries for a member that stays, during %d replacements: %s; same process: %s"
          % (replacements, ", ".join("%s %d" % item for item in counts.items()), adapter.read("bench")["running"] == pid))
    adapter.remove("bench")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--names", type=int, default=100)
    parser.add_argument("--replacements", type=int, default=300)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.names, args.replacements)
        return 0
    with tempfile.TemporaryDirectory(prefix="netmodes-bench-") as tmp:
        fleet = simfleet.Fleet(Path(tmp) / "fleet", size=1)
        try:
            fleet.up()
            host = fleet.host("sim1")
            host.run("ip link add nmbench type bridge && ip link set nmbench up && ip addr add %s/24 dev nmbench" % GATEWAY)
            command = "%s %s --inside --names %d --replacements %d" % (sys.executable, Path(__file__).resolve(), args.names, args.replacements)
            proc = host.run(command, check=False, timeout=600)
            print(proc.stdout + proc.stderr, end="")
        finally:
            fleet.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
