# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration tests: the modules run by `ansible` and `ansible-playbook` over ssh against a
simulated fleet (tests/harness/simfleet.py), and are checked with the real tools inside it.

Everything these tests create lives inside the simulated hosts. After each test the hosts are
reset (every sandbox and every link but lo/eth0 removed, inside the host); after the session the
fleet is torn down, and a sweep at the start removes what a killed earlier run left behind.
`make integration` runs the files side by side in pytest-xdist workers (``-n``): each worker has
a fleet of its own, and a file runs whole in one worker (see pytest_xdist_make_scheduler).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from xdist.scheduler import LoadFileScheduling

from ansible_collections.netmodes.linux.tests.shared.foreign_firewalls import DOCKER_LEGACY, DOCKER_LEGACY6, UFW, UFW6

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "harness"))

import hostsnap  # noqa: E402  (the one snapshot of a host)
import simfleet  # noqa: E402
import systemd_host  # noqa: E402

# The ansible and ansible-playbook the tests run: this interpreter's, or those of another
# ansible-core line (NETMODES_ANSIBLE_BIN: its virtualenv's bin; hack/compat).
BIN = Path(os.environ.get("NETMODES_ANSIBLE_BIN") or Path(sys.executable).parent)
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
            assert_unchanged(before, snapshot(), "check mode")
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
    """Everything a module could change on HOST (tests/harness/hostsnap.py), as a dict; taking it
    fails the test when one of its tools fails. Equal snapshots mean nothing changed."""
    proc = host.run("cd %s && %s tests/harness/hostsnap.py" % (REPO, sys.executable), check=False)
    assert proc.returncode == 0, "%s: the snapshot could not be taken: %s" % (host.name, proc.stderr[-2000:])
    return json.loads(proc.stdout)


def assert_unchanged(before, after, what="the run"):
    """Fail with the differing parts when two snapshots differ (the kernel's ids included)."""
    found = hostsnap.differences(before, after)
    assert not found, "%s changed the host:\n%s" % (what, "\n".join(found[:60]))


def refused(result, field, before, after, fix=""):
    """The one check of a refused input: the run failed, its message names FIELD (the option at
    fault, as "field: ...") and says FIX, nothing was applied, and the host's whole snapshot is
    as BEFORE. Every way it went wrong is told in one assertion."""
    problems = []
    if result.get("failed") is not True:
        problems.append("it did not fail: %s" % json.dumps(result)[:2000])
    msg = result.get("msg", "")
    if field not in msg:
        problems.append("the message does not name the field %r: %s" % (field, msg))
    if fix not in msg:
        problems.append("the message does not say how to fix it (%r): %s" % (fix, msg))
    if result.get("applied") != []:
        problems.append("applied: %s" % result.get("applied"))
    changed = hostsnap.differences(before, after)
    if changed:
        problems.append("the run changed the host:\n%s" % "\n".join(changed[:40]))
    assert not problems, "\n".join(problems)


def firewall(host):
    """Both firewalls of a host as ``snapshot`` has them, as text: the nftables ruleset (JSON, with
    the rule handles), then iptables-legacy-save and ip6tables-legacy-save lines as they print."""
    snap = snapshot(host)
    handles = {key: value for key, value in snap["ids"].items() if key.startswith("nft ")}
    return "\n".join([json.dumps({"nftables": snap["nftables"], "handles": handles}, indent=1, sort_keys=True),
                      "--- iptables-legacy ---", *snap["iptables-legacy"], "--- ip6tables-legacy ---", *snap["ip6tables-legacy"]])


BACKENDS = ["nftables", "iptables"]


def use_backend(host, name):
    """Make HOST an nftables host or an iptables-legacy host (what `auto` detects)."""
    target = "/usr/sbin/iptables-legacy" if name == "iptables" else "/usr/sbin/iptables-nft"
    # /etc is the simulated host's own overlay; update-alternatives would also write dpkg's state
    # under /var, which is the real machine's, so the link is set directly.
    sh(host, "ln -sfn %s /etc/alternatives/iptables && iptables --version" % target)


# -- other software's state in a host, which our modules must leave as they found it -------------
# Each piece is a shell command that makes it inside a simulated host; `foreign_state` reads
# them all back. reset() removes them (every nftables table, legacy chains and policies, links).

