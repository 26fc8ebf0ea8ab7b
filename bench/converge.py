# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: converging many bridge sandboxes with 2 published ports each on one simulated host.

Prints, for N sandboxes (default 200):
- playbook, first / no-op: `ansible-playbook` with one task for the whole host, the sandboxes
  module with its networks (``converge_networks``: the one plan site.yml runs per host), on a
  fresh host and then again with nothing to do; and Ansible's floor, two trivial tasks
  (``ansible.builtin.ping``) on the same host (no-op and floor: medians of three runs in turns);
- baseline, first: the same kernel state built the way a playbook without the collection would,
  with ansible.builtin.command and one loop item per object (sandbox, veth, address, route,
  published port);
- the same two rows with the network dual-stack (IPv6 too: an address, a route and the published
  ports of both families per sandbox), and their ratio to IPv4 alone;
- engine / CNI: without Ansible, the collection's sandboxes module run directly in one process,
  against Debian's containernetworking-plugins (loopback, bridge with host-local IPAM, portmap)
  invoked directly with the CNI environment for the same sandboxes, per sandbox.

Prints numbers and asserts nothing. Run as root from the repo root: `make bench`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _lab import PY, REPO, module, simfleet

RESET = """
for ns in $(ls /run/netns 2>/dev/null); do ip netns del $ns; done
for l in br0 netmodes0 cni0; do ip link del $l 2>/dev/null; done
nft delete table inet netmodes 2>/dev/null; nft delete table inet bench 2>/dev/null
iptables -t nat -F 2>/dev/null; iptables -t nat -X 2>/dev/null; iptables -F 2>/dev/null; iptables -X 2>/dev/null
rm -rf /run/cni-bench /run/netmodes /etc/netns
true
"""

NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16"}]
# The same network dual-stack: every sandbox gets an IPv6 address too, and publishes on both families.
DUAL_STACK = [{"name": "br0", "subnet": ["172.18.0.0/16", "fd31:b0::/64"], "ipv6": True}]

PLAYBOOK = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.sandboxes: {config: "{{ sandboxes }}", networks: "{{ networks }}", dns: false, converge_networks: true}
"""

FLOOR = """
- hosts: sim1
  gather_facts: false
  tasks:
    - ansible.builtin.ping:
    - ansible.builtin.ping:
"""

BASELINE = """
- hosts: sim1
  gather_facts: false
  tasks:
    - ansible.builtin.command: ip link add br0 type bridge
    - ansible.builtin.command: ip addr add 172.18.0.1/16 dev br0
    - ansible.builtin.command: ip link set br0 up
    - ansible.builtin.command: nft add table inet bench
    - ansible.builtin.command: nft add chain inet bench pre {{ '{' }} type nat hook prerouting priority -100 \\; {{ '}' }}
    - ansible.builtin.command: ip netns add {{ item.name }}
      loop: "{{ sandboxes }}"
    - ansible.builtin.command: ip link add v{{ item.index }} type veth peer name eth0 netns {{ item.name }}
      loop: "{{ sandboxes }}"
    - ansible.builtin.command: ip link set v{{ item.index }} master br0 up
      loop: "{{ sandboxes }}"
    - ansible.builtin.command: ip -n {{ item.name }} addr add {{ item.ip }}/16 dev eth0
      loop: "{{ sandboxes }}"
    - ansible.builtin.command: ip -n {{ item.name }} link set eth0 up
      loop: "{{ sandboxes }}"
    - ansible.builtin.command: ip -n {{ item.name }} route add default via 172.18.0.1
      loop: "{{ sandboxes }}"
    - ansible.builtin.command: nft add rule inet bench pre tcp dport {{ item.port }} dnat ip to {{ item.ip }}:80
      loop: "{{ ports }}"
"""

# Run inside the simulated host: each sandbox through the CNI reference plugins, as a runtime would.
CNI = r"""
import json, os, subprocess, sys, time
count, first = int(sys.argv[1]), int(sys.argv[2])
bridge = {"cniVersion": "0.4.0", "name": "bench", "type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": True,
          "ipam": {"type": "host-local", "subnet": "172.19.0.0/16", "dataDir": "/run/cni-bench"}}
def plugin(name, conf, netns, ifname):
    env = dict(os.environ, CNI_COMMAND="ADD", CNI_CONTAINERID=netns, CNI_NETNS="/run/netns/" + netns, CNI_IFNAME=ifname,
               CNI_PATH="/usr/lib/cni")
    out = subprocess.run(["/usr/lib/cni/" + name], input=json.dumps(conf), env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)
