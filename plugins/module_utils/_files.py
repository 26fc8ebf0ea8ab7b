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
import stat

from ansible_collections.netmodes.linux.plugins.module_utils import _fs
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, ordered
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, KernelError

ETC_NETNS = "/etc/netns"
RECORDS = ".netmodes"
RECORD_TAG = "record"  # temporary records are .record.XXXXXXXX.tmp: never NAME.json of a sandbox
FILE_MODE = _fs.PUBLIC     # processes in the sandbox read them
DIR_MODE = _fs.PUBLIC_DIR
RECORDS_MODE = _fs.PRIVATE_DIR
# In a sandbox's record: the sandbox whose files it shares (Docker's container mode), its
# directory being a symbolic link to that sandbox's.
LINK = "link"


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


def shown(files, netns):
    """The sandbox whose files ``ip netns exec NETNS`` shows: NETNS, or the sandbox its directory
    is our symbolic link to (FILES: the adapter). A link that is not ours is not followed: reading
    through it fails, naming it."""
    link = files.link_of(netns)
    return link if link is not None and link == files.recorded(netns).get(LINK) else netns


def plan_link(netns, target, current, force=False, replaced=False):
    """Ops that make /etc/netns/NETNS show the files of sandbox TARGET (None: no link, and with
    REPLACED files of its own, planned after these ops).

    CURRENT: the link there ("link", None when there is none), whether it is ours ("ours"), the
    files in the directory ("files", {name: content or None}) and their records ("recorded").
    Files of ours in the way go with the directory (those changed by hand only with FORCE); a
    link that is not ours is refused."""
    link, obj = current["link"], "directory %s" % os.path.join(ETC_NETNS, netns)
    if link is None and target is None:  # a link recorded but not made (a run killed halfway): its record goes
        stale = current["recorded"].get(LINK)
        return [Op("recreate" if replaced else "delete", obj, before={LINK: stale}, call=("files.unlink", {"netns": netns}))] if stale else []
    if link is not None and not current["ours"]:
        raise Conflict("%s is a symbolic link (to %s) that netmodes.linux did not make; it never follows a link in a path it owns:"
                       " remove it (rm %s), and re-run" % (os.path.join(ETC_NETNS, netns), link, os.path.join(ETC_NETNS, netns)))
    if link == target:  # done; but a run killed before the link's last record kept the marks of the files it removed
        left = {name: mark for name, mark in current["recorded"].items() if name != LINK}
        return [Op("set", obj, "record", left, {LINK: target}, call=("files.link", {"netns": netns, "target": target}))] if left else []
    if target is None:
        return [Op("recreate" if replaced else "delete", obj, before={LINK: link}, call=("files.unlink", {"netns": netns}))]
    if link is not None:
        return [Op("set", obj, LINK, link, target, call=("files.link", {"netns": netns, "target": target}))]
    there = {name: content for name, content in current["files"].items() if content is not None}
    plan(netns, dict.fromkeys(there), there, {name: mark for name, mark in current["recorded"].items() if name in there}, force)
    mine = [name for name in sorted(there) if current["recorded"].get(name) or force]
    if len(mine) < len(there):
        theirs = sorted(set(there) - set(mine))
        raise EditedByHand("%s exists and was not written by netmodes.linux. Nothing was changed. Set force: true to remove it"
                           " (%s shares the files of %s)" % (", ".join(path(netns, n) for n in theirs), netns, target),
                           [file_diff(netns, name, there[name], None) for name in theirs])
    return [Op("recreate" if there else "create", obj, before=there or None, after={LINK: target},
               call=("files.link", {"netns": netns, "target": target, "remove": mine}))]


def diff(ops):
    """The unified diff of every file OPS change (a record-only op changes no content); a
    sandbox's directory made a link shows as the line ``-> TARGET``."""
    out = []
    for op in ordered(ops):
        before = op.before if op.action != "create" else None
        after = op.after if op.action != "delete" else None
        if op.field == "record" or before == after:
            continue
        if op.call[0] in ("files.link", "files.unlink"):
            where = os.path.join(ETC_NETNS, op.call[1]["netns"])
            out.append({"before_header": where, "before": _as_text(before), "after_header": where, "after": _as_text(after)})
            continue
        out.append(file_diff(op.call[1]["netns"], op.call[1]["name"], before, after))
    return out


