# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulated fleet itself: private hosts, and nothing left behind by down or sweep."""

from __future__ import annotations

import ipaddress
import json
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

LAB6 = ipaddress.ip_network(simfleet.LAB_PREFIX6)
UPLINK = ipaddress.ip_network("fd00::/16")  # this machine's uplink is fd00::/64: never the lab's


def lab_links(fleet_id):
    mine = "%s%d" % (simfleet.PREFIX, fleet_id)
    return [n for n in simfleet._link_names() if n == mine or n.startswith(mine + "h")]


def _real(*argv):
    """`ip -j ARGV` in the real host's namespace (read only), as JSON."""
    return json.loads(subprocess.run(["ip", "-j", *argv], check=True, capture_output=True, text=True).stdout or "[]")


def lab_traces(fleet_id):
    """What lab FLEET_ID has in the real host's namespace: its links, their IPv6 settings, and any
    address or route of either family in its lab networks (IPv4) or the lab's IPv6 prefix."""
    mine = "%s%d" % (simfleet.PREFIX, fleet_id)
    net4 = ipaddress.ip_network(simfleet.LAB_NET % fleet_id)
    found = ["link %s" % name for name in lab_links(fleet_id)]
    found += ["sysctl net.ipv6.conf.%s" % p.name for p in Path("/proc/sys/net/ipv6/conf").iterdir()
              if p.name == mine or p.name.startswith(mine + "h")]
    for family, net in (("-4", net4), ("-6", LAB6)):
        for link in _real(family, "addr", "show"):
            found += ["address %s on %s" % (a["local"], link["ifname"]) for a in link.get("addr_info", [])
                      if a and ipaddress.ip_address(a["local"]) in net]
        for table in ("main", "local"):
            found += ["route %s (table %s)" % (r["dst"], table) for r in _real(family, "route", "show", "table", table)
                      if r["dst"] != "default" and ipaddress.ip_network(r["dst"], strict=False).subnet_of(net)]
    return found


def global6(host):
    """HOST's IPv6 addresses on its lab cable (eth0) that are not link-local, as "addr/len"."""
    (eth0,) = json.loads(sh(host, "ip -j -6 addr show dev eth0"))
    return ["%s/%d" % (a["local"], a["prefixlen"]) for a in eth0["addr_info"] if a and a["scope"] != "link"]


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


def test_every_host_has_its_ipv6_lab_address(fleet):
    """The lab cable is dual-stack: each host has its address in the fleet's /64 of the lab's
    prefix (no DAD, so usable at once), named in the inventory and in the host's /etc/hosts, and
    the IPv4 side is as before."""
    net6 = ipaddress.ip_network(simfleet.LAB_NET6 % fleet.fleet_id)
    assert net6.subnet_of(LAB6) and net6.prefixlen == 64
    inventory = fleet.inventory.read_text()
    for host in fleet.hosts:
        assert global6(host) == ["%s/64" % host.address6], host.name
        assert ipaddress.ip_address(host.address6) in net6
        (eth0,) = json.loads(sh(host, "ip -j -6 addr show dev eth0 to %s" % net6))
        (addr,) = [a for a in eth0["addr_info"] if a]  # `ip -j` adds an empty {} for each address filtered out
        assert addr.get("nodad") is True and not addr.get("tentative"), addr
        assert "%s ansible_host=%s lab_address6=%s\n" % (host.name, host.address, host.address6) in inventory
        assert sh(host, "getent ahostsv6 %s" % host.name).split()[0] == host.address6
        assert sh(host, "getent ahostsv4 %s" % host.name).split()[0] == host.address
        assert sh(host, "sysctl -n net.ipv6.conf.eth0.accept_ra").strip() == "0", "router advertisements move the lab's addresses"
    assert len({h.address6 for h in fleet.hosts}) == len(fleet.hosts)


def test_a_host_pings_another_over_ipv6(fleet):
    sim1, sim2 = fleet.host("sim1"), fleet.host("sim2")
    sh(sim1, "ping -6 -c1 -W2 %s" % sim2.address6)
    sh(sim2, "ping -6 -c1 -W2 %s" % sim1.address6)
    (neighbour,) = json.loads(sh(sim1, "ip -j -6 neigh show dev eth0 to %s" % sim2.address6))
    (link,) = json.loads(sh(sim2, "ip -j link show dev eth0"))
    assert neighbour["lladdr"] == link["address"], "the answer came from sim2's lab cable"


def test_no_fd00_anywhere(fleet):
    """This machine's uplink is fd00::/64: no lab address, no address or route inside a host, is in
    fd00::/16 (and the lab's prefix is a ULA of its own)."""
    assert LAB6.subnet_of(ipaddress.ip_network("fc00::/7")) and not LAB6.overlaps(UPLINK)
    for host in fleet.hosts:
        addresses = [a["local"] for link in json.loads(sh(host, "ip -j -6 addr show")) for a in link.get("addr_info", []) if a]
        routes = [r["dst"] for table in ("main", "local") for r in json.loads(sh(host, "ip -j -6 route show table %s" % table))]
        assert host.address6 in addresses
        assert [a for a in addresses if ipaddress.ip_address(a) in UPLINK] == [], host.name
        assert [r for r in routes if r != "default" and ipaddress.ip_network(r, strict=False).overlaps(UPLINK)] == [], host.name


def test_the_real_host_gets_no_ipv6_from_the_lab(fleet):
    """While the fleet runs, the lab bridge and its ports in the real host's namespace have IPv6
    switched off: no address (not even link-local), no route, nothing a router advertisement on
    the lab cable could configure; and no address or route of the lab's prefix anywhere there."""
    links = lab_links(fleet.fleet_id)
    assert len(links) == 1 + len(fleet.hosts)
    for name in links:
        assert Path("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % name).read_text().strip() == "1", name
        assert [a for link in _real("-6", "addr", "show", "dev", name) for a in link.get("addr_info", []) if a] == [], name
        assert _real("-6", "route", "show", "dev", name) == [], name
    assert [t for t in lab_traces(fleet.fleet_id) if not t.startswith(("link ", "sysctl ", "address 10.", "route 10."))] == []


def test_down_leaves_nothing(spare):
    spare.up()
    fleet_id, pids = spare.fleet_id, [(h.pid, h.unshare_pid) for h in spare.hosts]
    assert lab_links(fleet_id)
    assert any(t.startswith("sysctl ") for t in lab_traces(fleet_id)), "the check itself sees the lab's links"
    spare.down()
    assert lab_traces(fleet_id) == []
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
    assert lab_traces(fleet_id) == []


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
    assert lab_traces(fleet_id) == [], "down left lab links"


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
        assert sh(sim1, "getent hosts web", netns="web").split()[1:] == ["web"]
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