start = time.monotonic()
for i in range(count):
    netns = "c%d" % i
    subprocess.run(["ip", "netns", "add", netns], check=True)
    plugin("loopback", {"cniVersion": "0.4.0", "name": "lo", "type": "loopback"}, netns, "lo")
    result = plugin("bridge", bridge, netns, "eth0")
    ports = [{"hostPort": first + 2 * i + k, "containerPort": 80 + k, "protocol": "tcp"} for k in (0, 1)]
    plugin("portmap", {"cniVersion": "0.4.0", "name": "bench", "type": "portmap", "capabilities": {"portMappings": True},
                       "runtimeConfig": {"portMappings": ports}, "prevResult": result}, netns, "eth0")
print(time.monotonic() - start)
"""


def declared(count, first_port):
    return [{"name": "s%d" % i, "network_mode": "br0", "publish": ["%d:80" % (first_port + 2 * i), "%d:81" % (first_port + 2 * i + 1)]}
            for i in range(count)]


def playbook(fleet, workdir, text, extra):
    play, variables = workdir / "play.yml", workdir / "vars.json"
    play.write_text(text)
    variables.write_text(json.dumps(extra))
    start = time.monotonic()
    proc = subprocess.run([str(Path(PY).parent / "ansible-playbook"), "-i", str(fleet.inventory), str(play), "-e", "@%s" % variables],
                          cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("playbook failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-2000:]))
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sandboxes", type=int, default=200)
    args = parser.parse_args()
    n, first_port = args.sandboxes, 20000
    sandboxes = declared(n, first_port)
    rows = []
    with tempfile.TemporaryDirectory(prefix="netmodes-bench-") as tmp:
        workdir = Path(tmp)
        with simfleet.Fleet(workdir / "fleet", size=1, python=PY) as fleet:
            sim1 = fleet.host("sim1")
            sim1.run(RESET)
            first = playbook(fleet, workdir, PLAYBOOK, {"networks": NETWORKS, "sandboxes": sandboxes})
            # In turns, three times each, compared as medians: on a shared machine one run moves by a fifth.
            noops, floors = [], []
            for _round in range(3):
                noops.append(playbook(fleet, workdir, PLAYBOOK, {"networks": NETWORKS, "sandboxes": sandboxes}))
                floors.append(playbook(fleet, workdir, FLOOR, {}))
            noop, floor = statistics.median(noops), statistics.median(floors)
            rows += [("playbook (the host's one plan), first", first), ("playbook (the host's one plan), no-op, median of 3", noop),
                     ("Ansible's floor (two ping tasks), median of 3", floor)]
            sim1.run(RESET)
            dual = playbook(fleet, workdir, PLAYBOOK, {"networks": DUAL_STACK, "sandboxes": sandboxes})
            dual_noop = statistics.median(playbook(fleet, workdir, PLAYBOOK, {"networks": DUAL_STACK, "sandboxes": sandboxes}) for _round in range(3))
            sim1.run(RESET)
            items = [{"name": "s%d" % i, "index": i, "ip": "172.18.%d.%d" % ((i + 2) // 256, (i + 2) % 256)} for i in range(n)]
            ports = [{"port": first_port + 2 * i + k, "ip": items[i]["ip"]} for i in range(n) for k in (0, 1)]
            base = playbook(fleet, workdir, BASELINE, {"sandboxes": items, "ports": ports})
            rows.append(("baseline (ansible.builtin.command, one item per object), first", base))
            sim1.run(RESET)
            module(sim1, "networks", {"config": NETWORKS})
            engine, _result = module(sim1, "sandboxes", {"config": sandboxes, "networks": NETWORKS, "dns": False})
            sim1.run(RESET)
            module(sim1, "networks", {"config": DUAL_STACK})
            engine6, _result = module(sim1, "sandboxes", {"config": sandboxes, "networks": DUAL_STACK, "dns": False})
            sim1.run(RESET)
            cni = float(sim1.run("%s - %d %d" % (PY, n, first_port), input=CNI, timeout=1200).stdout)
            sim1.run(RESET)
    print("%d bridge sandboxes, 2 published ports each, one simulated host" % n)
    for label, seconds in rows:
        print("  %-62s %8.2f s" % (label, seconds))
    print("  %-62s %8.1fx" % ("baseline / playbook first", rows[3][1] / rows[0][1]))
    print("  %-62s %8.2f s  (%.1fx IPv4 alone)" % ("playbook, dual-stack, first", dual, dual / rows[0][1]))
    print("  %-62s %8.2f s  (%.1fx IPv4 alone)" % ("playbook, dual-stack, no-op, median of 3", dual_noop, dual_noop / rows[1][1]))
    print("  %-62s %8.2f s  (%.1f ms per sandbox)" % ("engine alone: sandboxes module, one process", engine, 1000 * engine / n))
    print("  %-62s %8.2f s  (%.1f ms per sandbox, %.1fx IPv4 alone)" % ("engine alone, dual-stack", engine6, 1000 * engine6 / n,
                                                                        engine6 / engine))
    print("  %-62s %8.2f s  (%.1f ms per sandbox)" % ("CNI plugins: loopback + bridge + portmap per sandbox", cni, 1000 * cni / n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
