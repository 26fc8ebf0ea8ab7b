# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A simulated host that boots systemd as PID 1, reached by ssh like simfleet's hosts.

This machine has no systemd of its own (PID 1 is the VM's init) and a hybrid cgroup layout: the
v1 controllers under /sys/fs/cgroup and a cgroup2 hierarchy at /sys/fs/cgroup/unified. systemd
252 boots in a host made of:

- a *supervisor* process (this file, ``supervise``) in a private mount namespace of its own. It
  boots the host, waits for it to stop, and boots it again when systemd asked for a reboot
  (``reboot(2)`` inside a PID namespace only ends that namespace: the kernel reports it as its
  init killed by SIGHUP, SIGINT for a power-off; the real machine is never rebooted);
- per boot, new network, mount, UTS, IPC, PID and cgroup namespaces. The network namespace exists
  before systemd starts: the supervisor hands it one veth (``eth0``, the other end on the lab
  bridge) and the boot script gives it the harness's address. Everything of a boot is gone when
  it stops, so a reboot starts with no links but eth0, an empty /run and no named netns;
- a root that is an overlay of the machine's own ``/`` with an upper layer in the workdir (the
  host's disk: /etc and /var changes survive a reboot, and nothing is written to the real /etc,
  /usr or /var); a fresh /run, /tmp and a minimal /dev; /sys and /proc/sys read-only but for the
  host's own network objects (/sys/devices/virtual/net, /proc/sys/net);
- a delegated cgroup2 subtree ``/sys/fs/cgroup/unified/netmodes-systemd/<marker>`` that the boot's
  cgroup namespace sees as its root, mounted on /sys/fs/cgroup: systemd runs in unified mode
  (no controllers are delegated: they are bound to the v1 hierarchies of the machine);