def _as_text(value):
    """A link's target (``-> web``), or the files a directory holds, for a diff."""
    if isinstance(value, str):
        return "-> %s\n" % value
    if not value:
        return ""
    if LINK in value:
        return "-> %s\n" % value[LINK]
    return "".join("%s:\n%s" % (name, content) for name, content in sorted(value.items()))


class Files:
    """Reads the host's files and reads, writes and removes the sandboxes' files under ROOT.

    ROOT's parent (/etc) is trusted; ROOT, ROOT/NETNS, the files and ROOT/.netmodes are ours and
    are reached without following a link (``_fs``): a link planted there is refused.
    """

    def __init__(self, root=ETC_NETNS):
        self.root = root

    @staticmethod
    def host_file(name):
        """Text of a host file (its absolute path, links followed: /etc/resolv.conf often is one),
        or None when it does not exist."""
        try:
            # newline="": no newline translation, so the hash is of the file as it is.
            with open(name, encoding="utf-8", errors="replace", newline="") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KernelError("read %s: %s" % (name, exc.strerror or exc))

    # -- host files of ours (the boot-time restore's declaration, command and unit) ----------

    @staticmethod
    def host_entry(name):
        """What is at the host path NAME, a link not followed: None, or (kind, content, owner uid)
        with kind "file" (content: bytes), "link" (content: its target) or "other"."""
        st = _lstat(name)
        if st is None:
            return None
        if stat.S_ISLNK(st.st_mode):
            return "link", os.readlink(name), st.st_uid
        if not stat.S_ISREG(st.st_mode):
            return "other", None, st.st_uid
        with _fs.open_dir(os.path.dirname(name), os.path.dirname(name)) as directory:
            data, found = directory.read(os.path.basename(name))
        return ("file", data, found.st_uid) if data is not None else None

    @staticmethod
    def host_path_problem(name):
        """Why the host path NAME could be changed by another user than root, or None."""
        return _fs.path_problem(name)

    @staticmethod
    def write_host_file(name, content, mode=FILE_MODE):
        """Replace the host file NAME with CONTENT (text or bytes) atomically, making its directory."""
        with _host_dir(name) as directory:
            directory.write(os.path.basename(name), content.encode("utf-8") if isinstance(content, str) else content, mode)

    @staticmethod
    def link_host_file(name, target):
        """Make NAME a symbolic link to TARGET (replacing the link there), as systemctl enable does."""
        with _host_dir(name) as directory:
            directory.symlink(os.path.basename(name), target)

    @staticmethod
    def remove_host_file(name, directory=False):
        """Remove the host file or link NAME, and with DIRECTORY (one of ours) its directory once empty."""
        parent = os.path.dirname(name)
        found = _fs.open_dir(parent, parent)
        if found is None:
            return
        with found:
            found.unlink(os.path.basename(name))
        if directory:
            with _fs.open_dir(os.path.dirname(parent), os.path.dirname(parent)) as above:
                above.rmdir(os.path.basename(parent))

    # -- the sandboxes' files and their records ------------------------------------------------

    def _dir(self, *names, create=None):
        return _fs.open_dir(os.path.join(self.root, *names), os.path.dirname(self.root), create)

    def read(self, netns, name):
        """Text of the sandbox's file NAME, or None when it does not exist."""
        directory = self._dir(netns)
        if directory is None:
            return None
        with directory:
            data, _st = directory.read(name)
        return None if data is None else data.decode("utf-8", errors="replace")

    def recorded(self, netns):
        """{name: hash} of the files we last wrote for NETNS (a record of root's only)."""
        directory = self._dir(RECORDS)
        if directory is None:
            return {}
        with directory:
            data = directory.read_state(netns + ".json")
        try:
            found = json.loads(data) if data else {}
        except ValueError:
            return {}  # a damaged record: every file then counts as not ours
        return dict(found) if isinstance(found, dict) else {}

    def recorded_sandboxes(self):
        """The sandboxes that have a record of files we wrote, sorted."""
        directory = self._dir(RECORDS)
        if directory is None:
            return []
        with directory:
            names = directory.names()
        return sorted(n[:-len(".json")] for n in names if n.endswith(".json") and not n.startswith("."))

    def write(self, netns, name, content):
        """Make the file hold CONTENT (rewritten only when it differs) and record its hash."""
        with self._dir(netns, create=DIR_MODE) as directory:
            data, _st = directory.read(name)
            if data is None or data.decode("utf-8", errors="replace") != content:
                directory.write(name, content.encode("utf-8"), FILE_MODE)
        self._set_record(netns, name, digest(content))

    def remove(self, netns, name):
        """Remove the file, the sandbox's directory once it is empty, and the file's record.

        The record goes last: a run killed before it still finds the file recorded, and plans
        the removal again.
        """
        directory = self._dir(netns)
        if directory is not None:
            with directory:
                directory.unlink(name)
                directory.remove_leftovers(".%s." % name)
            with self._dir() as root:
                root.rmdir(netns)
        self._set_record(netns, name, None)

    def link_of(self, netns):
        """The target of /etc/netns/NETNS when it is a symbolic link (never followed), else None."""
        root = self._dir()
        if root is None:
            return None
        with root:
            found = root.lstat(netns)
            return os.readlink(netns, dir_fd=root.fd) if found is not None and stat.S_ISLNK(found.st_mode) else None

    def link(self, netns, target, remove=()):
        """Make /etc/netns/NETNS a symbolic link to TARGET (the directory beside it), so that ``ip
        netns exec NETNS`` shows TARGET's files, always as they are now (Docker's container mode).

        The link is recorded first, so a run killed halfway finds what it left as ours. What is
        there is replaced: a link, or a directory holding nothing but the files REMOVE, which go.
        """
        self._write_record(netns, dict(self.recorded(netns), **{LINK: target}))
        with self._dir(create=DIR_MODE) as root:
            found = root.lstat(netns)
            if found is not None and stat.S_ISDIR(found.st_mode):
                with root.subdir(netns) as directory:
                    for name in remove:
                        directory.unlink(name)
                        directory.remove_leftovers(".%s." % name)
                    left = directory.names()
                if left:
                    raise Conflict("%s holds %s, which netmodes.linux did not write; %s shares the files of %s: remove them, and re-run"
                                   % (os.path.join(self.root, netns), ", ".join(left), netns, target))
                root.rmdir(netns)
            root.symlink(netns, target, tag=LINK)
        self._write_record(netns, {LINK: target})

    def unlink(self, netns):
        """Remove the symbolic link /etc/netns/NETNS (never what it points to), then its record."""
        root = self._dir()
        if root is not None:
            with root:
                found = root.lstat(netns)
                if found is not None and stat.S_ISLNK(found.st_mode):
                    root.unlink(netns)
        self._set_record(netns, LINK, None)

    def stray_records(self):
        """True when the records' directory is there but empty: a removal of the last record,
        killed before the directory went, leaves it (see ``tidy``)."""
        directory = self._dir(RECORDS)
        if directory is None:
            return False
        with directory:
            return not directory.names()

    def tidy(self):
        """Remove the records' directory when it is empty."""
        root = self._dir()
        if root is not None:
            with root:
                root.rmdir(RECORDS)

    def _set_record(self, netns, name, value):
        marks = self.recorded(netns)
        if value is None:
            marks.pop(name, None)
        else:
            marks[name] = value
        self._write_record(netns, marks)

    def _write_record(self, netns, marks):
        """Record MARKS for NETNS (none: its record goes, and the records' directory once empty)."""
        if marks:
            with self._dir(RECORDS, create=RECORDS_MODE) as records:
                records.write(netns + ".json", (json.dumps(marks, indent=1, sort_keys=True) + "\n").encode("utf-8"),
                              _fs.PRIVATE, tag=RECORD_TAG)
            return
        records = self._dir(RECORDS)
        if records is None:
            return
        with records:
            records.unlink(netns + ".json")
            records.remove_leftovers(".%s." % RECORD_TAG)
        self.tidy()


def _lstat(name):
    try:
        return os.lstat(name)
    except FileNotFoundError:
        return None


def _host_dir(name):
    """The directory of the host file NAME (made when missing), checked again once made: no user
    but root may change it (see ``_fs.path_problem``)."""
    parent = os.path.dirname(name)
    _fs.make_dirs(parent)
    problem = _fs.path_problem(name)
    if problem:
        raise Conflict("%s: %s; nothing was written there" % (name, problem))
    return _fs.open_dir(parent, parent)
