# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action fleet_check: on the controller, the overlay MTUs the play's hosts registered,
compared; its warnings are Ansible's (the result's ``warnings``), and it reaches no host."""

from __future__ import annotations

import importlib
from unittest.mock import MagicMock

import pytest
from ansible.module_utils import _internal

from ansible_collections.netmodes.linux.plugins.module_utils._fleet import OverlayMtu

WHERE = "netmodes_networks[0] (ov0)"


@pytest.fixture
def action():
    """The action plugin's module. Importing Ansible's controller code switches module_utils into
    controller mode for the whole process (a module's warn() then prints instead of returning its
    warnings: test_runner would see none), so it is imported here and the mode given back after."""
    was = _internal.is_controller
    try:
        yield importlib.import_module("ansible_collections.netmodes.linux.plugins.action.fleet_check")
    finally:
        _internal.is_controller = was


def registered(mtu, link_mtu):
    return {"changed": False, "overlays": {"ov0": OverlayMtu(mtu, False, "eth0", link_mtu, 50).report(WHERE)}}


def run(action, hostvars, hosts, **args):
    task = importlib.import_module("ansible.playbook.task").Task()
    task.args = args
    connection = MagicMock()
    action = action.ActionModule(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    result = action.run(task_vars={"hostvars": hostvars, "ansible_play_hosts": hosts})
    assert not connection.method_calls, "nothing runs on a host"
    return result


def test_hosts_with_different_overlay_mtus_are_warned(action):
    hostvars = {"sim1": {"_sandboxes_result": registered(1450, 1500)}, "sim2": {"_sandboxes_result": registered(1350, 1400)}}
    result = run(action, hostvars, ["sim1", "sim2"])
    (warning,) = result["warnings"]
    assert warning.startswith(WHERE + ": the hosts of this overlay have different MTUs: 1450 on sim1 (eth0 1500 less 50), 1350 on sim2")
    assert not result["changed"] and set(result["overlays"]) == {"sim1", "sim2"}


def test_only_the_play_s_hosts_that_registered_overlays_are_compared(action):
    hostvars = {"sim1": {"converged": registered(1450, 1500)}, "sim2": {"converged": registered(1350, 1400)},
                "sim3": {"converged": {"skipped": True}}, "sim4": {}}
    assert "warnings" not in run(action, hostvars, ["sim1", "sim3", "sim4"], results="converged"), "sim2 left the play (failed, --limit)"
    assert action.overlays_of(hostvars, ["sim1", "sim3", "sim4", "sim5"], "converged") == {"sim1": hostvars["sim1"]["converged"]["overlays"]}
    assert "warnings" in run(action, hostvars, ["sim1", "sim2", "sim3"], results="converged")


def test_a_variable_no_host_registered_fails_naming_it(action):
    """A misspelt name would otherwise compare nothing, silently."""
    result = run(action, {"sim1": {"converged": registered(1450, 1500)}, "sim2": {}}, ["sim1", "sim2"], results="convergd")
    assert result["failed"] and result["applied"] == []
    assert result["msg"] == ("results: no host of the play has a variable convergd; name the variable that the task which converged the"
                             " networks registered its result in (register: NAME)")
