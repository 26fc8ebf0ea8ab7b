# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record that a namespace name is ours, once its namespace is gone (pruning's)."""

from __future__ import annotations

import os

from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._model import netns_name
from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import OWNED_DIR


class StaleMarker(Resource):
    """The record that a namespace name is ours, once the namespace it recorded is gone."""

    argument_spec = {"name": {"type": "str", "required": True}}

    def desired(self):
        return {"name": netns_name(self.params["name"], "name", existing=True)}

    def read(self, desired):
        net = self.adapters["netlink"]
        return {"stale": desired["name"] in net.owned_markers() and not net.netns_owned(desired["name"])}

    def plan(self, current, desired):
        if not current["stale"]:
            return []
        name = desired["name"]
        return [Op("delete", "netns marker %s" % name, before={"path": os.path.join(OWNED_DIR, name)},
                   call=("netlink.netns_forget", {"name": name}))]
