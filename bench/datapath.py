# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: throughput and round-trip time between two endpoints in each network mode.

Four simulated hosts joined by the lab cable (each host's eth0 is a veth into the lab bridge in
the machine's own namespace); sim1 and sim2 carry every mode, sim3 and sim4 nothing at all.
Every row measures one client and one server:

- host, same host: two processes in sim1's own namespace, to sim1's lab address (over lo);
- host, across hosts: sim2 to sim1's lab address, over the lab cable;
- host, no firewall table: the same on sim3 and sim4, whose namespaces have no nftables table,
  so no connection tracking (sim1 and sim2 have the collection's table, with NAT hooks, for
  their bridges and published ports, as a host that runs bridge networks does);
- bridge: sandbox to sandbox on one bridge of sim1; sim1 itself to a sandbox's address;
- bridge, published: sim1 itself to its own lab address and a published port (DNAT in nat
  output), and sim2 to sim1's lab address and that port (DNAT in nat prerouting, then forward);
- macvlan: a sandbox on sim1 to a sandbox on sim2, each with a macvlan on its host's eth0;
- overlay: a sandbox on sim1 to a sandbox on sim2, through a bridge and a VXLAN device on each
  host (head-end replication to the other host's lab address);
- IPv6: br0 is dual-stack (its sandboxes and published ports have IPv6 too), and the host rows
  and the bridge rows are measured over IPv6 as well (the lab cable's IPv6 addresses, the
  sandboxes' IPv6 addresses, the published ports through the hosts' IPv6 lab addresses), against
  host mode over IPv6.

Host mode is measured twice so that each comparison is fair: the rows that stay on sim1 are
compared with two host-mode processes on sim1, the rows that cross the lab cable with host mode
across it (the "x host" and "+µs" columns). Bridges, veths, sandboxes and published ports are made by the
collection's modules (`bridge`, `netns`, `veth`, `portmap`, `macvlan`, `vxlan`), as they make
them (MTUs included).

Methods: throughput is iperf3 (Debian's), one TCP stream for --seconds, the receiver's Gbit/s,
client and server pinned to different CPUs. Round-trip time is a Python TCP request/response
loop over one connection (TCP_NODELAY, 1 byte each way, --rounds exchanges after 200 unmeasured
ones): p50 and p99 in microseconds, Python's own cost included alike in every row (so compare
differences, the "+µs" column, rather than ratios). Client and server of the loop are pinned to
the same CPU: on a virtual machine, waking a process on the other virtual CPU costs tens of
microseconds, and unpinned runs were bimodal (about 22 or 70 µs for the same path, depending on
where the scheduler put the two processes). Each row is measured --runs times, the rows
interleaved so that drift in the machine's load hits them alike; the table gives the best run
(the least disturbed: other work only slows a run down), which the comparisons use, and the
median of the runs. MTU is the smallest MTU of the interfaces the payload crosses (for the overlay: the
inner ones); MSS is what the client's socket reports (TCP_MAXSEG) once connected.

Prints numbers and asserts nothing. Run as root from the repo root: `make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _lab import PY, module, simfleet

IPERF_PORT, ECHO_PORT = 5201, 5300
PUBLISHED = {IPERF_PORT: 15201, ECHO_PORT: 15300}
BRIDGE_NET, OVERLAY_NET = "10.231.200", "10.231.201"
BRIDGE_NET6 = "fd31:200::"
VNI = 42

# Each exchange: 1 byte out, wait for it to come back. `serve PORT` answers one connection.
ECHO = r"""
import socket, sys, time
if sys.argv[1] == "serve":
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", int(sys.argv[2])))
    s.listen(1)
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for data in iter(lambda: c.recv(64), b""):
        c.sendall(data)
    sys.exit(0)
host, port, rounds, warm = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), 200
c = socket.create_connection((host, port), timeout=10)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
clock, times = time.perf_counter_ns, []
for _ in range(warm + rounds):
    start = clock()
    c.send(b"x")
    if not c.recv(64):
        sys.exit("the echo server closed the connection")
    times.append(clock() - start)
mss = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
c.close()
times = sorted(times[warm:])
print(times[len(times) // 2] / 1000, times[min(len(times) - 1, int(len(times) * 0.99))] / 1000, mss)
"""


class Endpoint:
    """One end of a measurement: a simulated host, and a sandbox on it or its own namespace."""

    def __init__(self, host, netns=None):
        self.host, self.netns = host, netns

    def __str__(self):
        return "%s/%s" % (self.host.name, self.netns) if self.netns else self.host.name

    def wrap(self, command):
        return "ip netns exec %s %s" % (self.netns, command) if self.netns else command

    def run(self, command, timeout=60):
        return self.host.run(self.wrap(command), timeout=timeout)

    def mtu(self, ifname):
        out = self.run("ip -j link show dev %s" % ifname).stdout
        return json.loads(out)[0]["mtu"]


class Row:
    """A measured path: CLIENT reaches SERVER's programs at ADDRESS (through PORTS if published)."""

    def __init__(self, mode, path, client, server, address, *, links, ports=None, baseline=None):
        self.mode, self.path, self.client, self.server, self.address = mode, path, client, server, address
        self.links, self.ports, self.baseline = links, ports or {}, baseline
        self.samples = {"gbits": [], "p50": [], "p99": []}
        self.mtu = self.mss = None

    def port(self, port):
        return self.ports.get(port, port)


# -- setup: every kernel object inside the two simulated hosts ---------------------------------


def setup_bridge(sim1):
    """br0, dual-stack, with sandboxes a and b; b's two server ports published on every host address of both families."""
    module(sim1, "bridge", {"name": "br0", "addresses": ["%s.1/24" % BRIDGE_NET, "%s1/64" % BRIDGE_NET6]})
    for index, name in enumerate(("a", "b")):
        module(sim1, "netns", {"name": name})
        module(sim1, "veth", {"name": "veth-%s" % name, "netns": name, "bridge": "br0", "ipv6": "on",
                              "addresses": ["%s.%d/24" % (BRIDGE_NET, 10 + index), "%s%d/64" % (BRIDGE_NET6, 10 + index)],
                              "gateway": ["%s.1" % BRIDGE_NET, "%s1" % BRIDGE_NET6]})
    ports = ["%d:%d" % (host, sandbox) for sandbox, host in PUBLISHED.items()]
    _elapsed, result = module(sim1, "portmap", {"netns": "b", "bridge": "br0", "ports": ports})
    return result.get("backend", "?")


def setup_macvlan(host, name, address):
    """A sandbox NAME with a macvlan (bridge mode) on HOST's eth0, at ADDRESS on the lab segment."""
    module(host, "netns", {"name": name})
    module(host, "macvlan", {"name": "eth0", "parent": "eth0", "mode": "bridge", "netns": name, "addresses": [address]})


def setup_overlay(host, peer, name, address):
    """Bridge brov with a VXLAN device towards PEER's lab address, and a sandbox NAME on it."""
    module(host, "bridge", {"name": "brov"})
    vxlan = "vx%d" % VNI
    module(host, "vxlan", {"name": vxlan, "vni": VNI, "local": host.address, "bridge": "brov", "peers": [peer.address]})
    # The sandbox's veth gets the VXLAN device's MTU, as Docker gives overlay containers.
    mtu = Endpoint(host).mtu(vxlan)
    module(host, "netns", {"name": name})
    module(host, "veth", {"name": "veth-%s" % name, "netns": name, "bridge": "brov", "addresses": [address], "mtu": mtu})


def build(sim1, sim2):
    """Set every mode up on SIM1 and SIM2; the firewall backend the collection chose."""
    lab = sim1.address.rsplit(".", 1)[0]
    backend = setup_bridge(sim1)
    for host, other, index in ((sim1, sim2, 1), (sim2, sim1, 2)):
        setup_macvlan(host, "mv", "%s.%d/24" % (lab, 200 + index))
        setup_overlay(host, other, "ov", "%s.%d/24" % (OVERLAY_NET, index))
    return backend


def paths(sim1, sim2, sim3, sim4):
    """The rows, each with the interfaces its payload crosses (for the MTU column)."""
    h1, h2, h3, h4 = Endpoint(sim1), Endpoint(sim2), Endpoint(sim3), Endpoint(sim4)
    a, b = Endpoint(sim1, "a"), Endpoint(sim1, "b")
    mv1, mv2, ov1, ov2 = Endpoint(sim1, "mv"), Endpoint(sim2, "mv"), Endpoint(sim1, "ov"), Endpoint(sim2, "ov")
    vxlan, sandbox_b, macvlan_2 = "vx%d" % VNI, "%s.11" % BRIDGE_NET, "%s.202" % sim1.address.rsplit(".", 1)[0]
    into_b = [(h1, "br0"), (h1, "veth-b"), (b, "eth0")]
    local = Row("host", "two processes on sim1, to its lab address", h1, h1, sim1.address, links=[(h1, "lo")])
    cable = Row("host", "sim2 to sim1, over the lab cable", h2, h1, sim1.address, links=[(h2, "eth0"), (h1, "eth0")])
    return [
        local,
        cable,
        Row("host", "two processes on sim3, no firewall table", h3, h3, sim3.address, links=[(h3, "lo")], baseline=local),
        Row("host", "sim4 to sim3, no firewall table", h4, h3, sim3.address, links=[(h4, "eth0"), (h3, "eth0")], baseline=cable),
        Row("bridge", "sandbox to sandbox, one bridge of sim1", a, b, sandbox_b,
            links=[(a, "eth0"), (h1, "veth-a"), *into_b], baseline=local),
        Row("bridge", "sim1 to a sandbox's address", h1, b, sandbox_b, links=into_b, baseline=local),
        Row("bridge, published", "sim1 to its lab address:published port", h1, b, sim1.address,
            links=into_b, ports=PUBLISHED, baseline=local),
        Row("bridge, published", "sim2 to sim1's lab address:published port", h2, b, sim1.address,
            links=[(h2, "eth0"), (h1, "eth0"), *into_b], ports=PUBLISHED, baseline=cable),
        Row("macvlan", "sandbox on sim1 to sandbox on sim2, parent eth0", mv1, mv2, macvlan_2,
            links=[(mv1, "eth0"), (h1, "eth0"), (h2, "eth0"), (mv2, "eth0")], baseline=cable),
        Row("overlay", "sandbox on sim1 to sandbox on sim2, VXLAN", ov1, ov2, "%s.2" % OVERLAY_NET,
            links=[(ov1, "eth0"), (h1, vxlan), (h2, vxlan), (ov2, "eth0")], baseline=cable),
        *paths6(sim1, sim2),
    ]


def paths6(sim1, sim2):
    """The rows over IPv6: host mode on sim1 and across the cable, and the bridge rows against them."""
    h1, h2, a, b = Endpoint(sim1), Endpoint(sim2), Endpoint(sim1, "a"), Endpoint(sim1, "b")
    sandbox_b, into_b = "%s11" % BRIDGE_NET6, [(h1, "br0"), (h1, "veth-b"), (b, "eth0")]
    local = Row("host, IPv6", "two processes on sim1, to its IPv6 lab address", h1, h1, sim1.address6, links=[(h1, "lo")])
    cable = Row("host, IPv6", "sim2 to sim1, over the lab cable", h2, h1, sim1.address6, links=[(h2, "eth0"), (h1, "eth0")])
    return [
        local,
        cable,
        Row("bridge, IPv6", "sandbox to sandbox, one bridge of sim1", a, b, sandbox_b,
            links=[(a, "eth0"), (h1, "veth-a"), *into_b], baseline=local),
        Row("bridge, IPv6", "sim1 to a sandbox's address", h1, b, sandbox_b, links=into_b, baseline=local),
        Row("bridge, published, IPv6", "sim1 to its IPv6 lab address:published port", h1, b, sim1.address6,
            links=into_b, ports=PUBLISHED, baseline=local),
        Row("bridge, published, IPv6", "sim2 to sim1's IPv6 lab address:published port", h2, b, sim1.address6,
            links=[(h2, "eth0"), (h1, "eth0"), *into_b], ports=PUBLISHED, baseline=cable),
    ]


# -- measuring ----------------------------------------------------------------------------------


def start_server(endpoint, command, port, marker):
    """Start COMMAND (a one-off server) in the background at ENDPOINT; its PID once it listens."""
    pid = endpoint.host.run("setsid %s >/dev/null 2>&1 </dev/null & echo $!" % endpoint.wrap(command)).stdout.strip()
    deadline = time.monotonic() + 10
    while not endpoint.run("ss -Hltn 'sport = :%d'" % port).stdout.strip():
        if time.monotonic() > deadline:
            stop_server(endpoint, pid, marker)
            raise SystemExit("%s did not listen on %s port %d" % (marker, endpoint, port))
        time.sleep(0.02)
    return pid


def stop_server(endpoint, pid, marker):
    """Kill PID if it is still the server we started (one-off servers have usually exited)."""
    endpoint.host.run("! grep -qa -- '%s' /proc/%s/cmdline 2>/dev/null || kill %s" % (marker, pid, pid))


def pinned(cpu, command):
    return command if cpu is None else "taskset -c %d %s" % (cpu, command)


def throughput(row, seconds, cpus):
    pid = start_server(row.server, pinned(cpus[1], "iperf3 -s -1 -p %d" % IPERF_PORT), IPERF_PORT, "iperf3")
    try:
        out = row.client.run(pinned(cpus[0], "iperf3 -J -c %s -p %d -t %d" % (row.address, row.port(IPERF_PORT), seconds)),
                             timeout=seconds + 30).stdout
    finally:
        stop_server(row.server, pid, "iperf3")
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def round_trip(row, rounds, script, cpus):
    pid = start_server(row.server, pinned(cpus[1], "%s %s serve %d" % (PY, script, ECHO_PORT)), ECHO_PORT, "echo.py")
    try:
        out = row.client.run(pinned(cpus[0], "%s %s ping %s %d %d" % (PY, script, row.address, row.port(ECHO_PORT), rounds)),
                             timeout=120).stdout
    finally:
        stop_server(row.server, pid, "echo.py")
    p50, p99, mss = out.split()
    return float(p50), float(p99), int(mss)


def measure(row, args, script):
    row.samples["gbits"].append(throughput(row, args.seconds, args.stream_cpus))
    p50, p99, row.mss = round_trip(row, args.rounds, script, args.rtt_cpus)
    row.samples["p50"].append(p50)
    row.samples["p99"].append(p99)


# -- report -------------------------------------------------------------------------------------


# The best run is the least disturbed one (other work only ever slows a run down); the median
# shows how much the others were disturbed.
BEST = {"gbits": max, "p50": min, "p99": min}


def best(row, key):
    return BEST[key](row.samples[key])


def cell(row, key, fmt):
    """KEY of ROW: the best run, and the median of all runs when there are several."""
    if len(row.samples[key]) == 1:
        return fmt % best(row, key)
    return (fmt + " / " + fmt) % (best(row, key), statistics.median(row.samples[key]))


def versus(row, key, how):
    """ROW's best KEY against its host-mode baseline's: a ratio or a difference."""
    if row.baseline is None:
        return "base"
    mine, base = best(row, key), best(row.baseline, key)
    return "%.2f" % (mine / base) if how == "ratio" else "%+.0f" % (mine - base)


def pinning(cpus):
    return "unpinned" if cpus[0] is None else "client on CPU %d, server on CPU %d" % cpus


def report(rows, backend, args, loads):
    print("Data path: each row measured %d times, rows interleaved; best run / median of the runs." % args.runs)
    print("Machine: %d CPUs, Linux %s; load average (1 min) %.1f at the start, %.1f at the end."
          % (os.cpu_count(), platform.release(), *loads))
    print("Throughput: iperf3, one TCP stream for %d s, receiver's rate; %s." % (args.seconds, pinning(args.stream_cpus)))
    print("RTT: Python TCP request/response, 1 byte each way, %d exchanges on one connection; %s."
          % (args.rounds, pinning(args.rtt_cpus)))
    print("x host / +µs: best run against host mode's over the same reach on the hosts that carry the modes (rows within one host:"
          " the first row; rows across the cable: the second; IPv6 rows: the IPv6 host rows).")
    print("Every mode made by the collection's modules; firewall backend: %s." % backend)
    print()
    print("| mode | path | MTU | MSS | Gbit/s | x host | RTT p50 µs | +µs | RTT p99 µs |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| %s | %s | %d | %d | %s | %s | %s | %s | %s |" % (
            row.mode, row.path, row.mtu, row.mss, cell(row, "gbits", "%.1f"), versus(row, "gbits", "ratio"),
            cell(row, "p50", "%.0f"), versus(row, "p50", "difference"), cell(row, "p99", "%.0f")))


def cpus(text):
    """--*-cpus: "CLIENT,SERVER" CPU numbers for taskset, or "none"."""
    if text == "none":
        return (None, None)
    client, server = text.split(",")
    return int(client), int(server)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--seconds", type=int, default=3, help="iperf3 duration per measurement")
    parser.add_argument("--rounds", type=int, default=5000, help="request/response exchanges per measurement")
    parser.add_argument("--runs", type=int, default=5, help="measurements per row (rows interleaved)")
    parser.add_argument("--stream-cpus", type=cpus, default=(0, 1), metavar="C,S|none",
                        help="CPUs of the iperf3 client and server (default 0,1)")
    parser.add_argument("--rtt-cpus", type=cpus, default=(0, 0), metavar="C,S|none",
                        help="CPUs of the request/response client and server (default 0,0)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="netmodes-bench-") as tmp:
        script = Path(tmp) / "echo.py"
        script.write_text(ECHO)
        with simfleet.Fleet(Path(tmp) / "fleet", size=4, python=PY) as fleet:
            sims = [fleet.host("sim%d" % i) for i in range(1, 5)]
            backend, rows = build(*sims[:2]), paths(*sims)
            for row in rows:
                row.mtu = min(endpoint.mtu(ifname) for endpoint, ifname in row.links)
            for _run in range(args.runs):
                for row in rows:
                    measure(row, args, script)
    report(rows, backend, args, (load, os.getloadavg()[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
