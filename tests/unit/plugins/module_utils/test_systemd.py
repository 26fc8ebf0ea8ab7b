# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemd adapter (_systemd.py): the drop-in is written or removed before systemd reloads,
and the unit restarted after it; an unwired unit that does not run is not started."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _systemd


@pytest.fixture
def calls(monkeypatch):
    out = []

    def systemctl(*args, check=True):
        out.append(("systemctl",) + args)
        active = args[:2] == ("is-active", "--quiet") and "up.service" in args
        return subprocess.CompletedProcess(args, 0 if active or args[0] != "is-active" else 3, "LoadState=loaded\nActiveState=active\nMainPID=7\n", "")

    monkeypatch.setattr(_systemd, "_systemctl", systemctl)
    monkeypatch.setattr(_systemd.Files, "write_host_file", staticmethod(lambda name, content: out.append(("write", name))))
    monkeypatch.setattr(_systemd.Files, "remove_host_file", staticmethod(lambda name, directory=False: out.append(("remove", name, directory))))
    return out


def test_a_written_drop_in_is_reloaded_then_its_unit_restarted(calls):
    _systemd.Systemd.wire("up.service", "/etc/systemd/system/up.service.d/netmodes.conf", b"x")
    assert calls == [("write", "/etc/systemd/system/up.service.d/netmodes.conf"), ("systemctl", "daemon-reload"),
                     ("systemctl", "restart", "--", "up.service")]


@pytest.mark.parametrize("unit, restarted", [("up.service", True), ("down.service", False)])
def test_a_removed_drop_in_restarts_its_unit_only_when_it_runs(calls, unit, restarted):
    _systemd.Systemd.wire(unit, "/etc/systemd/system/%s.d/netmodes.conf" % unit, None, start=False)
    assert calls[0] == ("remove", "/etc/systemd/system/%s.d/netmodes.conf" % unit, True), "its directory too, once empty"
    assert (("systemctl", "try-restart", "--", unit) in calls) is restarted


def test_a_unit_s_state_is_read_from_systemctl_show(calls):
    assert _systemd.Systemd.unit("up.service") == {"load": "loaded", "active": "active", "pid": 7}
    assert calls == [("systemctl", "show", "-p", "LoadState,ActiveState,MainPID", "--", "up.service")]
