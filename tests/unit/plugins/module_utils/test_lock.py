# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's lock: runs that change state take turns, read-only runs never create it, a run that
waits too long fails naming the holder."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netmodes.linux.plugins.module_utils import _lock, _runner
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Busy, Conflict
from ansible_collections.netmodes.linux.plugins.modules.net_info import NetInfo
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns


class Clock:
    """Time that passes only when the lock sleeps, so a 60 s timeout takes no time."""

    def __init__(self):
        self.now, self.sleeps = 0.0, 0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps += 1
        self.now += max(seconds, 0.001)


def test_an_exclusive_lock_names_its_holder_and_clears_it_on_release(lock_path, monkeypatch):
    monkeypatch.setattr(_lock.time, "time", lambda: 1764979200.75)  # the clock the lock reads, fixed
    with _lock.host_lock("netmodes.linux.sandboxes"):
        found = json.loads(lock_path.read_text())
        assert found == {"pid": os.getpid(), "module": "netmodes.linux.sandboxes", "since": 1764979200}
    assert lock_path.read_text() == ""


def test_a_second_run_times_out_naming_the_holder(lock_path):
    clock = Clock()
    with _lock.host_lock("netmodes.linux.networks"):
        with pytest.raises(Busy) as info:
            with _lock.host_lock("netmodes.linux.sandboxes", timeout=60, clock=clock, sleep=clock.sleep):
                pytest.fail("two runs held the lock at once")
    msg = info.value.msg
    assert msg.startswith("the host is busy: netmodes.linux.networks (pid %d, for " % os.getpid()), msg
    assert "did not finish within 60 s" in msg and "lock_timeout" in msg and _lock.TIMEOUT_ENV in msg
    assert info.value.field == "lock_timeout"
    assert 59.9 <= clock.now <= 60.5, "it waited the timeout, not more, not less"


def test_a_run_waits_for_the_holder_to_finish(lock_path):
    held, order = threading.Event(), []

    def first():
        with _lock.host_lock("first"):
            held.set()
            time.sleep(0.3)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    with _lock.host_lock("second", timeout=10):
        order.append("second runs")
    thread.join()
    assert order == ["first done", "second runs"]


def test_read_only_runs_share_the_lock_and_wait_for_a_writer(lock_path):
    clock = Clock()
    with _lock.host_lock("writer"):
        pass  # the file exists from now on
    with _lock.host_lock("net_info", exclusive=False), _lock.host_lock("check", exclusive=False, timeout=0):
        with pytest.raises(Busy, match="a read-only one"):
            with _lock.host_lock("writer", timeout=1, clock=clock, sleep=clock.sleep):
                pass
    with _lock.host_lock("writer"):
        with pytest.raises(Busy, match="writer"):
            with _lock.host_lock("net_info", exclusive=False, timeout=1, clock=clock, sleep=clock.sleep):
                pass


def test_a_read_only_run_never_creates_the_lock(lock_path):
    with _lock.host_lock("net_info", exclusive=False):
        pass
    assert not lock_path.exists() and not lock_path.parent.exists()


