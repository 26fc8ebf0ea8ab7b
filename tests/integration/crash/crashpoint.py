# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of the collection's modules and SIGKILL it at a chosen write point (test only).

Run inside a simulated host, from the repository root, with the module's arguments as Ansible's
JSON on stdin (as bench/_lab.py runs modules)::

    PYTHONPATH=. python tests/integration/crash/crashpoint.py MODULE [POINT]

While the engine applies a plan, every call that changes the host is a write: a netlink request
that adds, sets or deletes (links, addresses, routes, bridge ports, fdb entries), a mount or
umount, a file opened for writing, a rename, unlink, mkdir or rmdir, a firewall commit (one
nftables transaction, one libiptc commit per iptables table). Point 2n-1 is just before the n-th
write, point 2n just after it. With POINT the process kills itself with SIGKILL there (also from
a thread, as the namespace creation's; a forked child kills the module and then itself);
without it the module runs to the end. Each write is announced on stderr as ``CRASHPOINT n
LABEL`` as it starts, so a count run lists them and a killed run names where it died.

Nothing here is imported by the collection: the hooks are installed around its code from outside.
"""

from __future__ import annotations

import builtins
import io
import mmap
import os
import runpy
import signal
import struct
import sys

from ansible_collections.netmodes.linux.plugins.module_utils import _engine, _namespaces, _netlink
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nftables as _nftables
from ansible_collections.netmodes.linux.plugins.module_utils._netlink import wire

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
NETLINK_WRITES = ("add", "set", "del", "remove", "change", "replace", "append", "flush")
# The requests the adapter writes itself (wire), by message type.
WIRE_REQUESTS = {wire.RTM_NEWLINK: "newlink", wire.RTM_DELLINK: "dellink", wire.RTM_SETLINK: "setlink", wire.RTM_NEWADDR: "newaddr",
                 wire.RTM_DELADDR: "deladdr", wire.RTM_NEWROUTE: "newroute", wire.RTM_DELROUTE: "delroute"}
DEV_NULL = (os.devnull, os.devnull.encode())


class Points:
    """The write counter, shared with forked children (an anonymous shared mapping)."""

    def __init__(self, target):
        self.target, self.main = target, os.getpid()
        self.shared = mmap.mmap(-1, 16)  # [count, armed]: MAP_SHARED, so a fork sees the same
        self.busy = False

    def _get(self, slot):
        return struct.unpack_from("q", self.shared, slot * 8)[0]

    def _set(self, slot, value):
        struct.pack_into("q", self.shared, slot * 8, value)

    @property
    def armed(self):
        return self._get(1) > 0

    def arm(self, on):
        self._set(1, self._get(1) + (1 if on else -1))

    def count(self):
        return self._get(0)

    def write(self, label, func, *args, **kwargs):
        """Call FUNC as the next write, with kill points just before and just after it."""
        if not self.armed or self.busy:
            return func(*args, **kwargs)
        self.busy = True
        try:
            number = self._get(0) + 1
            self._set(0, number)
            sys.stderr.write("CRASHPOINT %d %s\n" % (number, label))
            sys.stderr.flush()
            self._maybe_die(2 * number - 1, "before", label)
        finally:
            self.busy = False
        try:
            return func(*args, **kwargs)
        finally:  # a write that failed (mkdir of a directory that exists) has an after too
            self._maybe_die(2 * number, "after", label)

    def _maybe_die(self, point, when, label):
        if point != self.target:
            return
        sys.stderr.write("CRASHKILL %d %s %s\n" % (point, when, label))
        sys.stderr.flush()
        if os.getpid() != self.main:
            os.kill(self.main, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def _short(value):
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def install(points):
    """Wrap every write primitive the collection uses; return nothing (the hooks stay)."""
    def wrap_fs(name, describe):
        orig = getattr(os, name)

        def hooked(*args, **kwargs):
            label = describe(*args, **kwargs)
            if label is None:
                return orig(*args, **kwargs)
            return points.write(label, orig, *args, **kwargs)

        setattr(os, name, hooked)

    # /dev/null is opened read-write by helpers (subprocesses, pyroute2's children): not a write.
    wrap_fs("open", lambda path, flags, *a, **k: "os.open %s" % path if flags & WRITE_FLAGS and path not in DEV_NULL else None)
    for name in ("rename", "replace"):
        wrap_fs(name, lambda src, dst, *a, _n=name, **k: "os.%s %s -> %s" % (_n, src, dst))
    for name in ("unlink", "remove", "rmdir", "mkdir"):
        wrap_fs(name, lambda path, *a, _n=name, **k: "os.%s %s" % (_n, path))

    orig_open = builtins.open

    def hooked_open(file, mode="r", *args, **kwargs):
        if isinstance(file, int) or not any(c in mode for c in "wax+"):
            return orig_open(file, mode, *args, **kwargs)
        return points.write("open(%s, %s)" % (file, mode), orig_open, file, mode, *args, **kwargs)

    builtins.open = io.open = hooked_open

    class Socket:
        """An IPRoute whose requests that change something (link, addr, route, brport, fdb,
        neigh ... with "add", "set", "del" ...) are writes."""

        def __init__(self, ipr, netns):
            self._ipr, self._netns = ipr, netns

        def __getattr__(self, name):
            attr = getattr(self._ipr, name)
            if not callable(attr):
                return attr

            def call(*args, **kwargs):
                if not args or args[0] not in NETLINK_WRITES:
                    return attr(*args, **kwargs)
                label = "netlink %s %s in %s %s" % (name, args[0], self._netns or "host", _short(kwargs))
                return points.write(label, attr, *args, **kwargs)

            return call

    orig_ipr = _netlink.Netlink._ipr
    _netlink.Netlink._ipr = lambda self, netns=None: Socket(orig_ipr(self, netns), netns)

    orig_change = wire.Wire.change

    def change(self, kind, body, flags=0):  # every write of the adapter's own netlink requests
        label = "netlink %s in %s" % (WIRE_REQUESTS.get(kind, kind), self.where or "host")
        return points.write(label, orig_change, self, kind, body, flags)

    wire.Wire.change = change

    class Libc:
        def __init__(self, libc):
            self._libc = libc

        def __getattr__(self, name):
            attr = getattr(self._libc, name)
            if name not in ("mount", "umount2"):
                return attr
            return lambda *args: points.write("libc.%s %s" % (name, _short(args[:2])), attr, *args)

    orig_libc = _namespaces.Namespaces._libc_handle
    _namespaces.Namespaces._libc_handle = lambda self: Libc(orig_libc(self))

    orig_commit = _nftables.Nftables.commit

    def nft_commit(self):
        if not self._staged:
            return orig_commit(self)
        return points.write("nftables commit of %d commands" % len(self._staged), orig_commit, self)

    _nftables.Nftables.commit = nft_commit

    try:
        import iptc  # noqa: PLC0415 - optional: only hosts with python-iptables have its commits to wrap
    except Exception:  # python-iptables unusable: the iptables backend reports it itself
        iptc = None
    if iptc is not None:
        orig_table_commit = iptc.Table.commit
        iptc.Table.commit = lambda self: points.write("iptables commit of table %s" % self.name, orig_table_commit, self)

    orig_apply = _engine.apply

    def apply(ops, adapters):
        points.arm(True)
        try:
            return orig_apply(ops, adapters)
        finally:
            points.arm(False)

    _engine.apply = apply


def main(argv):
    module = argv[1]
    target = int(argv[2]) if len(argv) > 2 else 0
    points = Points(target)
    install(points)
    sys.argv = [module]
    try:
        runpy.run_path(os.path.join("plugins", "modules", module + ".py"), run_name="__main__")
    finally:
        sys.stderr.write("CRASHPOINTS %d\n" % points.count())
        sys.stderr.flush()


if __name__ == "__main__":
    main(sys.argv)
