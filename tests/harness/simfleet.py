# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A simulated fleet: N Linux hosts on one machine, reached by Ansible over real ssh.

Each host is an ``unshare``d process tree with its own network, mount, UTS, IPC and PID
namespaces, a private tmpfs ``/run`` (so ``/run/netns`` is its own), an overlay ``/etc`` (so
``/etc/netns`` and ``/etc/hosts`` are its own) and ``/usr/local/lib``, its own hostname and an ``sshd`` bound to its lab
address. The only objects this creates in the real host's network namespace are the lab bridge
``nml<K>`` (10.231.K.1/24) and one veth ``nml<K>h<I>`` per host; ``down`` and ``sweep`` remove
them. The lab cable is dual-stack inside the hosts: host I of lab K has 10.231.K.(10+I)/24 and
fd31:9b5e:c207:K::(10+I)/64 on its eth0. The real host gets no IPv6 address, route or
autoconfiguration from it: IPv6 is switched off on the bridge and its ports (they switch frames
of both families all the same). Every process is tracked by PID in a registry under /run/netmodes-simfleet, and only those
PIDs (checked against a marker in their command line) are ever killed.

Command line::

    simfleet.py up --hosts 3 --workdir .tmp/fleet     # prints the inventory path
    simfleet.py sh --workdir .tmp/fleet sim1 -- ip -br link
    simfleet.py down --workdir .tmp/fleet
    simfleet.py sweep                                 # remove fleets whose processes are gone
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PREFIX = "nml"
MARKER = "netmodes-simfleet"
REGISTRY = Path("/run/netmodes-simfleet")
LAB_NET = "10.231.%d.0/24"
# The lab's IPv6: a ULA /48 of the project's own (RFC 4193, a random-looking global ID), and lab K
# its /64 fd31:9b5e:c207:K::/64. Never fd00::/8's fd00:..., where this machine's uplink is
# (fd00::/64). K and a host's number are written with the decimal digits of the IPv4 lab (digits
# read as hex, distinct for distinct numbers), so 10.231.5.11 and fd31:9b5e:c207:5::11 are one host.
LAB_PREFIX6 = "fd31:9b5e:c207::/48"
LAB_NET6 = "fd31:9b5e:c207:%d::/64"
LAB_ADDRESS6 = "fd31:9b5e:c207:%d::%d"
MAX_FLEETS = 99

# PID 1 of a simulated host. It mounts its private /proc, /sys, /run, /etc and /usr/local/lib, waits for the
# harness to hand it eth0, starts sshd and then stays alive reaping orphans.
INIT = r"""
set -eu
name=$1 cidr=$2 cidr6=$3 dir=$4
addr=${cidr%/*} addr6=${cidr6%/*}
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd /run/simfleet/upper /run/simfleet/work /run/lock
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/simfleet/upper,workdir=/run/simfleet/work /etc
# /usr/local/lib as well: what a host installs there (the boot restore's default command,
# /usr/local/lib/netmodes) stays in the host, never in the machine's own /usr.
mkdir -p /run/simfleet/local-upper /run/simfleet/local-work
mount -t overlay overlay -o lowerdir=/usr/local/lib,upperdir=/run/simfleet/local-upper,workdir=/run/simfleet/local-work /usr/local/lib
hostname "$name"
echo "$name" > /etc/hostname
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n%s\t%s\n' "$addr" "$name" "$addr6" "$name" > /etc/hosts
ip link set lo up
read -r _go
# No duplicate address detection on the lab cable: its link-local address exists at once
# instead of appearing a moment after the host is up (and inside a test's before/after). No
# router advertisements either: the lab's addresses are the ones given here, whatever a test sends.
sysctl -qw net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.accept_ra=0
ip link set eth0 up
ip addr add "$cidr" dev eth0
ip -6 addr add "$cidr6" dev eth0 nodad
/usr/sbin/sshd -f "$dir/sshd_config" -o "ListenAddress=$addr"
: > "$dir/$name.ready"
exec 0</dev/null
trap '' TERM
while :; do sleep 3600 & wait $! || true; done
"""

SSHD_CONFIG = """\
HostKey {dir}/ssh_host_ed25519_key
AuthorizedKeysFile {dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile /run/sshd.pid
Subsystem sftp internal-sftp
MaxSessions 64
MaxStartups 128
UseDNS no
LogLevel ERROR
"""


def _run(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True)