def test_a_killed_holder_leaves_no_stale_lock(lock_path):
    lock_path.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX);"
                               " f.write('{\"pid\": 1, \"module\": \"x\"}'); f.flush(); print('held', flush=True); time.sleep(60)",
                               str(lock_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        clock = Clock()
        with pytest.raises(Busy, match=r"x \(pid 1"):
            with _lock.host_lock("second", timeout=1, clock=clock, sleep=clock.sleep):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        with _lock.host_lock("second", timeout=5):
            assert json.loads(lock_path.read_text())["module"] == "second"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


# -- root's alone (issue 13, item 11) --------------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="acting as another user needs root")


def as_nobody(path):
    """In a child that became uid 65534: 'opened' if it could open PATH (and so flock it), else the error."""
    code = ("import os, sys\nos.setgid(65534); os.setuid(65534)\n"
            "try:\n    os.close(os.open(sys.argv[1], os.O_RDONLY)); print('opened')\nexcept OSError as e:\n    print(e.strerror)")
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def open_lock_path(monkeypatch):
    """A lock path whose parents any user can pass (unlike pytest's tmp_path), as /run is."""
    base = tempfile.mkdtemp(prefix="netmodes-lock-")
    os.chmod(base, 0o755)
    path = pathlib.Path(base) / "netmodes" / "lock"
    monkeypatch.setattr(_lock, "LOCK_PATH", str(path))
    yield path
    shutil.rmtree(base)


@needs_root
def test_the_lock_is_roots_alone_whatever_the_umask(open_lock_path):
    lock_path = open_lock_path
    old = os.umask(0)
    try:
        with _lock.host_lock("writer"):
            assert oct(lock_path.stat().st_mode & 0o777) == "0o600" and oct(lock_path.parent.stat().st_mode & 0o777) == "0o700"
    finally:
        os.umask(old)
    os.chmod(lock_path.parent, 0o755)  # even where the directory can be entered, the file cannot be opened
    assert as_nobody(lock_path) == "Permission denied"


def test_a_lock_file_with_a_wider_mode_is_narrowed(lock_path):
    lock_path.parent.mkdir(mode=0o700)
    lock_path.write_text("")
    lock_path.chmod(0o666)
    with _lock.host_lock("writer"):
        pass
    assert oct(lock_path.stat().st_mode & 0o777) == "0o600"


@needs_root
def test_a_lock_file_of_another_user_is_refused(lock_path):
    lock_path.parent.mkdir(mode=0o700)
    lock_path.write_text("")
    os.chown(lock_path, 65534, 65534)
    for exclusive in (True, False):
        with pytest.raises(Conflict, match=r"lock belongs to uid 65534 .* it is not the lock of netmodes.linux, which only root makes"):
            with _lock.host_lock("writer", exclusive=exclusive):
                pass


def test_a_link_at_the_lock_is_refused_not_followed(lock_path, tmp_path):
    (tmp_path / "elsewhere").write_text("keep\n")
    lock_path.parent.mkdir(mode=0o700)
    lock_path.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(Conflict, match="lock is a symbolic link"):
        with _lock.host_lock("writer"):
            pass
    assert (tmp_path / "elsewhere").read_text() == "keep\n"


# -- the runner takes it -------------------------------------------------------------------------

@pytest.fixture
def run(monkeypatch, capsys, kernel):
    monkeypatch.setattr(_runner, "Netlink", lambda: contextlib.nullcontext(kernel))

    def go(resource_class, **args):
        with patch_module_args(args), pytest.raises(SystemExit) as info:
            _runner.run_module(resource_class)
        return info.value.code, json.loads(capsys.readouterr().out)

    return go


@pytest.fixture
def seen(monkeypatch):
    """The (who, exclusive, timeout) of every lock the runner takes."""
    calls, real = [], _lock.host_lock

    def spy(who, exclusive=True, timeout=None, **kwargs):
        calls.append((who, exclusive, timeout))
        return real(who, exclusive, timeout, **kwargs)

    monkeypatch.setattr(_lock, "host_lock", spy)
    return calls


def test_the_runner_locks_a_change_exclusively_and_a_read_shared(run, seen, kernel, lock_path):
    assert run(Netns, name="web")[0] == 0
    assert run(Netns, name="db", _ansible_check_mode=True)[0] == 0
    assert run(NetInfo)[0] == 0
    assert [(exclusive, timeout) for _who, exclusive, timeout in seen] == [(True, 60), (False, 60), (False, 60)]
    assert lock_path.exists() and lock_path.read_text() == "", "the holder's name is cleared when it is done"


def test_lock_timeout_comes_from_the_option_or_the_environment(run, seen, monkeypatch):
    monkeypatch.setenv(_lock.TIMEOUT_ENV, "7")
    run(Netns, name="web")
    run(Netns, name="web", lock_timeout=3)
    assert [timeout for _who, _exclusive, timeout in seen] == [7, 3]


def test_the_runner_fails_naming_the_holder_and_changes_nothing(run, kernel, lock_path):
    with _lock.host_lock("netmodes.linux.sandboxes"):
        code, out = run(Netns, name="web", lock_timeout=0)
    assert code == 1 and out["error"] == "Busy" and out["field"] == "lock_timeout"
    assert "netmodes.linux.sandboxes (pid %d" % os.getpid() in out["msg"]
    assert kernel.calls == [] and "web" not in kernel.netns
