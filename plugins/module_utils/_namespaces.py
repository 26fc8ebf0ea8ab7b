# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The namespaces adapter: named network namespaces (the /run/netns/NAME mounts, as iproute2
makes them) and our records of which of them this collection made (/run/netmodes/netns/NAME).

Creating and sharing a namespace is mount plumbing through libc (unshare, setns, mount), from a
thread rather than a child process. Reads never create anything: a name is a namespace only
when its mount point is an nsfs mount. ``_netlink.Netlink`` opens its sockets inside a
namespace through ``inside`` and offers these operations to the resources as ``netns_*``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import threading

from ansible_collections.netmodes.linux.plugins.module_utils import _fs
from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError, NotFound

NETNS_DIR = "/run/netns"
# Which names in /run/netns we created (a file per name holding the namespace inode).
# It lives on /run like the namespaces themselves, so both vanish together at reboot.
OWNED_DIR = "/run/netmodes/netns"
MOUNTINFO = "/proc/self/mountinfo"  # the mounts, in the order they were made
MARKER_TAG = "netns"  # a marker's temporary file: /run/netmodes/.netns.XXXXXXXX.tmp
PENDING = "pending"
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
MNT_DETACH = 2
CLONE_NEWNET = 0x40000000


def _markers():
    """OWNED_DIR as an _fs.Dir reached from /run without following a link, or None."""
    return _fs.open_dir(OWNED_DIR, os.path.dirname(os.path.dirname(OWNED_DIR)))


