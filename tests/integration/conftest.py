# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration tests: the modules run by `ansible` and `ansible-playbook` over ssh against a
simulated fleet (tests/harness/simfleet.py), and are checked with the real tools inside it.

Everything these tests create lives inside the simulated hosts. After each test the hosts are
reset (every sandbox and every link but lo/eth0 removed, inside the host); after the session the
fleet is torn down, and a sweep at the start removes what a killed earlier run left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "harness"))

import simfleet  # noqa: E402

BIN = Path(sys.executable).parent
HOSTS = 2


class Run:
    """One ansible or ansible-playbook run: return code, human output and recorded results."""

    def __init__(self, proc, records):
        self.rc, self.stdout, self.stderr, self.records = proc.returncode, proc.stdout, proc.stderr, records

    def results(self, host=None):
        return [r["result"] for r in self.records if host in (None, r["host"])]

    def result(self, host="sim1"):
        (only,) = self.results(host)
        return only

    @property
    def changed(self):
        return any(r.get("changed") for r in self.results())

    @property
    def failed(self):
        return self.rc != 0 or any(r["status"] in ("failed", "unreachable") for r in self.records)

    def __repr__(self):
        return "Run(rc=%d)\n%s\n%s" % (self.rc, self.stdout[-4000:], self.stderr[-2000:])


