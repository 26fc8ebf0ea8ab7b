# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A resolver view's own port in the firewall (a step of the sandboxes batch; no module of its own)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Resource
from ansible_collections.netmodes.linux.plugins.module_utils._model import address


class ViewPort(Resource):
    """Resolver view VIEW's PORT on ADDRESSES (where it listens) is dropped but for what was
    redirected there (``_firewall.ViewPort``). Absent, or without addresses, its items go."""

    argument_spec = {
        "view": {"type": "str", "required": True},
        "addresses": {"type": "list", "elements": "str", "default": []},
        "port": {"type": "int"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "firewall_backend": _firewall.BACKEND_OPTION,
    }

    def desired(self):
        p = self.params
        present = p["state"] == "present" and p["addresses"]
        found = tuple(address(v, "addresses[%d]" % i) for i, v in enumerate(p["addresses"])) if present else ()
        return {"view": p["view"], "port": _firewall.ViewPort(found, p["port"]) if present else None}

    def read(self, desired):
        return {"firewall": self.adapters["firewall"].read()}

    def plan(self, current, desired):
        firewall, state, owner = self.adapters["firewall"], current["firewall"], _firewall.view_port_owner(desired["view"])
        port = desired["port"]
        want = firewall.render(owner, [port]) if port else set()
        have = state.owned_by(owner)
        before = (port.describe() if want == have else "other addresses, or changed by hand") if have else None
        return _firewall.plan("resolver %s firewall" % desired["view"], "closes", firewall, state, owner,
                              want=want, before=before, after=port.describe() if port else None)

    def result(self, current, desired):
        return {"view": desired["view"]}
