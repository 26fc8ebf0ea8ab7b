# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolvers' adapter: their files under ``_resolver.RUN_DIR`` and their processes.

What runs a resolver is a backend behind ``Lifecycle``: a systemd unit
(``netmodes-resolver@<network>.service``) where systemd runs (/run/systemd/system exists), and
elsewhere a process of our own (``Supervised``: dnsmasq daemonizes itself into a session of its
own and writes its pid file; it is known by its pid and the config its command line names, never
by its name, and started again by the next run when it is gone).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time

from ansible_collections.netmodes.linux.plugins.module_utils import _fs
from ansible_collections.netmodes.linux.plugins.module_utils import _resolver as r
from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError

try:
    from typing import Protocol
except ImportError:  # Python < 3.8
    Protocol = object

STOP_TIMEOUT = 5.0


class Lifecycle(Protocol):
    """How a network's resolver is started, restarted, stopped and found running."""

    def running(self, network):
        """Whether NETWORK's resolver runs (a true value: its pid, or True)."""

    def start(self, network):
        """Start NETWORK's resolver (its files are written)."""

    def restart(self, network):
        """Start it again on its new config."""

    def stop(self, network):
        """Stop it (nothing when it does not run)."""


def _missing_binary():
    return KernelError("the resolver needs %s: install the package %s (the netmodes.linux.requirements role does, for"
                       " hosts with a network that has dns), or set dns: false on the network" % (r.DNSMASQ, r.PACKAGE))


def _run(argv, what):
    """Run ARGV; a KernelError with its error output when it fails. Output goes to a file, not a
    pipe: a daemon that keeps a pipe open would hold us up."""
    with tempfile.TemporaryFile() as errors:
        try:
            code = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, close_fds=True)
        except FileNotFoundError as exc:
            raise _missing_binary() from exc
        if code:
            errors.seek(0)
            raise KernelError("%s failed (exit %d): %s" % (what, code, errors.read().decode("utf-8", "replace").strip()))


class Supervised:
    """A dnsmasq of our own per network, where no systemd runs."""

    def __init__(self, root=r.RUN_DIR, binary=r.DNSMASQ):
        self.root, self.binary = root, binary

    def running(self, network):
        """Its pid when the pid file names a live process whose command line names our config."""
        try:
            with open(os.path.join(r.directory(network, self.root), r.PID_FILE)) as handle:
                pid = int(handle.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                argv = handle.read().decode("utf-8", "replace").split("\0")
        except (OSError, ValueError):
            return None
        return pid if r.conf_arg(network, self.root) in argv else None

    def start(self, network):
        # dnsmasq forks into a session of its own and exits once it serves (or with its error).
        _run([self.binary, r.conf_arg(network, self.root)], "starting the resolver of network %s" % network)

    def restart(self, network):
        self.stop(network)
        self.start(network)

    def stop(self, network):
        pid = self.running(network)
        if pid is None:
            return
        started = _process(pid)[1]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        # Until it is gone or a zombie: its command line goes earlier in its exit than its sockets
        # (the kernel frees its memory, then closes its files), so that alone would not free its port.
        while True:
            state, start = _process(pid)
            if state in (None, "Z") or start != started:
                return
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)


def _process(pid):
    """(state, start time) of process PID from /proc/PID/stat, or (None, None) when there is none."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
    except OSError:
        return None, None
    return fields[0].decode(), int(fields[19])


class Systemd:
    """netmodes-resolver@<network>.service, from the template the plan writes (``unit``,
    ``write_unit``, ``remove_unit``: the resource ResolverUnit)."""

    def running(self, network):
        code = subprocess.call(["systemctl", "--quiet", "is-active", r.UNIT % network], stdin=subprocess.DEVNULL)
        return code == 0

    @staticmethod
    def unit():
        """The unit template's text, or None when there is none."""
        try:
            with open(r.UNIT_PATH) as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    @staticmethod
    def write_unit():
        with _fs.open_dir(os.path.dirname(r.UNIT_PATH), "/etc", _fs.PUBLIC_DIR) as where:
            where.write(os.path.basename(r.UNIT_PATH), r.UNIT_TEMPLATE.encode(), _fs.PUBLIC)
        _run(["systemctl", "daemon-reload"], "systemctl daemon-reload")

    @staticmethod
    def remove_unit():
        try:
            os.unlink(r.UNIT_PATH)
        except FileNotFoundError:
            return
        _run(["systemctl", "daemon-reload"], "systemctl daemon-reload")

    def start(self, network):
        if not os.path.exists(r.DNSMASQ):
            raise _missing_binary()
        _run(["systemctl", "start", r.UNIT % network], "systemctl start %s" % (r.UNIT % network))

    def restart(self, network):
        _run(["systemctl", "restart", r.UNIT % network], "systemctl restart %s" % (r.UNIT % network))

    def stop(self, network):
        if self.running(network):
            _run(["systemctl", "stop", r.UNIT % network], "systemctl stop %s" % (r.UNIT % network))


