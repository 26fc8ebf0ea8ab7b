# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: publishing 1, 100 and 1000 ports of one sandbox, on each firewall backend.

For each backend, sandbox, kind of port (fixed host ports ``20000:80`` ..., random ones, Docker's
``-p 10000`` ..., which the module picks outside the ephemeral range and keeps, or fixed ones each
with an allow-list of ALLOWED CIDRs that admits the measuring host) and port count it
prints (the sandbox IPv4-only, measured over IPv4, or dual-stack, whose ports are published on
both families, measured over IPv6)
- apply: wall time of the portmap module publishing N ports (from none), run directly with
  Python inside the simulated host (no Ansible connection overhead; Python start-up included);
- no-op: the same module run again, with nothing to change;
- first / last: the median time of a new TCP connection (connect() until established) from a
  second simulated host to the first and to the last published host port, through DNAT into
  the sandbox, over ROUNDS connections each, alternating between the two ports.

Prints numbers and asserts nothing. Run as root from the repo root: `make bench`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _lab import PY, module, simfleet

FIRST_PORT = 20000
FIRST_CONTAINER_PORT = 10000   # random host ports: each to a container port of its own (-p 10000, -p 10001, ...)
# allow-lists: each port admits these networks (of neither host) and the measuring host, both families
ALLOWED = ["10.231.%d.0/24" % i for i in range(120, 128)] + ["fd31:%x::/64" % i for i in range(120, 128)]

# The veth goes first, by name: deleting it removes both of its ends at once. Deleting the
# namespace alone would leave them to the kernel's clean-up of the namespace, which comes later
# (after the last process in it has exited, in a work queue shared by every namespace of the
# machine): the next round's veth module then finds veth-web with its peer still in the old,
# nameless namespace, and refuses it.
SETUP = """
set -e
ln -sfn /usr/sbin/iptables-{legacy} /etc/alternatives/iptables
nft delete table inet netmodes 2>/dev/null || true
for t in raw nat filter; do iptables-legacy -t $t -F; iptables-legacy -t $t -X; ip6tables-legacy -t $t -F; ip6tables-legacy -t $t -X; done
ip link del veth-web 2>/dev/null || true
ip netns del web 2>/dev/null || true
ip link del br0 2>/dev/null || true
"""

# A TCP listener in the sandbox, of both families, that accepts and closes, so the backlog never fills.
SERVER = ("ip netns exec web %s -c \"import socket; s=socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1);"
          " s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0);"
          " s.bind(('::', {port})); s.listen(512); [c.close() for c, a in iter(s.accept, None)]\"")

# The server is stopped and waited for (at most 10 s), so that no process of this round is left
# in the sandbox when the next round replaces it.
STOP = "kill {pid}; for i in $(seq 200); do kill -0 {pid} 2>/dev/null && ! grep -q ' Z ' /proc/{pid}/stat || break; sleep 0.05; done"

# Connections to the measured ports alternate, so drift in the machine's load hits them alike.
CLIENT = """
import socket, statistics, sys, time
host, rounds, ports = sys.argv[1], int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
times = {p: [] for p in ports}
for _ in range(rounds):
    for port in ports:
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        start = time.perf_counter()
        s.connect((host, port))
        times[port].append(time.perf_counter() - start)
        s.close()
print(" ".join("%.1f" % (statistics.median(times[p]) * 1e6) for p in ports))
"""


# The sandbox's network: IPv4-only, or dual-stack (its IPv6 a ULA /64 inside the simulated host).
STACKS = {"ipv4": {"bridge": ["172.18.0.1/16"], "veth": ["172.18.0.10/16"], "gateway": ["172.18.0.1"]},
          "dual": {"bridge": ["172.18.0.1/16", "fd31:18::1/64"], "veth": ["172.18.0.10/16", "fd31:18::10/64"],
                   "gateway": ["172.18.0.1", "fd31:18::1"], "ipv6": "on"}}


def prepare(host, backend, stack):
    net = STACKS[stack]
    host.run(SETUP.format(legacy="legacy" if backend == "iptables" else "nft"))
    module(host, "bridge", {"name": "br0", "addresses": net["bridge"]})
    module(host, "netns", {"name": "web"})
    module(host, "veth", {"name": "veth-web", "netns": "web", "bridge": "br0", "addresses": net["veth"],
                          "gateway": net["gateway"], **({"ipv6": net["ipv6"]} if "ipv6" in net else {})})


