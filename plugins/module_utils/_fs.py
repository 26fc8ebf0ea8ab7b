# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How netmodes.linux touches the file system: the one implementation under every file of ours.

The collection keeps state where a local user could interfere if it were careless: the host's
lock, the namespace markers and the port claims under /run/netmodes, the sandboxes' files and
their records under /etc/netns. So, everywhere:

- a directory of ours is reached from a trusted parent (/run, /etc: root's) one component at a
  time, each opened with O_NOFOLLOW: a symbolic link planted in our path is refused, never
  followed, and every name in it is then reached relative to the open directory;
- a directory or file is created with an explicit mode, set with fchmod, so the umask of the
  process does not matter; state is root's alone (0700, 0600), what sandboxes read is 0644;
- a directory of ours that another user owns is refused; one others may write is repaired by the
  next run that writes there; a state file another user owns or may write does not count as ours;
- files are replaced atomically (a temporary file, fsync, rename, fsync of the directory); the
  temporary file can be made in another directory of ours (``scratch``), so that its name never
  collides with a name a user chose (a marker's name is the sandbox's).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, KernelError

PRIVATE_DIR = 0o700
PRIVATE = 0o600
PUBLIC_DIR = 0o755
PUBLIC = 0o644
_OTHERS_WRITE = 0o022
_GROUP_OTHERS = 0o077   # the bits a directory lacks between its mkdir (owner only) and its fchmod
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def trusted_owner(uid):
    """True for root (and the user this runs as, which is root on a managed host)."""
    return uid in (0, os.geteuid())


def _kernel(action, path, exc):
    return KernelError("%s %s: %s" % (action, path, exc.strerror or exc))


def _link_refused(path, what="directory"):
    return Conflict("%s is a symbolic link (or not a %s); netmodes.linux never follows a link in a path it"
                    " owns: remove it (rm %s), and re-run" % (path, what, path))


class Dir:
    """A directory of ours, held open: names in it are reached relative to it, never through a link."""

    def __init__(self, fd, path):
        self.fd, self.path = fd, path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def where(self, name):
        return os.path.join(self.path, name)

    def names(self):
        """The names in the directory, sorted."""
        return sorted(os.listdir(self.fd))

    def lstat(self, name):
        """The entry NAME as it is (a link is not followed), or None."""
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def subdir(self, name, create=None):
        """The directory NAME in this one (see ``open_dir``); None when it does not exist and CREATE
        (a mode) is not given."""
        return _step(self.fd, name, self.where(name), create)

    def read(self, name):
        """(content, stat) of the regular file NAME, or (None, None) when there is none.

        A link at NAME is refused (Conflict), as is anything but a regular file."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self.fd)
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _link_refused(self.where(name), "file") from exc
            raise _kernel("read", self.where(name), exc) from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise Conflict("%s is not a regular file; netmodes.linux does not read or replace it: remove it, and re-run"
                               % self.where(name))
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return b"".join(chunks), st
                chunks.append(chunk)
        finally:
            os.close(fd)

    def read_state(self, name):
        """The content of NAME when it is state of ours: a regular file of root's that nobody else
        may write. Anything else (missing, a link, another user's, writable by others) is None."""
        try:
            data, st = self.read(name)
        except Conflict:
            return None
        if data is None or not trusted_owner(st.st_uid) or st.st_mode & _OTHERS_WRITE:
            return None
        return data

    def write(self, name, data, mode, *, tag=None, scratch=None):
        """Replace NAME with DATA (bytes) atomically, with MODE whatever the umask.

        The temporary file is made in SCRATCH (a Dir on the same file system; this one by
        default) as ``.TAG.XXXXXXXX.tmp`` (TAG: NAME by default); those that earlier writes killed
        before their rename left are removed first, so nothing lingers.
        """
        def make(tmp, where):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE, dir_fd=where.fd)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)

        self._replace(name, make, tag, scratch or self)

    def symlink(self, name, target, *, tag=None):
        """Make NAME a symbolic link to TARGET atomically (replacing what is there), as ``write``
        replaces a file: a temporary link, renamed over NAME, the directory synced."""
        self._replace(name, lambda tmp, where: os.symlink(target, tmp, dir_fd=where.fd), tag, self)

    def _replace(self, name, make, tag, scratch):
        """Make a temporary entry in SCRATCH with MAKE(tmp name, SCRATCH) and rename it over NAME."""
        prefix = ".%s." % (tag or name)
        scratch.remove_leftovers(prefix)
        while True:
            tmp = "%s%s.tmp" % (prefix, secrets.token_hex(4))
            try:
                make(tmp, scratch)
                break
            except FileExistsError:
                continue
            except BaseException:
                scratch.unlink(tmp)
                raise
        try:
            os.rename(tmp, name, src_dir_fd=scratch.fd, dst_dir_fd=self.fd)
        except BaseException:
            scratch.unlink(tmp)
            raise
        os.fsync(self.fd)
        if scratch is not self:
            os.fsync(scratch.fd)

    def remove_leftovers(self, prefix):
        """Remove the temporary files ``PREFIX XXXXXXXX.tmp`` that interrupted writes left here."""
        pattern = re.compile(r"%s[A-Za-z0-9_]{8}\.tmp" % re.escape(prefix))
        for name in self.names():
            if pattern.fullmatch(name):  # whole name: "$" would also match before a final newline
                self.unlink(name)

    def unlink(self, name):
        """Remove the entry NAME (a link itself, never what it points to), if it is there."""
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def rmdir(self, name):
        """Remove the directory NAME when it is empty (not when it is a link, or not empty)."""
        try:
            os.rmdir(name, dir_fd=self.fd)
        except OSError:  # not empty, not a directory, or already gone
            pass


