# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action netmodes.linux.fleet_check: on the controller, what no host can check alone, since
it needs the other hosts' values (see plugins/modules/fleet_check.py for its documentation)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.netmodes.linux.plugins.module_utils._fleet import mtu_mismatches

ARGUMENT_SPEC = {"results": {"type": "str", "default": "_sandboxes_result"}}


class ActionModule(ActionBase):
    """Compare the overlay MTUs the play's hosts reported; nothing runs on any host."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validated, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        task_vars, name = task_vars or {}, args["results"]
        hostvars, hosts = task_vars.get("hostvars") or {}, task_vars.get("ansible_play_hosts") or []
        if not any(name in hostvars[host] for host in hosts if host in hostvars):   # a misspelt name would compare nothing, silently
            result.update(failed=True, changed=False, applied=[],
                          msg="results: no host of the play has a variable %s; name the variable that the task which converged the"
                              " networks registered its result in (register: NAME)" % name)
            return result
        reports = overlays_of(hostvars, hosts, name)
        result.update(changed=False, overlays=reports)
        warnings = mtu_mismatches(reports)
        if warnings:
            result["warnings"] = warnings
        return result


def overlays_of(hostvars, hosts, variable):
    """{host: its module result's ``overlays``} of HOSTS that registered VARIABLE with them (a host
    that skipped or failed the task has none)."""
    out = {}
    for host in hosts:
        registered = hostvars[host].get(variable) if host in hostvars else None
        overlays = registered.get("overlays") if isinstance(registered, Mapping) else None
        if isinstance(overlays, Mapping) and overlays:
            out[host] = {name: dict(found) for name, found in overlays.items()}
    return out
