# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemd unit template of the resolvers (``_resolver.UNIT_PATH``, its text
``_resolver.UNIT_TEMPLATE``), where they run as systemd units: written before the first resolver
starts, removed when the last one is gone (a step of the sandboxes and networks batches). Where
no systemd runs there is none, and nothing is planned."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource


class ResolverUnit(Resource):
    argument_spec = {
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }

    def desired(self):
        return {"state": self.params["state"]}

    def read(self, desired):
        units, text = self.adapters["resolver"].unit()
        return {"units": units, "text": text}

    def plan(self, current, desired):
        if not current["units"]:
            return []
        obj, text = "file %s" % _resolver.UNIT_PATH, current["text"]
        if desired["state"] == "absent":
            return [Op("delete", obj, before={"content": text}, call=("resolver.remove_unit", {}))] if text is not None else []
        if text is None:
            return [Op("create", obj, after={"content": _resolver.UNIT_TEMPLATE}, call=("resolver.write_unit", {}))]
        if text != _resolver.UNIT_TEMPLATE:
            return [Op("set", obj, "content", text, _resolver.UNIT_TEMPLATE, call=("resolver.write_unit", {}))]
        return []
