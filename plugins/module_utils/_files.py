# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files adapter: the only place that writes a sandbox's /etc/netns/NAME/* files.

``ip netns exec NAME`` bind-mounts every entry of /etc/netns/NAME over /etc/ENTRY for the
processes it starts, so that directory must hold nothing but the files themselves: what we last
wrote (a sha256 per file, like Docker's ``resolv.conf.hash``) is recorded beside it, in
/etc/netns/.netmodes/NAME.json, where it survives reboots as the files do. A file whose content
no longer has the recorded hash was edited by hand; the planner refuses to replace or remove it
unless told to (``force``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile

from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, ordered
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, KernelError

ETC_NETNS = "/etc/netns"
RECORDS = ".netmodes"
FILE_MODE = 0o644
DIR_MODE = 0o755


def path(netns, name, root=ETC_NETNS):
    """Where ``ip netns exec NETNS`` finds the file it shows as /etc/NAME."""
    return os.path.join(root, netns, name)


def digest(content):
    """The hash recorded for CONTENT (text), in the form Docker's hash files use."""
    return "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()


def status(netns, name, content, mark):
    """A sandbox's file NAME for results: its path, whether it exists (CONTENT is its text or
    None), and whether it is managed, that is, still as netmodes.linux wrote it (MARK, the
    recorded hash, or None)."""
    return {"path": path(netns, name), "exists": content is not None,
            "managed": content is not None and mark == digest(content)}


class EditedByHand(Conflict):
    """Files changed (or made) by someone else stand in the way; ``diff`` shows what would change."""

    def __init__(self, msg, diffs):
        super().__init__(msg, "force")
        self.diffs = diffs

    def details(self):
        out = super().details()
        out["diff"] = self.diffs
        return out


def file_diff(netns, name, before, after):
    """One file's change in Ansible's diff format, which Ansible prints as a unified diff."""
    where = path(netns, name)
    return {"before_header": where if before is not None else "/dev/null", "before": before or "",
            "after_header": where if after is not None else "/dev/null", "after": after or ""}


def plan(netns, wanted, current, recorded, force=False):
    """Ops that give sandbox NETNS the files WANTED ({name: content, or None: remove it}).

    CURRENT is {name: content or None} as read, RECORDED {name: hash} of what we last wrote. A
    file is replaced or removed only when it still has the recorded hash, or with FORCE; else
    EditedByHand is raised before anything changes. Content equal to what is wanted is left alone
    (only its hash is recorded, when it is not yet).
    """
    ops, blocked = [], []
    for name, content in sorted(wanted.items()):
        have, mark = current.get(name), recorded.get(name)
        obj, call = "file %s" % path(netns, name), {"netns": netns, "name": name}
        untouched = have is None or (mark is not None and digest(have) == mark)
        if content is None:
            if mark is None:
                continue  # not ours: never removed
            if not (untouched or force):
                blocked.append((name, have, None, "was changed by hand since netmodes.linux wrote it", "remove"))
                continue
            ops.append(Op("delete", obj, before=have, call=("files.remove", call)))
        elif have == content:
            if mark != digest(content):
                ops.append(Op("set", obj, "record", mark, digest(content), ("files.write", dict(call, content=content))))
        elif have is None:
            ops.append(Op("create", obj, after=content, call=("files.write", dict(call, content=content))))
        elif untouched or force:
            ops.append(Op("set", obj, "content", have, content, ("files.write", dict(call, content=content))))
        else:
            why = "was changed by hand since netmodes.linux wrote it" if mark else "exists and was not written by netmodes.linux"
            blocked.append((name, have, content, why, "replace"))
    if blocked:
        raise EditedByHand(
            "; ".join("%s %s" % (path(netns, name), why) for name, _have, _want, why, _verb in blocked)
            + ". Nothing was changed. Set force: true to %s %s (the diff shows the change)"
            % (blocked[0][4], "them" if len(blocked) > 1 else "it"),
            [file_diff(netns, name, have, want) for name, have, want, _why, _verb in blocked],
        )
    return ops


def diff(ops):
    """The unified diff of every file OPS change (a record-only op changes no content)."""
    out = []
    for op in ordered(ops):
        before = op.before if op.action != "create" else None
        after = op.after if op.action != "delete" else None
        if op.field == "record" or before == after:
            continue
        out.append(file_diff(op.call[1]["netns"], op.call[1]["name"], before, after))
    return out


def _fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _leftovers(target):
    """The temporary files of TARGET that a writer killed before its rename left behind."""
    directory, base = os.path.split(target)
    pattern = re.compile(r"\.%s\.[A-Za-z0-9_]{8}\.tmp" % re.escape(base))
    try:
        return [os.path.join(directory, name) for name in os.listdir(directory) if pattern.fullmatch(name)]
    except FileNotFoundError:
        return []


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def discard(target):
    """Remove TARGET and the temporary files an interrupted write of it left."""
    for path in [target] + _leftovers(target):
        _unlink(path)


def atomic_write(target, data, mode=FILE_MODE):
    """Replace TARGET with DATA (bytes) atomically: a temporary file in the same directory,
    fsync, rename over TARGET, fsync the directory. Readers see the old or the new file, whole.

    The temporary files that earlier writes of TARGET, killed before their rename, left are
    removed first: a run that did not finish a write plans it again, so nothing lingers.
    """
    directory = os.path.dirname(target)
    for path in _leftovers(target):
        _unlink(path)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(target), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.rename(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def _remove_empty_dir(directory):
    try:
        os.rmdir(directory)
    except OSError:  # not empty, or already gone
        pass


class Files:
    """Reads the host's files and reads, writes and removes the sandboxes' files under ROOT."""

    def __init__(self, root=ETC_NETNS):
        self.root = root

    @staticmethod
    def host_file(name):
        """Text of a host file (its absolute path), or None when it does not exist."""
        return Files._read(name)

    # -- host files of ours (the boot-time restore's declaration, command and unit) ----------

    @staticmethod
    def host_bytes(name):
        """Content of the host file NAME (an absolute path), or None when it does not exist."""
        try:
            with open(name, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KernelError("read %s: %s" % (name, exc.strerror or exc))

    @staticmethod
    def host_link(name):
        """Where the symbolic link NAME points, or None when it is not a symbolic link."""
        try:
            return os.readlink(name)
        except OSError:
            return None

    @staticmethod
    def write_host_file(name, content, mode=FILE_MODE):
        """Replace the host file NAME with CONTENT (text or bytes) atomically, making its directory."""
        os.makedirs(os.path.dirname(name), mode=DIR_MODE, exist_ok=True)
        atomic_write(name, content.encode("utf-8") if isinstance(content, str) else content, mode)

    @staticmethod
    def link_host_file(name, target):
        """Make NAME a symbolic link to TARGET (replacing what is there), as systemctl enable does."""
        os.makedirs(os.path.dirname(name), mode=DIR_MODE, exist_ok=True)
        tmp = "%s.netmodes-tmp" % name
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.symlink(target, tmp)
        os.rename(tmp, name)

    @staticmethod
    def remove_host_file(name, directory=False):
        """Remove the host file or link NAME, and with DIRECTORY (one of ours) its directory once empty."""
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
        if directory:
            _remove_empty_dir(os.path.dirname(name))

    def read(self, netns, name):
        """Text of the sandbox's file NAME, or None when it does not exist."""
        return self._read(path(netns, name, self.root))

    def recorded(self, netns):
        """{name: hash} of the files we last wrote for NETNS."""
        text = self._read(self._record(netns))
        try:
            return dict(json.loads(text)) if text else {}
        except ValueError:
            return {}  # a damaged record: every file then counts as not ours

    def recorded_sandboxes(self):
        """The sandboxes that have a record of files we wrote, sorted."""
        try:
            names = os.listdir(os.path.join(self.root, RECORDS))
        except FileNotFoundError:
            return []
        return sorted(n[:-len(".json")] for n in names if n.endswith(".json") and not n.startswith("."))

    def write(self, netns, name, content):
        """Make the file hold CONTENT (rewritten only when it differs) and record its hash."""
        target = path(netns, name, self.root)
        os.makedirs(os.path.dirname(target), mode=DIR_MODE, exist_ok=True)
        if self.read(netns, name) != content:
            atomic_write(target, content.encode("utf-8"))
        self._set_record(netns, name, digest(content))

    def remove(self, netns, name):
        """Remove the file, the sandbox's directory once it is empty, and the file's record.

        The record goes last: a run killed before it still finds the file recorded, and plans
        the removal again.
        """
        discard(path(netns, name, self.root))
        _remove_empty_dir(os.path.join(self.root, netns))
        self._set_record(netns, name, None)

    def stray_records(self):
        """True when the records' directory is there but empty: a removal of the last record,
        killed before the directory went, leaves it (see ``tidy``)."""
        try:
            return not os.listdir(os.path.join(self.root, RECORDS))
        except (FileNotFoundError, NotADirectoryError):
            return False

    def tidy(self):
        """Remove the records' directory when it is empty."""
        _remove_empty_dir(os.path.join(self.root, RECORDS))

    def _record(self, netns):
        return os.path.join(self.root, RECORDS, netns + ".json")

    def _set_record(self, netns, name, value):
        marks = self.recorded(netns)
        if value is None:
            marks.pop(name, None)
        else:
            marks[name] = value
        record = self._record(netns)
        if marks:
            os.makedirs(os.path.dirname(record), mode=DIR_MODE, exist_ok=True)
            atomic_write(record, (json.dumps(marks, indent=1, sort_keys=True) + "\n").encode("utf-8"))
            return
        discard(record)
        _remove_empty_dir(os.path.dirname(record))

    @staticmethod
    def _read(name):
        try:
            # newline="": no newline translation, so the hash is of the file as it is.
            with open(name, encoding="utf-8", errors="replace", newline="") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KernelError("read %s: %s" % (name, exc.strerror or exc))
