# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner is where errors become fail_json and where a missing pyroute2 is reported."""

from __future__ import annotations

import contextlib
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netmodes.linux.plugins.module_utils import _adapters, _runner
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns
from ansible_collections.netmodes.linux.plugins.modules.veth import Veth


@pytest.fixture
def run(monkeypatch, capsys, kernel, sysctl):
    monkeypatch.setattr(_runner, "Netlink", lambda: contextlib.nullcontext(kernel))
    monkeypatch.setattr(_adapters, "Sysctl", lambda: sysctl)

    def go(resource_class, **args):
        with patch_module_args(args), pytest.raises(SystemExit) as info:
            _runner.run_module(resource_class)
        return info.value.code, json.loads(capsys.readouterr().out)

    return go


def test_success_exits_with_the_result(run, kernel):
    code, out = run(Netns, name="web")
    assert code == 0 and out["changed"] and out["sandbox"]["name"] == "web"
    assert "web" in kernel.netns


def test_check_mode_is_honoured(run, kernel):
    code, out = run(Netns, name="web", _ansible_check_mode=True)
    assert code == 0 and out["changed"] and kernel.calls == []


def test_errors_become_fail_json_with_field_and_class(run, kernel):
    code, out = run(Veth, name="veth-with-a-long-name", netns="web")
    assert code == 1 and out["failed"]
    assert out["msg"].startswith("name: interface name 'veth-with-a-long-name' is 21 bytes")
    assert out["field"] == "name" and out["error"] == "InvalidInput" and out["applied"] == []
    assert kernel.calls == []


def test_missing_pyroute2_is_reported_with_missing_required_lib(run, monkeypatch):
    monkeypatch.setattr(_runner, "HAS_PYROUTE2", False)
    monkeypatch.setattr(_runner, "PYROUTE2_IMPORT_ERROR", "ImportError: No module named 'pyroute2'")
    code, out = run(Netns, name="web")
    assert code == 1
    assert "Failed to import the required Python library (pyroute2>=0.9)" in out["msg"]


def test_warnings_reach_ansible(run):
    code, out = run(Netns, name="web", share_with="db", _ansible_check_mode=True)
    assert code == 0 and out["changed"]
    # ansible-core 2.19 wraps warnings in structured records; older releases return plain strings.
    assert "sandbox 'db' does not exist" in json.dumps(out["warnings"])