class Ansible:
    """Runs Ansible exactly as a user would, from the repo root with its ansible.cfg."""

    def __init__(self, fleet, workdir):
        self.fleet, self.workdir, self.count = fleet, workdir, 0

    def _run(self, argv, check, diff):
        self.count += 1
        record = self.workdir / ("run-%03d.jsonl" % self.count)
        env = dict(os.environ, NETMODES_RECORD=str(record), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_CALLBACK_PLUGINS=str(REPO / "tests" / "integration" / "callback"),
                   ANSIBLE_CALLBACKS_ENABLED="record", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        argv = [str(BIN / argv[0]), "-i", str(self.fleet.inventory), *argv[1:]]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        proc = subprocess.run(argv, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        records = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
        return Run(proc, records)

    def adhoc(self, pattern, module, args, check=False, diff=False):
        """`ansible PATTERN -m netmodes.linux.MODULE -a ARGS` (ARGS: k=v text or a dict)."""
        if isinstance(args, dict):
            args = json.dumps(args)
        return self._run(["ansible", pattern, "-m", "netmodes.linux." + module, "-a", args], check, diff)

    def playbook(self, text, check=False, diff=False, extra_vars=None):
        """Write TEXT (YAML) to a playbook file and run it."""
        self.count += 1
        path = self.workdir / ("play-%03d.yml" % self.count)
        path.write_text(textwrap.dedent(text))
        argv = ["ansible-playbook", str(path)]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        return self._run(argv, check, diff)

    def collection_playbook(self, name, extra_vars=None, check=False, diff=False):
        """`ansible-playbook netmodes.linux.NAME` (a playbook of the collection, by its FQCN)."""
        argv = ["ansible-playbook", "netmodes.linux." + name]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        return self._run(argv, check, diff)

    def four_steps(self, text, extra_vars=None, snapshot=None):
        """Run a playbook with the idempotence pattern; SNAPSHOT() must not move in check mode.

        Returns the run that applied the change.
        """
        before = snapshot() if snapshot else None
        check = self.playbook(text, check=True, extra_vars=extra_vars)
        assert not check.failed, check
        assert check.changed, "check mode reported no change\n%r" % check
        if snapshot:
            assert snapshot() == before, "check mode changed the host"
        run = self.playbook(text, extra_vars=extra_vars)
        assert not run.failed, run
        assert run.changed, run
        again = self.playbook(text, extra_vars=extra_vars)
        assert not again.failed and not again.changed, "second run changed something\n%r" % again
        recheck = self.playbook(text, check=True, extra_vars=extra_vars)
        assert not recheck.failed and not recheck.changed, "check after the run changed something\n%r" % recheck
        return run


def sh(host, command, netns=None):
    """Run COMMAND inside a simulated host (and sandbox NETNS); stdout, failing on a non-zero exit."""
    if netns:
        command = "ip netns exec %s %s" % (netns, command)
    proc = host.run(command, check=False)
    assert proc.returncode == 0, "%s: %s failed (%d): %s" % (host.name, command, proc.returncode, proc.stderr)
    return proc.stdout


def sh_json(host, command):
    return json.loads(sh(host, command) or "null")


def snapshot(host):
    """The network state of a host that a test could change: links, addresses, routes, names."""
    # Of links, what configuration sets; not operstate or carrier, which a new bridge changes
    # on its own for a while (forward delay).
    links = [{"name": link["ifname"], "kind": link.get("linkinfo", {}).get("info_kind"), "mtu": link["mtu"],
              "mac": link.get("address"), "master": link.get("master"), "up": "UP" in link["flags"],
              "alias": link.get("ifalias")} for link in sh_json(host, "ip -j -d link show")]
    # IPv6 link-local addresses and their routes are the kernel's own, and come and go with DAD.
    addrs = sh_json(host, "ip -j addr show")
    for link in addrs:
        link["addr_info"] = [a for a in link.get("addr_info", []) if not (a.get("family") == "inet6" and a.get("scope") == "link")]
    routes = [r for r in sh_json(host, "ip -j route show table all") if not r.get("dst", "").startswith("fe80")]
    return {
        "links": links,
        "addrs": addrs,
        "routes": routes,
        "netns": sorted(sh(host, "ls -1 /run/netns 2>/dev/null || true").split()),
        "sysctl": sh(host, "sysctl net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv6.conf.all.forwarding"),
    }


def firewall(host):
    """Both firewalls of a host as text: the nftables ruleset and iptables-legacy-save without
    its timestamps and counters."""
    legacy = sh(host, "iptables-legacy-save")
    legacy = "\n".join(line.split(" [")[0] for line in legacy.splitlines() if not line.startswith("#"))
    return sh(host, "nft list ruleset") + "\n--- iptables-legacy ---\n" + legacy


BACKENDS = ["nftables", "iptables"]


def use_backend(host, name):
    """Make HOST an nftables host or an iptables-legacy host (what `auto` detects)."""
    target = "/usr/sbin/iptables-legacy" if name == "iptables" else "/usr/sbin/iptables-nft"
    # /etc is the simulated host's own overlay; update-alternatives would also write dpkg's state
    # under /var, which is the real machine's, so the link is set directly.
    sh(host, "ln -sfn %s /etc/alternatives/iptables && iptables --version" % target)


def reset(host):
    """Remove, inside HOST, every sandbox and every link besides lo and eth0 (the lab cable)."""
    script = r"""
    for ns in $(ls /run/netns 2>/dev/null); do umount -l /run/netns/$ns 2>/dev/null; rm -f /run/netns/$ns; done
    rm -rf /run/netmodes /etc/netns
    for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
      case $l in lo|eth0) ;; *) ip link del "$l" 2>/dev/null ;; esac
    done
    nft delete table inet netmodes 2>/dev/null
    for t in raw nat filter; do iptables-legacy -t $t -F 2>/dev/null; iptables-legacy -t $t -X 2>/dev/null; done
    ln -sfn /usr/sbin/iptables-nft /etc/alternatives/iptables
    true
    """
    host.run(script)


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the simulated fleet needs root (network namespaces, veth, sshd)")
    simfleet.sweep()  # leftovers of a run that was killed
    workdir = REPO / ".tmp" / ("integration-%d" % os.getpid())
    shutil.rmtree(workdir, ignore_errors=True)
    fleet = simfleet.Fleet(workdir, size=HOSTS, python=sys.executable)
    try:
        fleet.up()
        yield fleet
    finally:
        fleet.down()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def ansible(fleet, tmp_path):
    return Ansible(fleet, tmp_path)


@pytest.fixture
def sim1(fleet):
    host = fleet.host("sim1")
    yield host
    reset(host)


@pytest.fixture
def hosts(fleet):
    yield fleet.hosts
    for host in fleet.hosts:
        reset(host)
