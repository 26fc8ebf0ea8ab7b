# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files planner (edits by hand are never overwritten silently) and the real adapter on a tmp dir."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _files as f
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict

OURS = "nameserver 10.231.0.53\n"
NEW = "nameserver 1.1.1.1\n"
EDITED = "nameserver 10.231.0.53\nnameserver 10.231.0.99\n"


def plan(wanted, current, recorded, force=False):
    return [(op.action, op.field, op.call[0]) for op in f.plan("web", wanted, current, recorded, force)]


@pytest.mark.parametrize("current, recorded, expected", [
    ({}, {}, [("create", None, "files.write")]),
    ({"resolv.conf": OURS}, {"resolv.conf": f.digest(OURS)}, [("set", "content", "files.write")]),
    ({"resolv.conf": NEW}, {"resolv.conf": f.digest(NEW)}, []),
    # Already as wanted but not recorded (a lost record, or made so by hand): record it only.
    ({"resolv.conf": NEW}, {}, [("set", "record", "files.write")]),
    # Recorded but deleted by hand: write it again.
    ({}, {"resolv.conf": f.digest(OURS)}, [("create", None, "files.write")]),
], ids=["missing", "ours, changed", "ours, unchanged", "equal, unrecorded", "deleted by hand"])
def test_plan_writes_only_what_differs(current, recorded, expected):
    assert plan({"resolv.conf": NEW}, current, recorded) == expected


@pytest.mark.parametrize("recorded, why", [
    ({"resolv.conf": f.digest(OURS)}, "/etc/netns/web/resolv.conf was changed by hand since netmodes.linux wrote it"),
    ({}, "/etc/netns/web/resolv.conf exists and was not written by netmodes.linux"),
], ids=["edited by hand", "not ours"])
def test_a_file_changed_by_someone_else_is_a_conflict_with_a_diff(recorded, why):
    with pytest.raises(Conflict) as info:
        f.plan("web", {"resolv.conf": NEW, "hosts": "127.0.0.1\tlocalhost\n"}, {"resolv.conf": EDITED}, recorded)
    err = info.value
    assert err.msg == why + ". Nothing was changed. Set force: true to replace it (the diff shows the change)"
    assert err.field == "force" and isinstance(err, f.EditedByHand)
    assert err.details()["diff"] == [{"before_header": "/etc/netns/web/resolv.conf", "before": EDITED,
                                      "after_header": "/etc/netns/web/resolv.conf", "after": NEW}]


def test_force_replaces_an_edited_file_and_the_diff_shows_the_edit_going():
    ops = f.plan("web", {"resolv.conf": NEW}, {"resolv.conf": EDITED}, {"resolv.conf": f.digest(OURS)}, force=True)
    assert [(op.action, op.before, op.after) for op in ops] == [("set", EDITED, NEW)]
    assert f.diff(ops) == [{"before_header": "/etc/netns/web/resolv.conf", "before": EDITED,
                            "after_header": "/etc/netns/web/resolv.conf", "after": NEW}]


def test_removal_touches_recorded_files_only_and_not_edited_ones():
    recorded = {"resolv.conf": f.digest(OURS), "hosts": f.digest("x\n")}
    current = {"resolv.conf": OURS, "hosts": "x\ny\n", "hostname": "theirs\n"}
    wanted = dict.fromkeys(recorded)
    with pytest.raises(Conflict, match=r"/etc/netns/web/hosts was changed by hand .* Set force: true to remove it"):
        f.plan("web", wanted, current, recorded)
    ops = f.plan("web", wanted, current, recorded, force=True)
    assert sorted((op.action, op.call[1]["name"]) for op in ops) == [("delete", "hosts"), ("delete", "resolv.conf")]
    assert f.plan("web", {"hostname": None}, current, recorded) == []  # never ours: left alone


def test_diff_of_creation_and_removal_uses_dev_null():
    ops = f.plan("web", {"hosts": "a\n"}, {}, {}) + f.plan("web", {"resolv.conf": None}, {"resolv.conf": OURS},
                                                           {"resolv.conf": f.digest(OURS)})
    assert f.diff(ops) == [
        {"before_header": "/dev/null", "before": "", "after_header": "/etc/netns/web/hosts", "after": "a\n"},
        {"before_header": "/etc/netns/web/resolv.conf", "before": OURS, "after_header": "/dev/null", "after": ""},
    ]
    assert f.diff(f.plan("web", {"resolv.conf": NEW}, {"resolv.conf": NEW}, {})) == []  # record only: no content diff