@contextlib.contextmanager
def _registry_lock():
    """Serialise claiming a lab number with sweeping, across processes.

    Without it a sweep started by another test session could see a fleet between creating its
    bridge and registering its hosts, take it for dead and remove its lab links.
    """
    REGISTRY.mkdir(parents=True, exist_ok=True)
    with open(REGISTRY / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _write(path, text):
    """Replace PATH's content at once. A starting fleet saves its entry a second time without the
    registry lock (once its hosts run), so a sweep holding the lock must see the old entry or the
    new one, never a half-written one."""
    tmp = path.with_name(".%s.%d" % (path.name, os.getpid()))
    tmp.write_text(text)
    os.replace(tmp, path)


def no_ipv6(link):
    """Switch IPv6 off on LINK, a lab link of the real host's namespace, before it goes up: no
    link-local address, and no router advertisement from the lab configures anything there."""
    Path("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % link).write_text("1")


def _link_names():
    out = _run("ip", "-j", "link", "show").stdout
    return [link["ifname"] for link in json.loads(out or "[]")]


def running(pid):
    """True when PID is a process that has not exited (a zombie has)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _alive(pid, marker):
    """True when PID runs and is one of ours (its command line carries MARKER)."""
    if not running(pid):
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return marker.encode() in handle.read()
    except (FileNotFoundError, ProcessLookupError):
        return False


def child_of(pid, what, timeout=5.0):
    """The first child of process PID (the init that `unshare --fork` starts in a new PID
    namespace), waited for; WHAT names PID in the error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            children = Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()
        except FileNotFoundError:
            raise RuntimeError("%s %d exited at start" % (what, pid))
        if children:
            return int(children[0])
        time.sleep(0.002)
    raise RuntimeError("%s %d did not fork its init" % (what, pid))


class SimHost:
    def __init__(self, fleet, index, pid=None):
        self.fleet, self.index, self.pid = fleet, index, pid
        self.name = "sim%d" % index
        self.address = "10.231.%d.%d" % (fleet.fleet_id, 10 + index)
        self.address6 = LAB_ADDRESS6 % (fleet.fleet_id, 10 + index)
        self.lab_link = "%s%dh%d" % (PREFIX, fleet.fleet_id, index)

    @property
    def marker(self):
        return "%s-%d-%s" % (MARKER, self.fleet.fleet_id, self.name)

    def nsenter(self, *argv):
        """The command line that runs ARGV inside this host (all of its namespaces)."""
        return ["nsenter", "-t", str(self.pid), "-n", "-m", "-u", "-i", "-p", "--", *argv]

    def run(self, command, check=True, timeout=60, input=None):
        """Run a shell command inside the host; returns CompletedProcess (text)."""
        return subprocess.run(self.nsenter("sh", "-c", command), check=check, capture_output=True,
                              text=True, timeout=timeout, input=input)

    def as_dict(self):
        return {"name": self.name, "address": self.address, "address6": self.address6, "pid": self.pid, "lab_link": self.lab_link}


class Fleet:
    """Start and stop a simulated fleet; use as a context manager or through the CLI."""

    def __init__(self, workdir, size=3, python=None):
        self.workdir = Path(workdir).resolve()
        self.size = size
        self.python = python or sys.executable
        self.fleet_id = None
        self.hosts = []

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()

    @property
    def bridge(self):
        return "%s%d" % (PREFIX, self.fleet_id)

    @property
    def inventory(self):
        return self.workdir / "inventory.ini"

    def host(self, name):
        return next(h for h in self.hosts if h.name == name)

    def up(self, timeout=20):
        """Start the hosts and wait until every sshd accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._keys()
        try:
            self._claim_lab()
            procs = [self._spawn(SimHost(self, i)) for i in range(1, self.size + 1)]
            for host, proc in procs:
                _run("ip", "link", "add", host.lab_link, "type", "veth", "peer", "name", "eth0", "netns", str(proc.pid))
                no_ipv6(host.lab_link)
                _run("ip", "link", "set", host.lab_link, "master", self.bridge, "up")
            for _host, proc in procs:
                proc.stdin.write(b"go\n")
                proc.stdin.close()
            self._save()
            self._wait_ssh(timeout)
        except BaseException:
            self.down()
            raise
        self._write_inventory()
        return self

    def _keys(self):
        for key in ("id_ed25519", "ssh_host_ed25519_key"):
            if not (self.workdir / key).exists():
                _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", MARKER, "-f", str(self.workdir / key))
        shutil.copyfile(self.workdir / "id_ed25519.pub", self.workdir / "authorized_keys")
        (self.workdir / "sshd_config").write_text(SSHD_CONFIG.format(dir=self.workdir))

    def _claim_lab(self):
        # Creating the bridge picks the number: the first free one after the number claimed last
        # wins, also across processes. Going round instead of taking the lowest free number keeps
        # a number that a fleet has just given back from being claimed again at once while fleets
        # start and stop side by side (parallel test workers): whoever still looks at the old
        # fleet's number, links or registry entry sees nothing of a newcomer's.
        with _registry_lock():
            last = REGISTRY / ".last"
            try:
                start = int(last.read_text())
            except (FileNotFoundError, ValueError):
                start = 0
            for step in range(1, MAX_FLEETS + 1):
                fleet_id = (start + step - 1) % MAX_FLEETS + 1
                if _run("ip", "link", "add", "%s%d" % (PREFIX, fleet_id), "type", "bridge", check=False).returncode == 0:
                    self.fleet_id = fleet_id
                    break
            else:
                raise RuntimeError("no free lab number: %d fleets are up (simfleet.py sweep removes dead ones)" % MAX_FLEETS)
            _write(last, str(self.fleet_id))
            self._save()
        no_ipv6(self.bridge)
        _run("ip", "addr", "add", "10.231.%d.1/24" % self.fleet_id, "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")

    def _spawn(self, host):
        (self.workdir / ("%s.ready" % host.name)).unlink(missing_ok=True)
        log = open(self.workdir / ("%s.log" % host.name), "wb")
        argv = ["unshare", "--net", "--mount", "--uts", "--ipc", "--pid", "--fork", "--mount-proc",
                "--kill-child=SIGKILL", "--propagation", "private",
                "bash", "-c", INIT, host.marker, host.name, "%s/24" % host.address, "%s/64" % host.address6, str(self.workdir)]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=log, stderr=log, start_new_session=True)
        log.close()
        host.pid = child_of(proc.pid, "simulated host process")  # nsenter needs PID 1 of the host, not unshare
        host.unshare_pid, host.proc = proc.pid, proc
        self.hosts.append(host)
        return host, proc

    def _wait_ssh(self, timeout):
        # Connecting before a host has its address costs a failed ARP resolution and a second of
        # retransmission; so first wait for each init to say sshd has started, then connect.
        deadline = time.monotonic() + timeout
        pending = list(self.hosts)
        while pending:
            host = pending[0]
            if not (self.workdir / ("%s.ready" % host.name)).exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("%s did not start sshd within %ds; its log:\n%s" % (host.name, timeout, self._log(host)))
                time.sleep(0.002)
                continue
            try:
                with socket.create_connection((host.address, 22), timeout=0.5) as sock:
                    if sock.recv(4).startswith(b"SSH-"):
                        pending.pop(0)
                        continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("sshd of %s did not answer within %ds; its log:\n%s" % (host.name, timeout, self._log(host)))
            time.sleep(0.01)

    def _log(self, host):
        return (self.workdir / ("%s.log" % host.name)).read_text(errors="replace")

    def _write_inventory(self):
        lines = ["[sim]"]
        lines += ["%s ansible_host=%s lab_address6=%s" % (h.name, h.address, h.address6) for h in self.hosts]
        lines += [
            "",
            "[sim:vars]",
            "ansible_user=root",
            "ansible_ssh_private_key_file=%s" % (self.workdir / "id_ed25519"),
            "ansible_python_interpreter=%s" % self.python,
            # A simulated host shares the machine's /usr: the boot-time restore's command goes to
            # its own /etc instead of /usr/local/lib.
            "netmodes_boot_restore_command=/etc/netmodes/netmodes-restore",
            # ssh control sockets of this fleet only: a master of an earlier fleet that had the same
            # lab number (same addresses) would otherwise be reused, with its host long gone.
            "ansible_control_path_dir=%s" % (self.workdir / "cp"),
            "",
        ]
        self.inventory.write_text("\n".join(lines))

    def write_instance_config(self, path):
        """The hosts as molecule's default driver wants them (JSON is YAML)."""
        key = str(self.workdir / "id_ed25519")
        instances = [{"instance": h.name, "address": h.address, "user": "root", "port": 22, "identity_file": key} for h in self.hosts]
        Path(path).write_text(json.dumps(instances, indent=2))

    def _save(self):
        # The starting process counts as alive until its hosts are registered.
        state = {"fleet_id": self.fleet_id, "workdir": str(self.workdir), "starter": os.getpid(),
                 "hosts": [dict(h.as_dict(), unshare_pid=getattr(h, "unshare_pid", None)) for h in self.hosts]}
        REGISTRY.mkdir(parents=True, exist_ok=True)
        text = json.dumps(state, indent=1)
        _write(REGISTRY / ("%d.json" % self.fleet_id), text)
        _write(self.workdir / "fleet.json", text)

    @classmethod
    def load(cls, workdir):
        """The fleet described by WORKDIR/fleet.json (started by another process)."""
        state = json.loads((Path(workdir) / "fleet.json").read_text())
        fleet = cls(workdir, size=len(state["hosts"]))
        fleet.fleet_id = state["fleet_id"]
        for item in state["hosts"]:
            host = SimHost(fleet, int(item["name"][3:]), item["pid"])
            host.unshare_pid = item.get("unshare_pid")
            fleet.hosts.append(host)
        return fleet

    def down(self):
        """Stop every host, remove the lab links and the registry entry. Safe to call twice."""
        if self.fleet_id is None:
            return
        _teardown(self.fleet_id, [(h.unshare_pid, h.pid, h.marker) for h in self.hosts if h.pid], self.workdir)
        for host in self.hosts:
            if getattr(host, "proc", None) is not None:
                host.proc.wait(timeout=10)  # reap our child, so no zombie outlives the fleet
        self.hosts = []
        self.fleet_id = None


def _teardown(fleet_id, processes, workdir, locked=False):
    """Kill the fleet's processes, then remove its lab links and registry entry.

    The links and the entry go under the registry lock, and the entry only while it is still
    this fleet's (same workdir): otherwise a fleet that claims the freed number at that moment
    could lose its registry entry, and the next sweep would take its links for strays.
    """
    for unshare_pid, pid, marker in processes:
        for candidate in (pid, unshare_pid):
            if candidate and _alive(candidate, marker):
                try:
                    os.kill(candidate, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    deadline = time.monotonic() + 10
    while any(_alive(p, m) for dummy, p, m in processes) and time.monotonic() < deadline:
        time.sleep(0.01)
    with contextlib.nullcontext() if locked else _registry_lock():
        entry = REGISTRY / ("%d.json" % fleet_id)
        try:
            if json.loads(entry.read_text()).get("workdir") != str(workdir):
                return  # the number is another fleet's by now; its links are its own
        except (FileNotFoundError, ValueError):
            pass
        mine = "%s%d" % (PREFIX, fleet_id)
        for name in _link_names():
            # The bridge nml<K> and its ports nml<K>h<I>: exact prefix match on our own number.
            if name == mine or (name.startswith(mine + "h") and name[len(mine) + 1:].isdigit()):
                _run("ip", "link", "del", name, check=False)
        entry.unlink(missing_ok=True)


def sweep(everything=False):
    """Remove fleets whose processes are gone (or all registered fleets with EVERYTHING).

    Also removes lab links of our prefix that no registry entry accounts for. Returns the
    fleet numbers removed.
    """
    removed = []
    registered = set()
    with _registry_lock():
        for entry in sorted(REGISTRY.glob("*.json")):
            state = json.loads(entry.read_text())
            fleet_id = state["fleet_id"]
            procs = [(h.get("unshare_pid"), h["pid"], "%s-%d-%s" % (MARKER, fleet_id, h["name"])) for h in state["hosts"]]
            starting = not state["hosts"] and running(state.get("starter") or 0)
            if everything or not (starting or any(_alive(p, m) for dummy, p, m in procs if p)):
                _teardown(fleet_id, procs, state.get("workdir"), locked=True)
                removed.append(fleet_id)
            else:
                registered.add(fleet_id)
        for name in _link_names():
            number = name[len(PREFIX):].split("h")[0]
            if name.startswith(PREFIX) and number.isdigit() and int(number) not in registered:
                _run("ip", "link", "del", name, check=False)
    return removed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a fleet and print its inventory path")
    up.add_argument("--hosts", type=int, default=3)
    up.add_argument("--workdir", required=True)
    up.add_argument("--python", default=sys.executable, help="ansible_python_interpreter of the hosts")
    up.add_argument("--instance-config", help="also write the hosts as molecule's instance config (a YAML list) to this file")
    down = sub.add_parser("down", help="stop the fleet of a workdir")
    down.add_argument("--workdir", required=True)
    shell = sub.add_parser("sh", help="run a command inside one host")
    shell.add_argument("--workdir", required=True)
    shell.add_argument("host")
    shell.add_argument("cmd", nargs=argparse.REMAINDER)
    sw = sub.add_parser("sweep", help="remove dead fleets and stray lab links")
    sw.add_argument("--all", action="store_true", help="also stop fleets that are still running")
    args = parser.parse_args(argv)

    if args.command == "up":
        start = time.monotonic()
        fleet = Fleet(args.workdir, args.hosts, args.python).up()
        print("%d hosts up in %.2fs: %s" % (len(fleet.hosts), time.monotonic() - start,
                                            ", ".join("%s=%s" % (h.name, h.address) for h in fleet.hosts)), file=sys.stderr)
        if args.instance_config:
            fleet.write_instance_config(args.instance_config)
        print(fleet.inventory)
    elif args.command == "down":
        Fleet.load(args.workdir).down()
    elif args.command == "sh":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        host = Fleet.load(args.workdir).host(args.host)
        return subprocess.call(host.nsenter(*cmd))
    elif args.command == "sweep":
        print("removed fleets: %s" % (sweep(args.all) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