FOREIGN = {
    # A table of someone else's, with a nat base chain (as test_portmap uses it).
    "nft": """nft -f - <<'EOF'
table ip theirs {
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\ttcp dport 9999 counter
\t}
}
EOF""",
    # A chain of someone else's in iptables-legacy, hooked from FORWARD and nat PREROUTING.
    "legacy": "iptables-legacy -N THEIRS && iptables-legacy -A THEIRS -p tcp --dport 9999 -j RETURN"
              " && iptables-legacy -I FORWARD -j THEIRS && iptables-legacy -t nat -A PREROUTING -p tcp --dport 9998 -j RETURN",
    # Docker on an iptables-legacy host, and ufw through iptables-nft (tests/shared/foreign_firewalls.py).
    "docker": "iptables-legacy-restore --noflush <<'EOF'\n%sEOF" % DOCKER_LEGACY,
    "ufw": "iptables-nft-restore --noflush <<'EOF'\n%sEOF" % UFW,
    # Their IPv6 halves: Docker's ip6tables-legacy, ufw's ip6tables-nft (table ip6 filter), and a
    # hand-written ip6 table with a nat chain and a forward chain that counts.
    "docker6": "ip6tables-legacy-restore --noflush <<'EOF'\n%sEOF" % DOCKER_LEGACY6,
    "ufw6": "ip6tables-nft-restore --noflush <<'EOF'\n%sEOF" % UFW6,
    "nft6": """nft -f - <<'EOF'
table ip6 theirs6 {
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip6 daddr fd31:250::/64 tcp dport 9999 counter
\t}
\tchain forward_count {
\t\ttype filter hook forward priority 5; policy accept;
\t\tip6 saddr fd31:250::/64 counter
\t}
}
EOF""",
    # A hand-written table whose forward chain drops what it does not accept, and a prerouting
    # chain that drops part of the traffic only (no warning for that).
    "nft-drop": """nft -f - <<'EOF'
table inet guard {
\tchain forward_guard {
\t\ttype filter hook forward priority 10; policy drop;
\t\tct state established,related accept
\t\tiifname "lan*" accept
\t}
\tchain early {
\t\ttype filter hook prerouting priority -10; policy accept;
\t\ttcp dport 23 drop
\t}
}
EOF""",
    # A Linux bridge that is not ours, with an address.
    "bridge": "ip link add theirbr type bridge && ip addr add 10.231.250.1/24 dev theirbr && ip link set theirbr up",
}


def add_foreign(host, *pieces):
    """Make the FOREIGN PIECES inside HOST."""
    for piece in pieces:
        sh(host, FOREIGN[piece])


def _not_ours(line):
    return not any(word in line for word in ("NETMODES-", "NM-IN-", "NM-OUT-", "netmodes"))


def _legacy_tables(saved):
    """The lines of ``ip(6)tables-legacy-save`` that are not ours, without counters, and without
    the tables left with nothing but built-in chains that accept: the kernel makes a legacy table
    whenever it is first named (a listing does), so an empty one is nobody's state."""
    out, table = [], []
    for line in saved.splitlines():
        line = re.sub(r" \[\d+:\d+\]$", "", line)
        if line.startswith("#") or not _not_ours(line):
            continue
        table.append(line)
        if line == "COMMIT":
            if any(not re.fullmatch(r"\*\w+|:[A-Z]+ ACCEPT|COMMIT", kept) for kept in table):
                out += table
            table = []
    return out