@pytest.fixture
def files(tmp_path):
    return f.Files(root=str(tmp_path / "netns"))


def test_write_creates_the_directory_file_and_record(files, tmp_path):
    files.write("web", "resolv.conf", OURS)
    target = tmp_path / "netns" / "web" / "resolv.conf"
    assert target.read_text() == OURS and oct(target.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(tmp_path / "netns" / "web") == ["resolv.conf"], "nothing else may sit there: ip netns exec mounts it"
    record = tmp_path / "netns" / ".netmodes" / "web.json"
    assert json.loads(record.read_text()) == {"resolv.conf": f.digest(OURS)}
    assert files.read("web", "resolv.conf") == OURS and files.recorded("web") == {"resolv.conf": f.digest(OURS)}


def test_write_replaces_atomically_and_only_when_content_differs(files, tmp_path):
    files.write("web", "hosts", OURS)
    target = tmp_path / "netns" / "web" / "hosts"
    inode = target.stat().st_ino
    files.write("web", "hosts", OURS)
    assert target.stat().st_ino == inode, "same content: the file is not rewritten"
    files.write("web", "hosts", NEW)
    assert target.stat().st_ino != inode, "a new file renamed over the old one"
    assert target.read_text() == NEW and files.recorded("web") == {"hosts": f.digest(NEW)}
    assert sorted(os.listdir(target.parent)) == ["hosts"], "no temporary file left behind"


def test_read_keeps_line_ends_so_an_edit_to_them_shows(files, tmp_path):
    files.write("web", "hosts", OURS)
    (tmp_path / "netns" / "web" / "hosts").write_bytes(OURS.replace("\n", "\r\n").encode())
    assert files.read("web", "hosts") == OURS.replace("\n", "\r\n")
    assert files.read("web", "hostname") is None and files.read("db", "hosts") is None


def test_remove_drops_file_record_and_empty_directories(files, tmp_path):
    files.write("web", "hosts", OURS)
    files.write("web", "resolv.conf", OURS)
    (tmp_path / "netns" / "web" / "services").write_text("theirs\n")
    files.remove("web", "hosts")
    files.remove("web", "resolv.conf")
    assert sorted(os.listdir(tmp_path / "netns" / "web")) == ["services"], "a file not ours keeps the directory"
    assert not (tmp_path / "netns" / ".netmodes").exists(), "the last record takes its directory with it"
    (tmp_path / "netns" / "web" / "services").unlink()
    files.write("web", "hostname", "web1\n")
    files.remove("web", "hostname")
    files.remove("web", "hostname")  # already gone: no error
    assert os.listdir(tmp_path / "netns") == []


def test_a_write_removes_what_an_interrupted_write_of_the_same_file_left(files, tmp_path):
    """A run killed between creating its temporary file and the rename leaves .NAME.XXXXXXXX.tmp
    (in /etc/netns/NAME, where ip netns exec would mount it); the next write of NAME removes it,
    and nothing that is not a temporary file of that very file."""
    files.write("web", "hosts", OURS)
    sandbox, records = tmp_path / "netns" / "web", tmp_path / "netns" / ".netmodes"
    others = [".resolv.conf.abcd1234.tmp", ".hosts.tmp", ".hosts.abc.tmp", "hosts.abcd1234.tmp", ".hosts.abcd1234.tmp\n"]
    for name in [".hosts.abcd1234.tmp", ".hosts.x_9yz0w1.tmp"] + others:
        (sandbox / name).write_text("half")
    (records / ".record.k2j4h6g8.tmp").write_text("{")
    files.write("web", "hosts", NEW)
    assert sorted(os.listdir(sandbox)) == sorted(["hosts"] + others)
    assert os.listdir(records) == ["web.json"]


def test_a_removal_removes_what_an_interrupted_write_left(files, tmp_path):
    files.write("web", "hosts", OURS)
    (tmp_path / "netns" / "web" / ".hosts.abcd1234.tmp").write_text("half")
    (tmp_path / "netns" / ".netmodes" / ".record.abcd1234.tmp").write_text("{")
    files.remove("web", "hosts")
    assert os.listdir(tmp_path / "netns") == [], "the directories go too, as after a write that was not interrupted"


def test_a_removal_drops_the_record_last(files, tmp_path, monkeypatch):
    """Killed before the record is updated, the file is still recorded and its removal planned
    again; the directories go before, so nothing is left unrecorded."""
    files.write("web", "hosts", OURS)

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(f.Files, "_set_record", killed)
    with pytest.raises(KeyboardInterrupt):
        files.remove("web", "hosts")
    assert not (tmp_path / "netns" / "web").exists() and "hosts" in files.recorded("web")
    monkeypatch.undo()
    assert f.plan("web", {"hosts": None}, {"hosts": None}, files.recorded("web"))[0].action == "delete"
    files.remove("web", "hosts")
    assert os.listdir(tmp_path / "netns") == []


def test_an_empty_records_directory_is_stray_and_tidied(files, tmp_path):
    assert not files.stray_records()
    files.write("web", "hosts", OURS)
    assert not files.stray_records()
    (tmp_path / "netns" / ".netmodes" / "web.json").unlink()  # killed before the directory went
    assert files.stray_records()
    files.tidy()
    assert not files.stray_records() and not (tmp_path / "netns" / ".netmodes").exists()


def test_a_damaged_record_counts_as_nothing_recorded(files, tmp_path):
    files.write("web", "hosts", OURS)
    (tmp_path / "netns" / ".netmodes" / "web.json").write_text("{not json")
    assert files.recorded("web") == {}


def test_host_file_reads_or_says_none(tmp_path):
    (tmp_path / "resolv.conf").write_text(OURS)
    assert f.Files.host_file(str(tmp_path / "resolv.conf")) == OURS
    assert f.Files.host_file(str(tmp_path / "missing")) is None


# -- never through a link, with modes of their own (issue 13, items 10 and 11) -------------------

@pytest.fixture
def planted(tmp_path):
    """/etc/netns/web is a link to the host's /etc (here tmp/etc), which holds its own files."""
    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("hosts", "resolv.conf", "hostname"):
        (etc / name).write_text("the host's %s\n" % name)
    (tmp_path / "netns").mkdir()
    (tmp_path / "netns" / "web").symlink_to(etc)
    return etc


@pytest.mark.parametrize("action", ["read", "write", "remove"])
def test_a_link_planted_at_the_sandboxes_directory_is_refused(files, planted, action):
    with pytest.raises(Conflict, match=r"netns/web is a symbolic link .*never follows a link in a path it owns"):
        if action == "read":
            files.read("web", "hosts")
        elif action == "write":
            files.write("web", "hosts", OURS)
        else:
            files.remove("web", "hosts")
    assert {p.name: p.read_text() for p in planted.iterdir()} == {n: "the host's %s\n" % n for n in ("hosts", "resolv.conf", "hostname")}


def test_a_link_planted_at_a_file_is_refused_when_read(files, tmp_path, planted):
    (tmp_path / "netns" / "web").unlink()
    (tmp_path / "netns" / "web").mkdir()
    (tmp_path / "netns" / "web" / "hosts").symlink_to(planted / "hosts")
    with pytest.raises(Conflict, match=r"netns/web/hosts is a symbolic link"):
        files.read("web", "hosts")


def test_modes_do_not_depend_on_the_umask(files, tmp_path):
    old = os.umask(0)
    try:
        files.write("web", "hosts", OURS)
    finally:
        os.umask(old)
    modes = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777) for p in [tmp_path / "netns", *(tmp_path / "netns").rglob("*")]}
    assert modes == {"netns": "0o755", "netns/web": "0o755", "netns/web/hosts": "0o644",
                     "netns/.netmodes": "0o700", "netns/.netmodes/web.json": "0o600"}


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_record_another_user_owns_records_nothing(files, tmp_path):
    files.write("web", "hosts", OURS)
    os.chown(tmp_path / "netns" / ".netmodes" / "web.json", 65534, 65534)
    assert files.recorded("web") == {}