def lifecycle():
    """The backend of this host: systemd where it runs, else our own supervision."""
    return Systemd() if os.path.isdir("/run/systemd/system") else Supervised()


def _text(where, name):
    """File NAME of Dir WHERE as text when it is state of ours, else None."""
    data = where.read_state(name)
    return None if data is None else data.decode("utf-8", "replace")


class Resolvers:
    """The resolvers of this host: their files (written atomically, public: dnsmasq reads them as
    ``nobody``) and their processes (through LIFECYCLE)."""

    def __init__(self, backend=None, root=r.RUN_DIR, binary=r.DNSMASQ):
        self.backend, self.root, self.binary = backend, root, binary

    @property
    def lifecycle(self):
        if self.backend is None:  # chosen on first use: a run without resolvers never looks
            self.backend = lifecycle()
        return self.backend

    def _dir(self, create=None):
        return _fs.open_dir(self.root, os.path.dirname(self.root), create)

    def installed(self):
        """Whether dnsmasq is there to run."""
        return os.path.exists(self.binary)

    def networks(self):
        """The networks that have a resolver directory here."""
        top = self._dir()
        if top is None:
            return []
        with top:
            return sorted(name for name in top.names() if not name.startswith("."))

    def read(self, network):
        """{"config": text or None, "hosts": text or None, "users": text or None (a view's), "running":
        a true value when it runs, "directory": whether its directory is there (with what a removal
        that was killed midway left in it, a pid file alone)}."""
        out = {"config": None, "hosts": None, "users": None, "directory": False}
        mine = _fs.open_dir(r.directory(network, self.root), os.path.dirname(self.root))
        if mine is not None:
            with mine:
                out.update(config=_text(mine, r.CONFIG), users=_text(mine, r.USERS), directory=True)
                hosts = mine.subdir(r.HOSTS_DIR)
                if hosts is not None:
                    with hosts:
                        out["hosts"] = _text(hosts, network)
        out["running"] = self.lifecycle.running(network)
        return out

    def write(self, network, config=None, hosts=None, users=None):
        """Write CONFIG, HOSTS and USERS (those given); the hosts file's temporary name is made beside
        its directory, so dnsmasq sees it only when it is complete (renamed in)."""
        with self._dir(_fs.PUBLIC_DIR) as top, top.subdir(network, _fs.PUBLIC_DIR) as mine:
            if config is not None:
                mine.write(r.CONFIG, config.encode(), _fs.PUBLIC)
            if users is not None:
                mine.write(r.USERS, users.encode(), _fs.PUBLIC)
            if hosts is not None:
                with mine.subdir(r.HOSTS_DIR, _fs.PUBLIC_DIR) as where:
                    where.write(network, hosts.encode(), _fs.PUBLIC, scratch=mine)

    def restart(self, network):
        self.lifecycle.restart(network)

    def unit(self):
        """(whether resolvers run as systemd units here, the unit template's text or None)."""
        backend = self.lifecycle
        return (True, backend.unit()) if isinstance(backend, Systemd) else (False, None)

    def write_unit(self):
        """Write the systemd unit template (and reload systemd)."""
        self.lifecycle.write_unit()

    def remove_unit(self):
        """Remove the systemd unit template (and reload systemd)."""
        self.lifecycle.remove_unit()

    def remove(self, network):
        """Stop NETWORK's resolver and remove its directory, its config last (a run killed midway
        leaves a directory that ``read`` reports, so the next run's plan removes it)."""
        self.lifecycle.stop(network)
        mine = _fs.open_dir(r.directory(network, self.root), os.path.dirname(self.root))
        if mine is None:
            return
        with mine:
            hosts = mine.subdir(r.HOSTS_DIR)
            if hosts is not None:
                with hosts:
                    for name in hosts.names():
                        hosts.unlink(name)
                mine.rmdir(r.HOSTS_DIR)
            for name in sorted(mine.names(), key=lambda name: name == r.CONFIG):
                mine.unlink(name)
        with self._dir() as top:
            top.rmdir(network)
        try:
            os.rmdir(self.root)  # the last one: nothing of ours is left (a link is not removed: not a directory)
        except OSError:
            pass
