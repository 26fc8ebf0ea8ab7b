# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolvers' adapter (_resolver_service): its files, how a supervised resolver is known, and
its backends held to the Lifecycle protocol (the unit tests' fake to the adapter)."""

from __future__ import annotations

import inspect
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _resolver_service as service
from ansible_collections.netmodes.linux.plugins.module_utils._engine import converge
from ansible_collections.netmodes.linux.plugins.module_utils._resources.resolver import Resolver


def _public(cls):
    return {name: inspect.signature(f) for name, f in vars(cls).items() if callable(f) and not name.startswith("_")}


@pytest.mark.parametrize("backend", [service.Supervised, service.Systemd])
def test_every_backend_has_the_lifecycle_s_methods_and_signatures(backend):
    wanted = _public(service.Lifecycle)
    assert {name: sig for name, sig in _public(backend).items() if name in wanted} == wanted


def test_the_unit_tests_fake_has_the_adapter_s_methods_and_signatures(resolvers):
    found = _public(type(resolvers))
    assert {name: sig for name, sig in _public(service.Resolvers).items() if name != "lifecycle"} == \
        {name: found.get(name) for name in _public(service.Resolvers) if name != "lifecycle"}


class Stopped:
    def running(self, network):
        return None

    def stop(self, network):
        pass


def test_files_are_public_written_whole_and_removed_with_their_directory(tmp_path):
    root = tmp_path / "resolvers"
    adapter = service.Resolvers(Stopped(), root=str(root))
    assert adapter.read("front") == {"config": None, "hosts": None, "users": None, "running": None, "directory": False}
    assert adapter.networks() == []
    adapter.write("front", config="port=53\n", hosts="10.231.150.2\tweb\n")
    assert adapter.read("front") == {"config": "port=53\n", "hosts": "10.231.150.2\tweb\n", "users": None, "running": None,
                                     "directory": True}
    assert os.listdir(root / "front" / "hosts") == ["front"], "no temporary file is ever left where dnsmasq watches"
    for path, mode in ((root, 0o755), (root / "front", 0o755), (root / "front" / "hosts", 0o755),
                       (root / "front" / "dnsmasq.conf", 0o644), (root / "front" / "hosts" / "front", 0o644)):
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, "dnsmasq reads them as nobody: %s" % path
    adapter.write("front", hosts="10.231.150.3\tdb\n")
    assert adapter.read("front")["config"] == "port=53\n", "a hosts file alone leaves the config"
    assert adapter.networks() == ["front"]
    adapter.write("back", config="port=53\n")
    adapter.remove("front")
    assert adapter.networks() == ["back"]
    adapter.remove("back")
    assert adapter.networks() == [] and not root.exists(), "the last one leaves nothing"


@pytest.mark.parametrize("left", [["dnsmasq.pid"], []], ids=["a-pid-file", "empty"])
def test_what_a_removal_killed_midway_leaves_is_read_and_removed_by_the_next_run(tmp_path, left):
    """The config goes last, so a removal killed before it leaves a resolver the next run still
    knows by its config; killed after it, a directory holding a pid file, or nothing: that too is a
    resolver to remove, never a leftover no run sees."""
    root = tmp_path / "resolvers"
    adapter = service.Resolvers(Stopped(), root=str(root))
    adapter.write("back", config="port=53\n", hosts="10.231.150.2\tdb\n")
    (root / "back" / "dnsmasq.pid").write_text("4242\n")
    unlinked = []
    real_unlink = service._fs.Dir.unlink

    def record(where, name):
        unlinked.append(name)
        real_unlink(where, name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service._fs.Dir, "unlink", record)
        adapter.remove("back")
    assert unlinked[-1] == "dnsmasq.conf", "the config is the last file to go"
    (root / "back").mkdir(parents=True)
    for name in left:
        (root / "back" / name).write_text("4242\n")
    step = Resolver(Resolver.params_with(network="back", state="absent"), {"resolver": adapter})
    assert adapter.read("back")["directory"] is True and adapter.read("back")["config"] is None
    assert [op.call[0] for op in step.plan(step.read(step.desired()), step.desired())] == ["resolver.remove"]
    converge(step)
    assert not root.exists() and step.plan(step.read(step.desired()), step.desired()) == [], "nothing left, nothing to do"


def test_a_supervised_resolver_is_known_by_its_pid_file_and_command_line_never_by_name(tmp_path):
    root = tmp_path / "resolvers"
    (root / "front").mkdir(parents=True)
    supervised = service.Supervised(root=str(root))
    conf = "--conf-file=%s" % (root / "front" / "dnsmasq.conf")
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", conf])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", conf + ".other"])
    try:
        for proc in (ours, other):   # Popen returns after the fork: the command line is the child's once it has exec'd
            deadline = time.monotonic() + 10
            while conf not in Path("/proc/%d/cmdline" % proc.pid).read_bytes().decode() and time.monotonic() < deadline:
                time.sleep(0.01)
        pid_file = root / "front" / "dnsmasq.pid"
        assert supervised.running("front") is None, "no pid file"
        pid_file.write_text("%d\n" % other.pid)
        assert supervised.running("front") is None, "a process whose command line names another config"
        pid_file.write_text("%d\n" % ours.pid)
        assert supervised.running("front") == ours.pid
        supervised.stop("front")
        assert ours.wait(timeout=5) == -15 and supervised.running("front") is None
        assert other.poll() is None, "only ours is stopped"
    finally:
        for proc in (ours, other):
            proc.kill()
            proc.wait()


def test_a_failing_start_reports_dnsmasq_s_error(tmp_path):
    supervised = service.Supervised(root=str(tmp_path), binary="/bin/false")
    with pytest.raises(service.KernelError, match="starting the resolver of network front failed"):
        supervised.start("front")
    missing = service.Supervised(root=str(tmp_path), binary=str(tmp_path / "no-dnsmasq"))
    with pytest.raises(service.KernelError, match="dnsmasq-base"):
        missing.start("front")