def test_host_entries_say_what_is_there_without_following_a_link(tmp_path):
    (tmp_path / "file").write_bytes(b"data")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    os.mkfifo(tmp_path / "fifo")
    assert f.Files.host_entry(str(tmp_path / "file")) == ("file", b"data", os.geteuid())
    assert f.Files.host_entry(str(tmp_path / "link")) == ("link", str(tmp_path / "file"), os.geteuid())
    assert f.Files.host_entry(str(tmp_path / "fifo"))[0] == "other"
    assert f.Files.host_entry(str(tmp_path / "missing")) is None


def test_host_files_of_ours_get_their_modes_and_replace_a_link_not_its_target(tmp_path):
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    unit = tmp_path / "sys" / "netmodes-restore.service"
    old = os.umask(0)
    try:
        f.Files.write_host_file(str(tmp_path / "lib" / "netmodes" / "restore"), b"#!", 0o755)
        f.Files.write_host_file(str(unit), "[Unit]\n")
        f.Files.link_host_file(str(tmp_path / "sys" / "wants" / "x.service"), str(unit))
    finally:
        os.umask(old)
    assert oct((tmp_path / "lib" / "netmodes").stat().st_mode & 0o777) == "0o755"
    assert oct((tmp_path / "lib" / "netmodes" / "restore").stat().st_mode & 0o777) == "0o755"
    assert oct(unit.stat().st_mode & 0o777) == "0o644" and os.readlink(tmp_path / "sys" / "wants" / "x.service") == str(unit)
    (tmp_path / "sys" / "other.service").symlink_to(tmp_path / "passwd")
    f.Files.write_host_file(str(tmp_path / "sys" / "other.service"), "[Unit]\n")
    assert (tmp_path / "passwd").read_text() == "root:x:0:0\n"
    f.Files.remove_host_file(str(tmp_path / "lib" / "netmodes" / "restore"), directory=True)
    assert not (tmp_path / "lib" / "netmodes").exists()