def foreign_state(host):
    """Everything in HOST's firewalls and links that is not ours, as text, byte for byte except
    for counters and the bridge's running timers (which traffic and time move)."""
    def table(item):
        (body,) = item.values()
        return body.get("family"), body.get("table", body.get("name"))

    nft = [item for item in sh_json(host, "nft -j list ruleset")["nftables"] if "metainfo" not in item and table(item) != ("inet", "netmodes")]
    for item in nft:
        for expr in item.get("rule", {}).get("expr", []):
            if "counter" in expr:
                expr["counter"] = None
    legacy = {tool: _legacy_tables(sh(host, tool + "-save")) for tool in ("iptables-legacy", "ip6tables-legacy")}
    links = {}
    for link in sh_json(host, "ip -d -j link show"):
        if link.get("linkinfo", {}).get("info_kind") == "bridge" and "netmodes.linux" not in (link.get("ifalias") or ""):
            data = link["linkinfo"]["info_data"]
            link["linkinfo"]["info_data"] = {k: v for k, v in data.items() if not k.endswith("_timer")}
            (addrs,) = sh_json(host, "ip -j addr show dev %s" % link["ifname"])
            # IPv6 link-local addresses are the kernel's own, and come and go with DAD.
            addrs["addr_info"] = [a for a in addrs["addr_info"] if not (a.get("family") == "inet6" and a.get("scope") == "link")]
            links[link["ifname"]] = (link, addrs)
    return {"nftables": json.dumps(nft, sort_keys=True, indent=1), "bridges": links, **{tool: "\n".join(lines) for tool, lines in legacy.items()}}


def reset(host):
    """Remove, inside HOST, every sandbox and every link besides lo and eth0 (the lab cable)."""
    script = r"""
    for ns in $(ls /run/netns 2>/dev/null); do umount -l /run/netns/$ns 2>/dev/null; rm -f /run/netns/$ns; done
    sh %s/tests/harness/stop_resolvers.sh
    rm -rf /run/netmodes /etc/netns /etc/netmodes /etc/systemd/system/netmodes-restore.service \
      /etc/systemd/system/*.wants/netmodes-restore.service
    for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
      case $l in lo|eth0) ;; *) ip link del "$l" 2>/dev/null ;; esac
    done
    nft flush ruleset
    for t in raw nat filter; do iptables-legacy -t $t -F 2>/dev/null; iptables-legacy -t $t -X 2>/dev/null; done
    for t in $(cat /proc/net/ip6_tables_names 2>/dev/null); do ip6tables-legacy -t $t -F; ip6tables-legacy -t $t -X; done
    for c in INPUT FORWARD OUTPUT; do iptables-legacy -P $c ACCEPT 2>/dev/null; done
    if grep -qw filter /proc/net/ip6_tables_names 2>/dev/null; then for c in INPUT FORWARD OUTPUT; do ip6tables-legacy -P $c ACCEPT; done; fi
    ln -sfn /usr/sbin/iptables-nft /etc/alternatives/iptables
    # The lab cable as a new host has it: not forwarding, no 127.0.0.0/8 routed (a test that
    # left them on must not make the next one start on a host that already forwarded).
    sysctl -qw net.ipv4.conf.eth0.forwarding=0 net.ipv4.conf.eth0.route_localnet=0 net.ipv6.conf.eth0.forwarding=0 \
      net.ipv6.conf.eth0.force_forwarding=0
    true
    """ % REPO
    host.run(script)


def fleet_of(size, label):
    """The body of a fleet fixture: SIZE simulated hosts (workdir .tmp/LABEL-PID) for as long as
    the fixture lives, stopped and removed after it, also when starting them failed halfway."""
    if os.geteuid() != 0:
        pytest.skip("the simulated fleet needs root (network namespaces, veth, sshd)")
    workdir = REPO / ".tmp" / ("%s-%d" % (label, os.getpid()))
    shutil.rmtree(workdir, ignore_errors=True)
    fleet = simfleet.Fleet(workdir, size=size, python=sys.executable)
    try:
        fleet.up()
        yield fleet
    finally:
        fleet.down()
        shutil.rmtree(workdir, ignore_errors=True)


# Seconds each file took (a file of SPLIT_BY_BACKEND: its longer part), from the summary a run
# prints at its end (3 workers at load 5 to 8; the last nine files in 2 workers at load 3). The
# files run longest first, so that under pytest-xdist no long file is started last while the
# other workers sit idle; a file not listed here runs first, as if it were the longest.
SECONDS = {
    "test_gateway_modes.py": 864, "test_security.py": 650, "test_bridge_policy.py": 541, "test_portmap.py": 358,
    "test_sandboxes.py": 304, "test_portmap_random.py": 301, "test_one_plan.py": 287, "test_resolver.py": 245,
    "test_services.py": 242, "test_ipv6_fleet.py": 230, "test_net_info.py": 227, "test_overlay.py": 192, "test_ipv6.py": 137,
    "test_services_reboot.py": 130, "test_bridge_veth.py": 125, "test_publish_allow.py": 119, "test_coexistence.py": 118,
    "test_crash.py": 111, "test_vxlan.py": 103, "test_bad_input.py": 94, "test_dns_config.py": 87, "test_boot_restore.py": 85,
    "test_macvlan.py": 49, "test_concurrency.py": 44, "test_site.py": 37, "test_isolation.py": 30, "test_systemd_host.py": 27,
    "test_netns.py": 27, "test_errors.py": 16, "test_prune.py": 13, "test_build.py": 7, "test_harness.py": 1,
}


