# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files and directories of ours (issue 13, items 10-12): never reached through a link, made with
their modes whatever the umask, another user's never taken for ours, temporary names that no
name of a user's can meet."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _fs, _sockets
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict

NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


@pytest.fixture
def umask0():
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_directories_and_files_get_their_modes_whatever_the_umask(tmp_path, umask0):
    with _fs.open_dir(str(tmp_path / "run" / "netmodes" / "netns"), str(tmp_path), _fs.PRIVATE_DIR) as markers:
        markers.write("web", b"123\n", _fs.PRIVATE)
    for path in ("run", "run/netmodes", "run/netmodes/netns"):
        assert mode(tmp_path / path) == 0o700, path
    assert mode(tmp_path / "run/netmodes/netns/web") == 0o600
    with _fs.open_dir(str(tmp_path / "etc"), str(tmp_path), _fs.PUBLIC_DIR) as etc:
        etc.write("hosts", b"x\n", _fs.PUBLIC)
    assert (mode(tmp_path / "etc"), mode(tmp_path / "etc" / "hosts")) == (0o755, 0o644)


def test_a_read_never_creates(tmp_path):
    assert _fs.open_dir(str(tmp_path / "run" / "netmodes"), str(tmp_path)) is None
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("create", [None, _fs.PRIVATE_DIR])
def test_a_link_in_a_path_of_ours_is_refused_not_followed(tmp_path, create):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hosts").write_text("the host's\n")
    (tmp_path / "netns").mkdir()
    (tmp_path / "netns" / "web").symlink_to(tmp_path / "etc")
    with pytest.raises(Conflict, match=r"netns/web is a symbolic link .*never follows a link .* remove it \(rm .*netns/web\)"):
        _fs.open_dir(str(tmp_path / "netns" / "web"), str(tmp_path), create)
    assert (tmp_path / "etc" / "hosts").read_text() == "the host's\n"


def test_a_link_or_a_device_in_place_of_a_file_is_refused_when_read_and_replaced_when_written(tmp_path):
    (tmp_path / "secret").write_text("the host's\n")
    (tmp_path / "hosts").symlink_to(tmp_path / "secret")
    os.mkfifo(tmp_path / "fifo")
    with _fs.open_dir(str(tmp_path), str(tmp_path)) as directory:
        with pytest.raises(Conflict, match="hosts is a symbolic link"):
            directory.read("hosts")
        with pytest.raises(Conflict, match="fifo is not a regular file"):
            directory.read("fifo")
        assert directory.read_state("hosts") is None and directory.read_state("fifo") is None
        directory.write("hosts", b"ours\n", _fs.PUBLIC)  # the rename replaces the link itself
        directory.unlink("fifo")
    assert (tmp_path / "secret").read_text() == "the host's\n" and not (tmp_path / "hosts").is_symlink()


@needs_root
def test_a_directory_of_another_user_is_refused(tmp_path):
    (tmp_path / "netmodes").mkdir()
    os.chown(tmp_path / "netmodes", NOBODY, NOBODY)
    for create in (None, _fs.PRIVATE_DIR):
        with pytest.raises(Conflict, match=r"netmodes belongs to uid 65534, not root; .* remove it"):
            _fs.owned_dir(str(tmp_path / "netmodes"), create)


def test_a_directory_others_may_write_is_repaired_by_a_writer(tmp_path):
    (tmp_path / "netmodes").mkdir()
    os.chmod(tmp_path / "netmodes", 0o777)
    _fs.owned_dir(str(tmp_path / "netmodes")).close()
    assert mode(tmp_path / "netmodes") == 0o777, "a read changes nothing"
    _fs.owned_dir(str(tmp_path / "netmodes"), _fs.PRIVATE_DIR).close()
    assert mode(tmp_path / "netmodes") == 0o755


@needs_root
@pytest.mark.parametrize("owner, bits", [(NOBODY, 0o600), (0, 0o666), (0, 0o620)], ids=["another user's", "world-writable", "group-writable"])
def test_state_that_is_not_roots_alone_counts_as_nothing(tmp_path, owner, bits):
    path = tmp_path / "web"
    path.write_text("4026531999\n")
    os.chown(path, owner, owner)
    os.chmod(path, bits)
    with _fs.open_dir(str(tmp_path), str(tmp_path)) as directory:
        assert directory.read_state("web") is None
        os.chown(path, 0, 0)
        os.chmod(path, 0o600)
        assert directory.read_state("web") == b"4026531999\n"


def test_a_temporary_file_made_elsewhere_never_meets_a_name_of_a_users(tmp_path, monkeypatch):
    """A marker's name is a sandbox's, any name: its temporary file is made in the directory
    above, so that writing web's marker cannot touch the marker of a sandbox named .web.tmp or
    .web.abcd1234.tmp, also when an interrupted write is cleaned up."""
    top = tmp_path / "netmodes"
    with _fs.owned_dir(str(top), _fs.PRIVATE_DIR) as run, run.subdir("netns", _fs.PRIVATE_DIR) as markers:
        for name in (".web.tmp", ".web.abcd1234.tmp", ".netns.abcd1234.tmp"):
            markers.write(name, b"theirs\n", _fs.PRIVATE, tag="netns", scratch=run)
        (top / ".netns.dead0000.tmp").write_text("half")  # a write killed before its rename
        renames = []
        real_rename = os.rename
        monkeypatch.setattr(os, "rename", lambda *a, **k: renames.append(a) or real_rename(*a, **k))
        markers.write("web", b"123\n", _fs.PRIVATE, tag="netns", scratch=run)
    assert sorted(os.listdir(top / "netns")) == [".netns.abcd1234.tmp", ".web.abcd1234.tmp", ".web.tmp", "web"]
    assert all((top / "netns" / n).read_text() == "theirs\n" for n in os.listdir(top / "netns") if n != "web")
    assert os.listdir(top) == ["netns"] and renames[0][0].startswith(".netns.")


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    (tmp_path / "hosts").write_text("old\n")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "rename", killed)
    with _fs.open_dir(str(tmp_path), str(tmp_path)) as directory:
        with pytest.raises(KeyboardInterrupt):
            directory.write("hosts", b"new\n", _fs.PUBLIC)
    assert os.listdir(tmp_path) == ["hosts"] and (tmp_path / "hosts").read_text() == "old\n"


