# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter's base: the sockets (one per namespace: ours, ``wire``, and pyroute2's),
the kernel's errors, and the memory of reads that a batch asks many times (forgotten on a write).

pyroute2 is imported when a run first needs it (a bridge, vxlan or macvlan link made or set, an
fdb or neighbour entry written; those entries are read over ``wire``): importing it costs 0.1 to
0.2 s, more than a run that only reads or plugs sandboxes spends talking to the kernel. Whether
it is installed is known at once.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys

from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.wire import Wire

HAS_PYROUTE2 = importlib.util.find_spec("pyroute2") is not None
PYROUTE2_IMPORT_ERROR = None if HAS_PYROUTE2 else "ModuleNotFoundError: No module named 'pyroute2'"

RTPROT_STATIC = 4
# rtnetlink's names of route protocols (RTPROT_*), as ``ip route`` prints them.
RTPROT_NAMES = {2: "kernel", 3: "boot", 4: "static", 9: "ra", 16: "dhcp"}
MAIN_TABLE = 254
IFF_UP = 1
# Neighbour and bridge fdb entries (ndmsg): states and flags.
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
NTF_SELF = 0x02
# An all-zero MAC in a vxlan fdb is the default destination of what has no entry of its own.
ZERO_MAC = "00:00:00:00:00:00"
# The kernel's numbers of macvlan and ipvlan modes (if_link.h), both ways.
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}
# Link attributes of one kind (link_set names them with its prefix), and the kind they need.
KIND_PREFIXES = {"br_": "bridge", "vxlan_": "vxlan", "macvlan_": "macvlan", "ipvlan_": "ipvlan"}
# Where sysfs lists a bridge's ports (brif/) beside its index.
SYS_NET = "/sys/class/net"
NET_ADDR_SET = 3  # /sys/class/net/NAME/addr_assign_type of a MAC set by hand or at creation (not the kernel's choice)


def random_mac():
    """A random locally administered unicast MAC (as the kernel picks one for a new bridge)."""
    first, *rest = os.urandom(6)
    return ":".join("%02x" % b for b in [(first & 0xFC) | 0x02, *rest])


def _iproute():
    """A new pyroute2 IPRoute socket (strict checks, the kernel's own words on errors), in the
    namespace of the calling thread."""
    return importlib.import_module("pyroute2").IPRoute(strict_check=True, ext_ack=True)


def _pyroute2_errors():
    """pyroute2's NetlinkError once pyroute2 is imported (before, nothing of it can raise)."""
    found = sys.modules.get("pyroute2.netlink.exceptions")
    return found.NetlinkError if found is not None else OSError


def _kernel_error(action, exc):
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
    # The kernel's own words (extended ack), when it said more than the errno.
    said = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else None
    if said and said != reason:
        reason = "%s (%s)" % (said, reason)
    return KernelError("%s: %s" % (action, reason))


def _name_of_number(names, number):
    return next((name for name, value in names.items() if value == number), number)


def _reads(method):
    """Remember a read until the next write: a batch reads the same links many times."""

    @functools.wraps(method)
    def cached(self, *args, **kwargs):
        key = (method.__name__, args, tuple(sorted(kwargs.items())))
        if key not in self._cache:
            self._cache[key] = method(self, *args, **kwargs)
        return self._cache[key]

    return cached


def _changing(forget, *args):
    """A write, around which (before and after) the Sockets method FORGET(*ARGS) drops the
    remembered reads it may change."""

    def decorate(method):
        @functools.wraps(method)
        def changing(self, *call_args, **kwargs):
            getattr(self, forget)(*args)
            try:
                return method(self, *call_args, **kwargs)
            finally:
                getattr(self, forget)(*args)

        return changing

    return decorate


# Every remembered read goes. The indexes of links stay: only a change that makes, removes,
# renames or moves links (``_relinks``) changes them.
_writes = _changing("_forget_reads")
# Every remembered read and link index goes (a namespace that goes takes its links with it).
_relinks = _changing("_forget_links")


def _writes_entries(*reads):
    """Only the remembered reads named READS go, around a change of fdb or neighbour entries:
    such a change leaves every link (and so the index of a link) as it was, and a vxlan network
    writes hundreds of them in a row."""
    return _changing("_forget", reads)


class Sockets:
    """The sockets of one run (one per namespace entered) and what the reads remember."""

    def __init__(self, namespaces):
        self.namespaces = namespaces
        self._sockets = {}
        self._wires = {}  # {netns: Wire}: the reads' sockets (wire)
        self._cache = {}
        self._indexes = {}  # {(netns, name): index}: kept across writes that leave every link where it is

    def _forget_reads(self):
        self._cache.clear()

    def _forget_links(self):
        self._cache.clear()
        self._indexes.clear()

    def _remembered(self, method, *args):
        """True when the read METHOD(*ARGS) (asked without keywords) is remembered."""
        return (method, args, ()) in self._cache

    def _forget(self, reads):
        for key in [key for key in self._cache if key[0] in reads]:
            del self._cache[key]

    def close(self):
        for sock in list(self._sockets.values()) + list(self._wires.values()):
            sock.close()
        self._sockets.clear()
        self._wires.clear()

    def _close_in(self, netns):
        """Close the sockets open inside NETNS (it goes, or its name is taken away)."""
        for sockets in (self._sockets, self._wires):
            sock = sockets.pop(netns, None)
            if sock is not None:
                sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sockets ------------------------------------------------------------------------

    def _ipr(self, netns=None):
        if netns not in self._sockets:
            if netns is None:
                self._sockets[None] = _iproute()
            else:
                self._sockets[netns] = self._socket_in(netns)
        return self._sockets[netns]

    def _socket_in(self, netns):
        """A netlink socket inside NETNS (a socket keeps the namespace it was opened in)."""
        return self.namespaces.inside(netns, _iproute)

    def _wire(self, netns=None):
        """The reads' socket (``wire``) in NETNS (None: the host), entered after the same exact
        existence check as pyroute2's."""
        if netns not in self._wires:
            self._wires[netns] = Wire() if netns is None else self.namespaces.inside(netns, lambda: Wire(netns))
        return self._wires[netns]

    @_reads
    def _get(self, name, netns=None):
        """The kernel's message (a ``wire.LinkMessage``) for the link called exactly NAME, or
        None (asked by name, not dumped; remembered, so that reading a link with and without its
        routes asks the kernel once)."""
        if not name:
            return None  # no name names no link (the kernel would call the request invalid)
        return self._call("read link %s" % name, self._wire(netns).link, name)

    def _index(self, name, netns=None):
        key = (netns, name)
        if key not in self._indexes:
            msg = self._get(name, netns)
            self._indexes[key] = msg.index if msg is not None else None
        return self._indexes[key]

    def _call(self, action, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (_pyroute2_errors(), OSError) as exc:
            raise _kernel_error(action, exc)