- a bounding set without the capabilities that act on the whole machine (DROPPED_CAPS);
- ``container=netmodes`` in PID 1's environment, so that systemd and its units know they are in a
  container, and masks for every unit that could reach beyond the host (udev, networkd, resolved,
  timesyncd, sysctl, modules, binfmt, fsck, gettys, the real machine's own services...);
- ``netmodes-sshd.service``: sshd bound to the host's lab address, with simfleet's keys.

Removing the host kills every process of its cgroup subtree (``cgroup.kill``) and the supervisor
(by PID, checked against the marker in its command line), removes the cgroups, its lab link and
its workdir: nothing is left in the root namespaces.

Command line::

    systemd_host.py up --workdir .tmp/sd --bridge nml5 --address 10.231.5.50/24
    systemd_host.py sh --workdir .tmp/sd -- systemctl is-system-running
    systemd_host.py down --workdir .tmp/sd
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from simfleet import child_of, no_ipv6

MARKER = "netmodes-systemd-host"


def _cgroup2_mount():
    """Where the machine mounts its cgroup2 hierarchy: /sys/fs/cgroup/unified here (hybrid layout),
    /sys/fs/cgroup on a machine with the unified layout only."""
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return Path(fields[4])
    return Path("/sys/fs/cgroup/unified")


CGROUP2 = _cgroup2_mount()
CGROUP_PARENT = "netmodes-systemd"
REGISTRY = Path("/run/netmodes-systemd-host")
SYSTEMD = "/lib/systemd/systemd"

# Capabilities that act on the whole machine rather than on the host's namespaces, taken from the
# bounding set of the host's every process (as systemd-nspawn does): kernel modules, the clock,
# raw I/O on devices, the kernel log, process accounting, suspend, security modules.
DROPPED_CAPS = ("sys_module", "sys_time", "sys_rawio", "syslog", "sys_pacct", "wake_alarm", "block_suspend",
                "mac_admin", "mac_override", "sys_tty_config")

# Units that must not run in a simulated host: they reach the real machine (devices, kernel
# settings, clock, modules, file systems, the real links) or are the machine's own services.
MASKED = (
    # devices and kernel settings shared with the real machine
    "systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service", "systemd-udev-settle.service", "systemd-hwdb-update.service",
    "systemd-sysctl.service", "systemd-modules-load.service", "kmod-static-nodes.service",
    "modprobe@.service", "systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount", "sys-kernel-debug.mount", "sys-kernel-tracing.mount",
    "sys-kernel-config.mount", "sys-fs-fuse-connections.mount", "dev-hugepages.mount",
    "systemd-timesyncd.service", "systemd-random-seed.service", "systemd-pstore.service",
    # file systems: the root is an overlay of the real one
    "systemd-remount-fs.service", "systemd-fsck-root.service", "systemd-fsck@.service",
    "fstrim.timer", "fstrim.service", "e2scrub_all.timer", "e2scrub_reap.service",
    "systemd-firstboot.service", "swap.target",
    # networking belongs to the harness (eth0) and to the collection under test
    "systemd-networkd.service", "systemd-networkd.socket", "systemd-networkd-wait-online.service",
    "systemd-network-generator.service", "systemd-resolved.service",
    # consoles and logins: the host is reached by ssh only
    "getty.target", "getty@.service", "serial-getty@.service", "console-getty.service",
    "container-getty@.service",
    # the real machine's own services and timers
    "ssh.service", "ssh.socket", "postgresql.service", "postgresql@.service",
    "apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer", "dpkg-db-backup.timer",
)

# In the host, on its own disk (see SystemdHost._disk): sshd's key, config and the keys it admits.
SSH_DIR = "/etc/netmodes-sim"

SSHD_UNIT = """\
[Unit]
Description=sshd of the simulated host (lab address)
After=network.target

[Service]
ExecStart=/usr/sbin/sshd -D -f {dir}/sshd_config -o ListenAddress={address} -o PidFile=/run/sshd.pid
RuntimeDirectory=sshd
RuntimeDirectoryPreserve=yes

[Install]
WantedBy=multi-user.target
"""

SSHD_CONFIG = """\
HostKey {dir}/ssh_host_ed25519_key
AuthorizedKeysFile {dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
MaxSessions 64
MaxStartups 128
UseDNS no
LogLevel ERROR
"""

# One boot, run as PID 1 of the new namespaces: build the root, wait for eth0, exec systemd.
BOOT = r"""
set -eu
name=$1 cidr=$2 disk=$3
root=$disk/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$disk/upper,workdir=$disk/work" "$root"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
# the checkout (its .venv is the tests' interpreter) when it is under /tmp, which the host gets fresh
keep=${4:-}
if [ -n "$keep" ]; then mkdir -p "$root$keep" && mount --bind "$keep" "$root$keep"; fi
# root's home of its own: the machine's (shell start-up files, pyenv) changes under the overlay
mount --bind "$disk/home" "$root/root"
# /dev: a few device nodes of the machine, a pts instance of our own, no disks
mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
for node in null zero full random urandom tty; do
    : > "$root/dev/$node"; mount --bind "/dev/$node" "$root/dev/$node"
done
: > "$root/dev/console"; mount --bind /dev/null "$root/dev/console"
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
# /proc of this PID namespace; its kernel settings read-only but those of our network namespace
mount -t proc proc "$root/proc"
mount --bind "$root/proc/sys" "$root/proc/sys"
mount -o remount,bind,ro "$root/proc/sys"
# a boot id of this boot (the kernel's is the machine's): journald tells boots apart by it
rm -f "$disk/boot_id"; cat /proc/sys/kernel/random/uuid > "$disk/boot_id"
mount --bind "$disk/boot_id" "$root/proc/sys/kernel/random/boot_id"
mount --bind "$root/proc/sys/net" "$root/proc/sys/net"
mount -o remount,bind,rw "$root/proc/sys/net"
if [ -e "$root/proc/sysrq-trigger" ]; then
    mount --bind "$root/proc/sysrq-trigger" "$root/proc/sysrq-trigger"
    mount -o remount,bind,ro "$root/proc/sysrq-trigger"
fi
# /sys of this network namespace, read-only but its virtual links; our cgroup namespace's root
mount -t sysfs -o nosuid,nodev,noexec sysfs "$root/sys"
mount --bind "$root/sys/devices/virtual/net" "$root/sys/devices/virtual/net"
mount -o remount,bind,ro,nosuid,nodev,noexec "$root/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
hostname "$name"
ip link set lo up
read -r _go
sysctl -qw net.ipv6.conf.eth0.accept_dad=0
ip link set eth0 up
ip addr add "$cidr" dev eth0
exec 0</dev/null
cd "$root"
pivot_root . .netmodes-oldroot
exec chroot . /bin/sh -c 'umount -l /.netmodes-oldroot && exec setpriv --bounding-set "$1" env -i container=netmodes "$0"' \
    {systemd} {dropped}
""".replace("{systemd}", SYSTEMD).replace("{dropped}", ",".join("-" + cap for cap in DROPPED_CAPS))


def _run(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def _alive(pid, marker):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return marker.encode() in handle.read()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def cgroup2_problem():
    """Why this machine cannot boot a systemd host, or None: probed, not assumed."""
    if os.geteuid() != 0:
        return "needs root"
    if not Path(SYSTEMD).is_file():
        return "%s is missing (Debian's systemd package)" % SYSTEMD
    if not (CGROUP2 / "cgroup.procs").is_file():
        return "no cgroup2 hierarchy at %s to delegate a subtree from" % CGROUP2
    probe = CGROUP2 / ("%s-probe-%d" % (CGROUP_PARENT, os.getpid()))
    try:
        probe.mkdir()
    except OSError as exc:
        return "cannot make a cgroup under %s: %s" % (CGROUP2, exc)
    try:
        if not (probe / "cgroup.kill").exists():
            return "the kernel's cgroup2 has no cgroup.kill (Linux >= 5.14) to remove a host whole"
    finally:
        probe.rmdir()
    for tool in ("unshare", "nsenter", "pivot_root", "setpriv", "ip", "/usr/sbin/sshd"):
        if not shutil.which(tool):
            return "%s is missing" % tool
    return None


class SystemdHost:
    """One systemd-booted simulated host on an existing lab bridge."""

    def __init__(self, workdir, name, bridge, cidr, *, lab_link=None, keydir=None):
        self.workdir = Path(workdir).resolve()
        self.name, self.bridge, self.cidr = name, bridge, cidr
        self.address = cidr.split("/")[0]
        self.lab_link = lab_link or "%ss%s" % (bridge, self.address.rsplit(".", 1)[1])
        self.keydir = Path(keydir).resolve() if keydir else self.workdir

    @property
    def marker(self):
        return "%s-%s" % (MARKER, hashlib.sha1(str(self.workdir).encode()).hexdigest()[:12])

    @property
    def cgroup(self):
        return CGROUP2 / CGROUP_PARENT / self.marker

    @property
    def state(self):
        try:
            return json.loads((self.workdir / "state.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}

    @property
    def pid(self):
        """PID 1 (systemd) of the current boot, as the machine sees it."""
        return self.state.get("pid")

    @property
    def boots(self):
        return self.state.get("boots", 0)

    # -- lifecycle ----------------------------------------------------------------------------

    def up(self, timeout=60):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._disk()
        (self.workdir / "host.json").write_text(json.dumps(
            {"name": self.name, "bridge": self.bridge, "cidr": self.cidr, "lab_link": self.lab_link,
             "keydir": str(self.keydir)}))
        log = open(self.workdir / "supervisor.log", "ab")
        argv = ["unshare", "--mount", "--propagation", "private", sys.executable, os.path.abspath(__file__),
                "supervise", "--workdir", str(self.workdir), "--marker", self.marker]
        with _registry_lock():  # a sweep of another test session never sees the host between its start and its entry
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
            entry = REGISTRY / ("%s.json" % self.marker)
            scratch = entry.with_name(".%s.tmp" % entry.name)
            scratch.write_text(json.dumps({"workdir": str(self.workdir), "supervisor": self.proc.pid}))
            scratch.replace(entry)
        log.close()
        try:
            self.wait_booted(1, timeout)
        except BaseException:
            self.down()
            raise
        return self

    def _disk(self):
        """The host's disk: the overlay's upper layer, with the masks and the sshd unit."""
        disk = self.workdir / "disk"
        for sub in ("upper", "work", "root", "home"):
            (disk / sub).mkdir(mode=0o700 if sub == "home" else 0o755, parents=True, exist_ok=True)
        etc = disk / "upper" / "etc"
        units = etc / "systemd" / "system"
        (units / "multi-user.target.wants").mkdir(parents=True, exist_ok=True)
        for unit in MASKED:
            link = units / unit
            if not link.is_symlink():
                link.symlink_to("/dev/null")
        (units / "netmodes-sshd.service").write_text(SSHD_UNIT.format(dir=SSH_DIR, address=self.address))
        wants = units / "multi-user.target.wants" / "netmodes-sshd.service"
        if not wants.is_symlink():
            wants.symlink_to("/etc/systemd/system/netmodes-sshd.service")
        default = units / "default.target"
        if not default.is_symlink():
            default.symlink_to("/lib/systemd/system/multi-user.target")
        (etc / "hostname").write_text(self.name + "\n")
        (etc / "hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n" % (self.address, self.name))
        (etc / "machine-id").write_text(hashlib.md5(self.marker.encode()).hexdigest() + "\n")
        (etc / "fstab").write_text("# the simulated host's root is an overlay set up before boot\n")
        (disk / "upper" / ".netmodes-oldroot").mkdir(exist_ok=True)
        # sshd's key, the keys it admits and its config on the host's own disk: the workdir or
        # the key folder may be under /tmp, which the host gets fresh and empty at every boot
        for key in ("id_ed25519", "ssh_host_ed25519_key"):
            if not (self.keydir / key).exists():
                _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", MARKER, "-f", str(self.keydir / key))
        ssh = etc / os.path.relpath(SSH_DIR, "/etc")
        ssh.mkdir(mode=0o700, exist_ok=True)
        for source, target, mode in (("ssh_host_ed25519_key", "ssh_host_ed25519_key", 0o600), ("id_ed25519.pub", "authorized_keys", 0o644)):
            shutil.copyfile(self.keydir / source, ssh / target)
            os.chmod(ssh / target, mode)
        (ssh / "sshd_config").write_text(SSHD_CONFIG.format(dir=SSH_DIR))

    def wait_booted(self, boots, timeout=60):
        """Wait until boot number BOOTS answers on ssh (sshd is a unit: systemd has started)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.boots >= boots and self.pid:
                try:
                    with socket.create_connection((self.address, 22), timeout=0.5) as sock:
                        if sock.recv(4).startswith(b"SSH-"):
                            return
                except OSError:
                    pass
            if getattr(self, "proc", None) is not None and self.proc.poll() is not None:
                raise RuntimeError("the supervisor of %s exited (%s); its log:\n%s" % (self.name, self.proc.returncode, self.log()))
            time.sleep(0.1)
        raise RuntimeError("%s (boot %d) did not answer on ssh within %ds; its log:\n%s" % (self.name, boots, timeout, self.log()))

    def log(self):
        path = self.workdir / "supervisor.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def nsenter(self, *argv):
        return ["nsenter", "-t", str(self.pid), "-n", "-m", "-u", "-i", "-p", "-C", "-r", "-w", "--", *argv]

    def run(self, command, check=True, timeout=60):
        return subprocess.run(self.nsenter("sh", "-c", command), check=check, capture_output=True, text=True, timeout=timeout)

    def ssh(self, command, check=True, timeout=60):
        argv = ["ssh", "-i", str(self.keydir / "id_ed25519"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20", "root@%s" % self.address, command]
        return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)

    def reboot(self, timeout=90):
        boots = self.boots
        self.run("systemctl reboot", check=False)
        self.wait_booted(boots + 1, timeout)

    def down(self):
        """Kill the host and its supervisor, remove its cgroups, lab link and workdir."""
        state = self.state
        supervisor = state.get("supervisor") or getattr(getattr(self, "proc", None), "pid", None)
        if supervisor and _alive(supervisor, self.marker):
            os.kill(supervisor, signal.SIGKILL)
        _kill_cgroup(self.cgroup)
        if getattr(self, "proc", None) is not None:
            self.proc.wait(timeout=10)
        _remove_cgroup(self.cgroup)
        try:
            (CGROUP2 / CGROUP_PARENT).rmdir()
        except OSError:
            pass  # another host still uses it
        if self.lab_link in _link_names():
            _run("ip", "link", "del", self.lab_link, check=False)
        shutil.rmtree(self.workdir / "disk", ignore_errors=True)
        (REGISTRY / ("%s.json" % self.marker)).unlink(missing_ok=True)

    @classmethod
    def load(cls, workdir):
        """The host whose workdir is WORKDIR (started by another process)."""
        conf = json.loads((Path(workdir) / "host.json").read_text())
        return cls(workdir, conf["name"], conf["bridge"], conf["cidr"], lab_link=conf["lab_link"], keydir=conf["keydir"])


@contextlib.contextmanager
def _registry_lock():
    """Serialise starting a host (its supervisor, then its registry entry) with sweeping, across
    the test sessions that run side by side: a sweep in between took the starting host's cgroup,
    which had no entry yet, for one left behind and killed it."""
    REGISTRY.mkdir(parents=True, exist_ok=True)
    with open(REGISTRY / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def sweep(everything=False):
    """Remove the hosts whose supervisor is gone (all registered hosts with EVERYTHING)."""
    with _registry_lock():
        return _sweep(everything)


def _sweep(everything):
    removed = []
    for entry in sorted(REGISTRY.glob("*.json")) if REGISTRY.is_dir() else []:
        marker, info = entry.stem, json.loads(entry.read_text())
        if everything or not _alive(info["supervisor"], marker):
            try:
                SystemdHost.load(info["workdir"]).down()
            except FileNotFoundError:  # its workdir is gone: what is left is in the machine's namespaces
                for pid in (info["supervisor"],):
                    if _alive(pid, marker):
                        os.kill(pid, signal.SIGKILL)
                _kill_cgroup(CGROUP2 / CGROUP_PARENT / marker)
                _remove_cgroup(CGROUP2 / CGROUP_PARENT / marker)
                entry.unlink()
            removed.append(marker)
    # cgroups of hosts whose registry entry is gone too (the registry is in /run, like them)
    parent = CGROUP2 / CGROUP_PARENT
    for path in sorted(parent.glob(MARKER + "-*")) if parent.is_dir() else []:
        if not (REGISTRY / ("%s.json" % path.name)).exists():
            _kill_cgroup(path)
            _remove_cgroup(path)
            removed.append(path.name)
    try:
        parent.rmdir()
    except OSError:
        pass  # absent, or a host still uses it
    return removed


def _link_names():
    return [link["ifname"] for link in json.loads(_run("ip", "-j", "link", "show").stdout or "[]")]


def _kill_cgroup(path, timeout=10):
    if not path.is_dir():
        return
    (path / "cgroup.kill").write_text("1")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (path / "cgroup.events").read_text().split("populated ")[1][0] == "0":
            return
        time.sleep(0.01)
    raise RuntimeError("processes of %s did not die" % path)


def _remove_cgroup(path):
    """Remove PATH and the cgroups under it (the deepest first); they must be empty."""
    if not path.is_dir():
        return
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        sub.rmdir()
    path.rmdir()


# -- the supervisor -------------------------------------------------------------------------------

def supervise(workdir, marker):
    """Boot the host, and boot it again while its systemd asks for a reboot. Whatever ends the
    supervisor (a power-off, an error, SIGTERM) ends the boot with it."""
    workdir = Path(workdir)
    conf = json.loads((workdir / "host.json").read_text())
    cgroup = CGROUP2 / CGROUP_PARENT / marker
    state = {"supervisor": os.getpid(), "boots": 0, "pid": None}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        while True:
            status = _boot(conf, cgroup, workdir, marker, state)
            print("boot %d ended with %s" % (state["boots"], status), flush=True)
            if status != -signal.SIGHUP:  # not a reboot: a power-off, a halt or a failure
                return 0 if status == -signal.SIGINT else 1
    finally:
        state["pid"] = None
        _write_state(workdir, state)
        _kill_cgroup(cgroup)
        _remove_cgroup(cgroup)


def _kept():
    """The checkout, when the host's fresh /tmp would hide it (a clean clone under /tmp), else ""."""
    checkout = str(Path(__file__).resolve().parents[2])
    return checkout if checkout.startswith("/tmp/") else ""


def _boot(conf, cgroup, workdir, marker, state):
    """One boot, from the new namespaces to the end of its PID 1; returns Popen's status."""
    _kill_cgroup(cgroup)
    _remove_cgroup(cgroup)
    cgroup.mkdir(parents=True)
    _wait_gone(conf["lab_link"])
    # The cgroup namespace's root is the cgroup of the process that creates it: enter ours first.
    argv = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup),
            "unshare", "--net", "--mount", "--uts", "--ipc", "--pid", "--cgroup", "--fork",
            "--kill-child=SIGKILL", "--propagation", "private",
            "bash", "-c", BOOT, marker, conf["name"], conf["cidr"], str(workdir / "disk"), _kept()]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
    marker_hash = hashlib.sha1(marker.encode()).hexdigest()
    try:
        pid = child_of(proc.pid, "boot process")
        # eth0 keeps its MAC address across reboots, as a real NIC does: the lab's neighbours'
        # ARP entries stay right (a new MAC would leave them stale for the first seconds).
        mac = "02:" + ":".join(marker_hash[i:i + 2] for i in range(0, 10, 2))
        _run("ip", "link", "add", conf["lab_link"], "type", "veth", "peer", "name", "eth0", "address", mac, "netns", str(pid))
        no_ipv6(conf["lab_link"])  # its lab end is the real host's, as simfleet's ports are
        _run("ip", "link", "set", conf["lab_link"], "master", conf["bridge"], "up")
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        state.update(boots=state["boots"] + 1, pid=pid)
        _write_state(workdir, state)
        return proc.wait()
    finally:
        state["pid"] = None
        _kill_cgroup(cgroup)
        proc.wait()


def _wait_gone(link, timeout=10):
    """The lab link of the last boot goes with its network namespace, a moment after its end."""
    deadline = time.monotonic() + timeout
    while link in _link_names():
        if time.monotonic() > deadline:
            raise RuntimeError("%s outlived its boot" % link)
        time.sleep(0.05)


def _write_state(workdir, state):
    tmp = workdir / ".state.json"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, workdir / "state.json")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up")
    up.add_argument("--workdir", required=True)
    up.add_argument("--name", default="sd1")
    up.add_argument("--bridge", required=True)
    up.add_argument("--address", required=True, help="CIDR on the lab bridge, in 10.231.0.0/16")
    sw = sub.add_parser("sweep", help="remove the hosts whose supervisor is gone")
    sw.add_argument("--all", action="store_true", help="also stop the hosts that still run")
    for name in ("down", "sh"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--workdir", required=True)
        if name == "sh":
            cmd.add_argument("cmd", nargs=argparse.REMAINDER)
    sv = sub.add_parser("supervise")
    sv.add_argument("--workdir", required=True)
    sv.add_argument("--marker", required=True)
    args = parser.parse_args(argv)
    if args.command == "supervise":
        return supervise(args.workdir, args.marker)
    if args.command == "up":
        problem = cgroup2_problem()
        if problem:
            print("cannot boot a systemd host here: %s" % problem, file=sys.stderr)
            return 2
        SystemdHost(args.workdir, args.name, args.bridge, args.address).up()
        return 0
    if args.command == "sweep":
        print("removed hosts: %s" % (", ".join(sweep(args.all)) or "none"))
        return 0
    host = SystemdHost.load(args.workdir)
    if args.command == "down":
        host.down()
        return 0
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    return subprocess.call(host.nsenter(*cmd))


if __name__ == "__main__":
    sys.exit(main())