# Long files whose tests take their backend from function-scoped fixtures and share nothing across
# tests: each backend's tests are a unit of work of their own (FileScheduling), and the tests that
# take no backend another, so that the parts of a long file run side by side.
SPLIT_BY_BACKEND = {"test_gateway_modes.py", "test_security.py", "test_bridge_policy.py"}


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: -SECONDS.get(item.path.name, float("inf")))  # stable: a file keeps its order


def unit_of(nodeid):
    """The unit of work NODEID belongs to: its file, or for a file of SPLIT_BY_BACKEND its file and backend."""
    path = nodeid.split("::", 1)[0]
    if path.rpartition("/")[2] in SPLIT_BY_BACKEND:
        backend = next((p for p in nodeid.partition("[")[2].rstrip("]").split("-") if p in BACKENDS), None)
        if backend:
            return "%s[%s]" % (path, backend)
    return path


class FileScheduling(LoadFileScheduling):
    """xdist's scheduling by file, a file of SPLIT_BY_BACKEND by file and backend."""

    def _split_scope(self, nodeid):
        return unit_of(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Whatever ``--dist`` says, a file runs whole in one worker: module-scoped fixtures (the world
    of test_bad_input.py, test_overlay.py's own 3-host fleet, the crash test's clean runs) are made
    once, and a file's tests see each other's order as in a serial run. Files go out in the order
    of the collection (longest first, above), not xdist's order by number of tests."""
    config.option.loadscopereorder = False
    return FileScheduling(config, log)


_SPENT = {}   # unit of work -> seconds its tests took (setup, call and teardown), for SECONDS


def pytest_runtest_logreport(report):
    unit = unit_of(report.nodeid)
    _SPENT[unit] = _SPENT.get(unit, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter, config):
    """The seconds each file (or half of one) took, longest first: what SECONDS is updated from."""
    if _SPENT and not hasattr(config, "workerinput"):
        terminalreporter.section("seconds per unit of work (SECONDS above)")
        for unit, seconds in sorted(_SPENT.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line("%7.1f  %s" % (seconds, unit))


def pytest_sessionstart(session):
    """Remove what a killed earlier run left behind, once per run and before any fleet starts:
    in the only pytest process, or in the controller of pytest-xdist's workers (each of which
    starts a fleet of its own, and a test of test_harness.py kills and sweeps a fleet of its own)."""
    if os.geteuid() == 0 and not hasattr(session.config, "workerinput"):
        simfleet.sweep()


def systemd_host_on(fleet, name, octet, label):
    """A simulated host that boots systemd (tests/harness/systemd_host.py) on FLEET's lab, as NAME
    with the lab address .OCTET (one per test file, so that files running side by side never share
    one), its workdir under .tmp named by LABEL; a generator for a module-scoped fixture. Skipped,
    with the reason, where the machine cannot boot one."""
    problem = systemd_host.cgroup2_problem()
    if problem:
        pytest.skip("no systemd-booted simulated host on this machine: %s" % problem)
    systemd_host.sweep()
    workdir = REPO / ".tmp" / ("%s-%d" % (label, os.getpid()))
    shutil.rmtree(workdir, ignore_errors=True)
    host = systemd_host.SystemdHost(workdir, name, fleet.bridge, "10.231.%d.%d/24" % (fleet.fleet_id, octet), keydir=fleet.workdir)
    try:
        yield host.up()
    finally:
        host.down()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def fleet():
    """The session's fleet: one per pytest process, so one per xdist worker."""
    yield from fleet_of(HOSTS, "integration")


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