# -- a sandbox's directory as a link to another's (container mode, issue 18) ------------------------

def test_link_replaces_a_directory_of_our_files_and_shows_the_target_s(files, tmp_path):
    files.write("web", "hosts", OURS)
    files.write("side", "hosts", NEW)
    files.link("side", "web", remove=["hosts"])
    side = tmp_path / "netns" / "side"
    assert side.is_symlink() and os.readlink(side) == "web" and (side / "hosts").read_text() == OURS
    assert files.link_of("side") == "web" and files.link_of("web") is None and files.link_of("nobody") is None
    assert files.recorded("side") == {f.LINK: "web"} and f.shown(files, "side") == "web" and f.shown(files, "web") == "web"
    files.write("web", "hosts", NEW)
    assert (side / "hosts").read_text() == NEW, "always the target's files as they are now"
    files.link("side", "www")
    assert os.readlink(side) == "www", "a link of ours is replaced"
    assert not [n for n in os.listdir(tmp_path / "netns") if n.endswith(".tmp")]


def test_link_keeps_what_is_not_ours_and_fails_naming_it(files, tmp_path):
    files.write("side", "hosts", NEW)
    (tmp_path / "netns" / "side" / "nsswitch.conf").write_text("hosts: files\n")
    with pytest.raises(Conflict, match="/side holds nsswitch.conf, which netmodes.linux did not write"):
        files.link("side", "web", remove=["hosts"])
    assert (tmp_path / "netns" / "side" / "nsswitch.conf").exists() and not (tmp_path / "netns" / "side").is_symlink()
    assert files.recorded("side").get(f.LINK) == "web", "recorded first: the next run finishes or undoes it"


def test_unlink_removes_the_link_never_the_target_s_files(files, tmp_path):
    files.write("web", "hosts", OURS)
    files.link("side", "web")
    files.unlink("side")
    assert not os.path.lexists(tmp_path / "netns" / "side") and (tmp_path / "netns" / "web" / "hosts").read_text() == OURS
    assert files.recorded("side") == {} and files.recorded("web") == {"hosts": f.digest(OURS)}
    files.unlink("side")  # nothing there: nothing to do


def test_a_planted_link_is_not_followed_by_link_of(files, tmp_path):
    files.write("web", "hosts", OURS)
    os.symlink("/etc", tmp_path / "netns" / "side")
    assert files.link_of("side") == "/etc" and f.shown(files, "side") == "side", "not recorded as ours"
    with pytest.raises(Conflict, match="is a symbolic link"):
        files.read("side", "hosts")
