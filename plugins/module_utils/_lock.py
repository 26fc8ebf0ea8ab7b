# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's lock: one netmodes.linux run changes a host at a time.

Two playbooks converging the same host at once would each read the state, plan on it and apply
on top of the other's half-made change (a port published twice, an address handed out twice, a
records file written from a stale read). So every run that changes state holds an exclusive
``flock`` on ``/run/netmodes/lock`` from its first read to its last write, and writes who it is
into the file, for the message of a run that gives up waiting. A read-only run (check mode,
``gathered``, net_info) holds a shared lock, so that it never reads a change half-applied, and
only when the file exists: a read never creates anything.

The lock lives on /run like the namespaces it protects; the kernel drops it when its holder
exits, also when the holder is killed, so there is no stale lock to clean up. It is root's alone
(the file 0600 in a directory 0700, made so whatever the umask, never reached through a link):
a user who could open it could hold it, shared or not, and stop every changing run. A lock file
another user owns is refused; one with a wider mode (made by an older version) is narrowed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time

from ansible_collections.netmodes.linux.plugins.module_utils import _fs
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Busy, Conflict

LOCK_PATH = "/run/netmodes/lock"
DEFAULT_TIMEOUT = 60
TIMEOUT_ENV = "NETMODES_LOCK_TIMEOUT"


def holder(path=None):
    """{pid, module, since} of the run that last took the exclusive lock, or None if unknown."""
    try:
        fd = os.open(path or LOCK_PATH, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            found = json.loads(os.read(fd, 4096) or "null")
        finally:
            os.close(fd)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _running(pid):
    return isinstance(pid, int) and os.path.exists("/proc/%d" % pid)


def describe(found, now=None):
    """The holder of the lock in words, for the timeout message."""
    if not found:
        return "another netmodes.linux run (a read-only one, or one that has not written its name yet)"
    words = "%s (pid %s" % (found.get("module") or "a netmodes.linux run", found.get("pid"))
    if isinstance(found.get("since"), (int, float)):
        words += ", for %d s" % max(0, (now or time.time()) - found["since"])
    if not _running(found.get("pid")):
        words += ", gone: a process it started may still hold the lock"
    return words + ")"


def _acquire(fd, operation, timeout, *, path, clock, sleep):
    deadline, pause = clock() + timeout, 0.01
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if clock() >= deadline:
                break
        sleep(min(pause, max(0.0, deadline - clock())))
        pause = min(pause * 2, 0.2)
    raise Busy("the host is busy: %s holds %s and did not finish within %s s; wait for it and re-run, or allow a longer wait"
               " with lock_timeout (or the environment variable %s)" % (describe(holder(path)), path, timeout, TIMEOUT_ENV),
               "lock_timeout")


def _open(path, exclusive):
    """A descriptor of the lock file (made, for an exclusive lock), or None for a read-only run
    when there is none, or when it is not root's (it could not open the file, and changes nothing)."""
    if not exclusive and os.geteuid() != 0:
        return None
    directory = _fs.owned_dir(os.path.dirname(path), _fs.PRIVATE_DIR if exclusive else None)
    if directory is None:
        return None
    with directory:
        try:
            fd = os.open(os.path.basename(path), (os.O_RDWR | os.O_CREAT if exclusive else os.O_RDONLY) | os.O_NOFOLLOW | os.O_CLOEXEC,
                         _fs.PRIVATE, dir_fd=directory.fd)
        except FileNotFoundError:
            if exclusive:
                raise
            return None
        except OSError as exc:
            raise Conflict("%s is a symbolic link or cannot be opened (%s): remove it (rm %s), and re-run" % (path, exc.strerror, path)) from exc
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or not _fs.trusted_owner(st.st_uid):
        os.close(fd)
        raise Conflict("%s belongs to uid %d or is not a regular file: it is not the lock of netmodes.linux, which only root"
                       " makes; remove it (rm %s), and re-run" % (path, st.st_uid, path))
    if exclusive and stat.S_IMODE(st.st_mode) != _fs.PRIVATE:
        os.fchmod(fd, _fs.PRIVATE)
    return fd


@contextlib.contextmanager
def host_lock(who, exclusive=True, timeout=DEFAULT_TIMEOUT, *, path=None, clock=time.monotonic, sleep=time.sleep):
    """Hold the host's lock (exclusive, or shared for a read-only run) for the body of the block.

    WHO names the run in the lock file. Waits up to TIMEOUT seconds, then raises Busy naming the
    holder. A shared lock is taken only when the lock file exists.
    """
    if timeout is None or timeout < 0:
        timeout = DEFAULT_TIMEOUT
    path = path or LOCK_PATH
    fd = _open(path, exclusive)
    if fd is None:
        yield
        return
    try:
        _acquire(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, timeout, path=path, clock=clock, sleep=sleep)
        if exclusive:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "module": who, "since": int(time.time())}).encode() + b"\n", 0)
        try:
            yield
        finally:
            if exclusive:
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
