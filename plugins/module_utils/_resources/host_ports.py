# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host ports a host-mode sandbox claims (the sandboxes module's, and pruning's)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource


class HostPorts(Resource):
    """The ports a host-mode sandbox's service binds, claimed so that no other sandbox takes them."""

    argument_spec = {"name": {"type": "str", "required": True}, "ports": {"type": "list", "elements": "raw", "default": []}}

    def desired(self):
        return {"name": self.params["name"], "ports": sorted(list(p) for p in self.params["ports"])}

    def read(self, desired):
        return {"ports": sorted(self.adapters["sockets"].claims().get(desired["name"], []))}

    def plan(self, current, desired):
        if current["ports"] == desired["ports"]:
            return []
        obj = "host-mode %s" % desired["name"]
        call = ("sockets.claim", {"name": desired["name"], "ports": desired["ports"]})
        if not desired["ports"]:
            return [Op("delete", obj, before={"ports": current["ports"]}, call=call)]
        return [Op("set", obj, "ports", current["ports"] or None, desired["ports"], call)]