def test_a_link_is_replaced_as_a_file_is_with_the_same_temporary_names(tmp_path, monkeypatch):
    """One implementation of an atomic replacement: a link of ours (a systemd unit's wants/ link)
    is made under a temporary name, renamed over what is there, and what a killed run left goes."""
    (tmp_path / "x.service").write_text("a file in the way\n")
    (tmp_path / ".x.service.dead0000.tmp").symlink_to(tmp_path / "elsewhere")  # a link killed before its rename
    with _fs.open_dir(str(tmp_path), str(tmp_path)) as directory:
        directory.symlink("x.service", "/etc/systemd/system/x.service")
        assert os.readlink(tmp_path / "x.service") == "/etc/systemd/system/x.service"
        directory.symlink("x.service", "/lib/systemd/system/x.service")

        def killed(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(os, "rename", killed)
        with pytest.raises(KeyboardInterrupt):
            directory.symlink("x.service", "/nowhere")
    assert os.listdir(tmp_path) == ["x.service"] and os.readlink(tmp_path / "x.service") == "/lib/systemd/system/x.service"


@needs_root
def test_a_host_path_other_users_could_change_has_a_problem(tmp_path):
    sticky, own = tmp_path / "tmp", tmp_path / "tmp" / "root"
    sticky.mkdir()
    own.mkdir()
    os.chmod(sticky, 0o1777)
    assert _fs.path_problem(str(own / "declared.json")) is None, "root's directory in a sticky one (/tmp/x)"
    assert _fs.path_problem(str(own / "missing" / "declared.json")) is None, "made by the run, as root"
    assert _fs.path_problem(str(sticky / "declared.json")) == "%s can be written by users other than root (mode 1777)" % sticky
    os.chmod(own, 0o775)
    assert _fs.path_problem(str(own / "x")) == "%s can be written by users other than root (mode 0775)" % own
    os.chmod(own, 0o755)
    os.chown(own, NOBODY, NOBODY)
    assert _fs.path_problem(str(own / "x")) == "%s belongs to uid 65534" % own
    (tmp_path / "link").symlink_to(own)
    assert _fs.path_problem(str(tmp_path / "link" / "x")) == "%s belongs to uid 65534" % own, "links resolved"


@pytest.fixture
def claims_path(tmp_path, monkeypatch):
    path = tmp_path / "run" / "netmodes" / "host-ports.json"
    (tmp_path / "run").mkdir()
    monkeypatch.setattr(_sockets, "CLAIMS", str(path))
    return path


def test_port_claims_are_roots_alone_whatever_the_umask(claims_path, umask0):
    _sockets.Sockets().claim("web2", [(9090, "tcp")])
    assert (mode(claims_path.parent), mode(claims_path)) == (0o700, 0o600)
    assert _sockets.Sockets().claims() == {"web2": [[9090, "tcp"]]} and os.listdir(claims_path.parent) == ["host-ports.json"]


@needs_root
def test_port_claims_another_user_could_write_count_as_none(claims_path):
    _sockets.Sockets().claim("web2", [(9090, "tcp")])
    os.chown(claims_path, NOBODY, NOBODY)
    assert _sockets.Sockets().claims() == {}


@needs_root
def test_a_user_reading_state_is_told_to_run_as_root():
    base = tempfile.mkdtemp(prefix="netmodes-fs-")
    os.chmod(base, 0o755)
    try:
        _fs.owned_dir(os.path.join(base, "netmodes"), _fs.PRIVATE_DIR).close()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child becomes a user and tries to read root's state
            try:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                _fs.owned_dir(os.path.join(base, "netmodes"))
                os.write(write, b"read it")
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                os.write(write, ("%s %s" % (type(exc).__name__, exc)).encode())
            finally:
                os._exit(0)
        os.close(write)
        out = os.read(read, 4096).decode()
        os.waitpid(pid, 0)
        assert out.startswith("KernelError open %s/netmodes: permission denied" % base) and "run the module as root" in out, out
    finally:
        shutil.rmtree(base)


def test_only_whole_temporary_names_are_leftovers(tmp_path):
    for name in (".hosts.abcd1234.tmp", ".hosts.abcd1234.tmp\n", "x.hosts.abcd1234.tmp"):
        (tmp_path / name).write_text("x")
    with _fs.open_dir(str(tmp_path), str(tmp_path)) as directory:
        directory.remove_leftovers(".hosts.")
    assert sorted(os.listdir(tmp_path)) == [".hosts.abcd1234.tmp\n", "x.hosts.abcd1234.tmp"]