def host_port(result, container_port):
    """The host port a random mapping of CONTAINER_PORT got, from the module's docker-port answer."""
    return int(result["ports"]["%d/tcp" % container_port][0].rpartition(":")[2])


def measure(sim1, sim2, count, rounds, stack, *, kind):
    if kind == "random":
        ports = ["%d" % (FIRST_CONTAINER_PORT + i) for i in range(count)]
    elif kind == "allow":
        allow = ALLOWED + ["%s/32" % sim2.address, "%s/128" % sim2.address6]
        ports = [{"port": "%d:80" % (FIRST_PORT + i), "allow": allow} for i in range(count)]
    else:
        ports = ["%d:80" % (FIRST_PORT + i) for i in range(count)]
    args = {"netns": "web", "bridge": "br0", "ports": ports}
    module(sim1, "portmap", dict(args, state="absent"))
    apply_time, result = module(sim1, "portmap", args)
    noop_time, again = module(sim1, "portmap", args)
    first, last = FIRST_PORT, FIRST_PORT + count - 1
    servers = []
    if kind == "random":  # the first and the last mapping's container ports answer too
        first, last = host_port(result, FIRST_CONTAINER_PORT), host_port(result, FIRST_CONTAINER_PORT + count - 1)
        for port in sorted({FIRST_CONTAINER_PORT, FIRST_CONTAINER_PORT + count - 1}):
            servers.append(sim1.run("setsid %s >/dev/null 2>&1 </dev/null & echo $!" % (SERVER.format(port=port) % PY)).stdout.strip())
            sim1.run("for i in $(seq 200); do ip netns exec web ss -Htln | grep -q ':%d ' && break; sleep 0.05; done" % port)
    target = sim1.address6 if stack == "dual" else sim1.address
    try:
        client = sim2.run("%s - %s %d %d %d" % (PY, target, rounds, first, last), input=CLIENT, timeout=600)
    finally:
        for pid in servers:
            sim1.run(STOP.format(pid=pid), check=False)
    first_us, last_us = (float(x) for x in client.stdout.split())
    # What the runs did is printed beside the numbers, for the reader to judge: the backend the
    # module chose, and how many operations the repeat still had (0 when it was a no-op).
    return result.get("backend"), apply_time, len(again.get("operations", [])), noop_time, first_us, last_us


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--ports", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--backends", nargs="+", default=["nftables", "iptables"])
    parser.add_argument("--stacks", nargs="+", default=["ipv4", "dual"], choices=sorted(STACKS),
                        help="the sandbox IPv4-only (measured over IPv4) or dual-stack (measured over IPv6)")
    parser.add_argument("--kinds", nargs="+", default=["fixed", "random", "allow"], choices=["fixed", "random", "allow"],
                        help="fixed host ports (20000:80, ...), random ones (Docker's -p 10000, ...), or fixed ones with allow-lists")
    parser.add_argument("--rounds", type=int, default=1000, help="connections per measured port")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netmodes-bench-") as tmp:
        with simfleet.Fleet(Path(tmp) / "fleet", size=2, python=PY) as fleet:
            sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
            header = ("backend", "used", "sandbox", "kind", "ports", "apply", "ops", "no-op", "first conn", "last conn", "last/first")
            print("%-9s %-9s %-12s %-7s %6s %10s %6s %10s %12s %12s %8s" % header)
            for backend in args.backends:
                for stack in args.stacks:
                    prepare(sim1, backend, stack)
                    server = sim1.run("setsid %s >/dev/null 2>&1 </dev/null & echo $!" % (SERVER.format(port=80) % PY)).stdout.strip()
                    try:
                        for kind in args.kinds:
                            for count in args.ports:
                                used, apply_time, ops, noop, first, last = measure(sim1, sim2, count, args.rounds, stack, kind=kind)
                                print("%-9s %-9s %-12s %-7s %6d %9.3fs %6d %9.3fs %10.1fus %10.1fus %8.2f"
                                      % (backend, used, "ipv4" if stack == "ipv4" else "dual (IPv6)", kind, count, apply_time, ops, noop,
                                         first, last, last / first))
                                sys.stdout.flush()
                    finally:
                        sim1.run(STOP.format(pid=server), check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