def _step(parent_fd, name, path, create):
    """Open the directory NAME in PARENT_FD (PATH in messages) without following a link, making it
    with mode CREATE when it is missing and CREATE is given; check its owner and mode."""
    try:
        fd = _open_dir_at(parent_fd, name, create)
    except PermissionError as exc:
        raise KernelError("open %s: permission denied: netmodes.linux keeps its state root's alone; run the module as root"
                          " (become: true)" % path) from exc
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _link_refused(path) from exc
        raise _kernel("open", path, exc) from exc
    if fd is None:
        return None
    st = os.fstat(fd)
    if not trusted_owner(st.st_uid):
        os.close(fd)
        raise Conflict("%s belongs to uid %d, not root; netmodes.linux keeps its own files there and does not use a directory"
                       " another user owns: remove it (rm -r %s), and re-run" % (path, st.st_uid, path))
    if create is not None and st.st_mode & _OTHERS_WRITE:
        os.fchmod(fd, stat.S_IMODE(st.st_mode) & ~_OTHERS_WRITE)  # repaired: only root writes here
    elif create is not None and stat.S_IMODE(st.st_mode) == create & ~_GROUP_OTHERS:
        os.fchmod(fd, create)  # a creation killed between its mkdir and its fchmod: finished now
    return Dir(fd, path)


def _open_dir_at(parent_fd, name, create):
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        if create is None:
            return None
    try:
        os.mkdir(name, create & ~_GROUP_OTHERS, dir_fd=parent_fd)  # no wider than CREATE until its fchmod
    except FileExistsError:
        pass
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    os.fchmod(fd, create)
    return fd


def open_dir(path, base, create=None):
    """The directory PATH as a Dir, reached from BASE (a trusted ancestor, e.g. /run) one component
    at a time without following a link; None when a component is missing and CREATE (the mode of
    the directories made) is not given. A link, or a directory of another user's, is refused
    (Conflict); a directory others may write is repaired when CREATE is given."""
    rel = os.path.relpath(path, base)
    if rel.startswith(os.pardir):
        raise ValueError("%s is not under %s" % (path, base))
    try:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        if create is None:
            return None
        raise
    current = Dir(fd, base)
    for name in [] if rel == os.curdir else rel.split(os.sep):
        try:
            step = current.subdir(name, create)
        finally:
            current.close()
        if step is None:
            return None
        current = step
    return current


def owned_dir(path, create=None):
    """``open_dir`` for a directory of ours whose parent directory is trusted (/run/netmodes from /run)."""
    return open_dir(path, os.path.dirname(path), create)


# -- host paths that are not ours alone (the boot-time restore's files) ---------------------------


def path_problem(path):
    """Why a file at PATH could be changed by a user other than root, or None: every directory on
    its way (symbolic links resolved) must be root's, and none but root may write in them, except
    in directories above its own that have the sticky bit (/tmp), where no one may replace root's
    entries."""
    directory = os.path.realpath(os.path.dirname(path))
    parts = directory.strip(os.sep).split(os.sep) if directory != os.sep else []
    for depth in range(len(parts) + 1):
        where = os.sep + os.sep.join(parts[:depth])
        try:
            st = os.stat(where)
        except FileNotFoundError:
            return None  # made by this run, as root
        if not trusted_owner(st.st_uid):
            return "%s belongs to uid %d" % (where, st.st_uid)
        if st.st_mode & _OTHERS_WRITE and (depth == len(parts) or not st.st_mode & stat.S_ISVTX):
            return "%s can be written by users other than root (mode %04o)" % (where, stat.S_IMODE(st.st_mode))
    return None


def make_dirs(directory, mode=PUBLIC_DIR):
    """Make DIRECTORY and its missing parents with MODE, whatever the umask."""
    if os.path.isdir(directory):
        return
    make_dirs(os.path.dirname(directory), mode)
    try:
        os.mkdir(directory, PRIVATE_DIR)
    except FileExistsError:
        return
    os.chmod(directory, mode)