class Namespaces:
    """Makes, names, records and removes named network namespaces."""

    def __init__(self):
        self._libc = None
        self._nsfs = None  # the device of nsfs, which holds every network namespace

    # -- reading ------------------------------------------------------------------------

    def inode(self, name):
        """Inode of /run/netns/NAME when it is a mounted namespace, else None (exact name)."""
        try:
            st = os.stat(os.path.join(NETNS_DIR, name))
        except (FileNotFoundError, NotADirectoryError):
            return None
        # A left-over mount point file is not a namespace: nsfs has its own device.
        if self._nsfs is None:
            self._nsfs = os.stat("/proc/self/ns/net").st_dev
        if st.st_dev != self._nsfs:
            return None
        return st.st_ino

    def inodes(self):
        """{name: namespace inode} of every mounted name in /run/netns, sorted by name
        (container-mode names share their target's inode)."""
        try:
            names = os.listdir(NETNS_DIR)
        except FileNotFoundError:
            return {}
        found = {name: self.inode(name) for name in sorted(names)}
        return {name: inode for name, inode in found.items() if inode is not None}

    @staticmethod
    def made_order():
        """The names mounted in /run/netns in the order they were mounted: a namespace's first
        name is the one it was made under (``ip netns add``, or a sandbox), a second name
        (container mode, ``share``) comes after it. The kernel lists mounts in the order they
        were made; a name read here is only ordered, never taken for a namespace (``inode`` does
        that). [] when the list cannot be read."""
        try:
            with open(MOUNTINFO, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().split("\n")
        except OSError:
            return []
        prefix, out = NETNS_DIR + "/", []
        for line in lines:
            fields = line.split(" ")
            if len(fields) > 4 and fields[4].startswith(prefix):
                # mountinfo writes a space, tab, newline and backslash as \040, \011, \012 and \134
                name = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4][len(prefix):])
                if "/" not in name and name not in out:
                    out.append(name)
        return out

    def record(self, name):
        """What /run/netmodes/netns/NAME records: None (nothing), PENDING (our creation of NAME
        began but did not finish) or the inode NAME named when we made it. A marker that is not
        root's alone (another user's, or writable by others) records nothing."""
        markers = _markers()
        if markers is None:
            return None
        with markers:
            data = markers.read_state(name)
        if data is None:
            return None
        text = data.decode("utf-8", errors="replace").strip()
        if text == PENDING:
            return PENDING
        try:
            return int(text)
        except ValueError:
            return 0  # damaged: records nothing that exists

    def owned(self, name):
        """True when NAME was made by this collection and still names the same namespace (or
        our creation of it was interrupted after the namespace was made)."""
        inode, record = self.inode(name), self.record(name)
        return inode is not None and record in (PENDING, inode)

    def owned_markers(self):
        """Every name recorded as ours under OWNED_DIR, also of namespaces that are gone since."""
        markers = _markers()
        if markers is None:
            return []
        with markers:
            return [name for name in markers.names() if markers.read_state(name) is not None]

    # -- writing ------------------------------------------------------------------------
    # A creation records NAME as pending first and its inode last (``mark``), so that a run
    # killed halfway leaves a record that the next run reads: a namespace under a pending
    # record is ours and only needs finishing; a bare mount point file (the namespace was
    # never bound to it, or was already unmounted by ``delete``) is reused by the next
    # creation, or removed by ``delete``. ``delete`` removes the record last for the same
    # reason. A failed creation drops its record: a namespace that somebody else makes under
    # the name is never taken for ours.

    def create(self, name):
        """Make a new namespace named NAME, recorded as pending until ``mark``.

        As ``ip netns add`` does, but from a thread instead of a child process: the thread
        leaves for a new network namespace and pins it with a bind mount on /run/netns/NAME.
        """
        def fresh():
            if self._libc_handle().unshare(CLONE_NEWNET) != 0:
                return ctypes.get_errno()
            return self._bind("/proc/thread-self/ns/net", name)

        self._new_name(name, fresh, "create sandbox %s" % name, in_thread=True)

    def share(self, name, target):
        """Make NAME a second name of TARGET's namespace (Docker's container mode), recorded as
        pending until ``mark``."""
        self._new_name(name, lambda: self._bind(os.path.join(NETNS_DIR, target), name),
                       "bind %s to sandbox %s" % (name, target))

    def mark(self, name):
        """Record NAME's inode: the last step of making it, which marks it complete."""
        self._record(name, "%d" % self.inode(name))

    def delete(self, name):
        """Remove the name; the namespace lives on while another name or process holds it."""
        path = os.path.join(NETNS_DIR, name)
        self._libc_handle().umount2(path.encode(), MNT_DETACH)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.forget(name)

    def forget(self, name):
        """Drop the record that NAME is ours (its namespace is gone, or is another one now)."""
        markers = _markers()
        if markers is not None:
            with markers:
                markers.unlink(name)

    def inside(self, name, func):
        """FUNC() called from inside namespace NAME: this thread enters it, calls, and returns to
        the host's (a netlink socket keeps the namespace it was opened in).

        pyroute2's own ``IPRoute(netns=…)`` forks a helper process per namespace, which costs tens
        of milliseconds on a host with hundreds of sandboxes; entering the namespace from this
        thread costs a system call.
        """
        try:
            target = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
        except OSError:
            target = None
        if target is None or self.inode(name) is None:
            if target is not None:
                os.close(target)
            raise NotFound("sandbox %r does not exist (no %s/%s); create it with"
                           " netmodes.linux.netns first" % (name, NETNS_DIR, name), "netns")
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        libc = self._libc_handle()
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise KernelError("enter sandbox %s: %s" % (name, os.strerror(ctypes.get_errno())))
            try:
                return func()
            finally:
                if libc.setns(home, CLONE_NEWNET) != 0:  # cannot happen: our own namespace
                    raise KernelError("return to the host's namespace: %s" % os.strerror(ctypes.get_errno()))
        finally:
            os.close(target)
            os.close(home)

    def _bind(self, source, name):
        """Bind-mount SOURCE on /run/netns/NAME: 0, or the errno."""
        return 0 if self._mount(source, os.path.join(NETNS_DIR, name), MS_BIND) == 0 else ctypes.get_errno()

    def _new_name(self, name, mount, action, in_thread=False):
        """Make the mount point /run/netns/NAME and run MOUNT (returns 0 or an errno) on it."""
        self._prepare_netns_dir()
        if self.inode(name) is not None:
            raise KernelError("%s: %s" % (action, os.strerror(errno.EEXIST)))
        self._record(name, PENDING)
        path = os.path.join(NETNS_DIR, name)
        # Not O_EXCL: an empty mount point left by a run killed before its mount is reused.
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0))
        if in_thread:
            outcome = []
            worker = threading.Thread(target=lambda: outcome.append(mount()), name="netmodes-netns")
            worker.start()
            worker.join()
            err = outcome[0] if outcome else errno.EIO
        else:
            err = mount()
        if err:
            os.unlink(path)
            self.forget(name)
            raise KernelError("%s: %s" % (action, os.strerror(err)))

    def _record(self, name, text):
        # The temporary file is made in /run/netmodes, not beside the markers, whose names are
        # the sandboxes' (any name): it can never take the place of another sandbox's marker.
        top = _fs.owned_dir(os.path.dirname(OWNED_DIR), _fs.PRIVATE_DIR)
        with top, top.subdir(os.path.basename(OWNED_DIR), _fs.PRIVATE_DIR) as markers:
            markers.write(name, (text + "\n").encode("utf-8"), _fs.PRIVATE, tag=MARKER_TAG, scratch=top)

    def _libc_handle(self):
        if self._libc is None:
            self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return self._libc

    def _mount(self, source, target, flags):
        return self._libc_handle().mount(source.encode(), target.encode(), b"none", flags, None)

    def _prepare_netns_dir(self):
        # As iproute2 does: /run/netns is a shared mount, so that names made here show in
        # every mount namespace that shares it.
        os.makedirs(NETNS_DIR, exist_ok=True)
        if self._libc_handle().mount(b"", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None) != 0:
            self._mount(NETNS_DIR, NETNS_DIR, MS_BIND | MS_REC)
            self._libc_handle().mount(b"", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None)
