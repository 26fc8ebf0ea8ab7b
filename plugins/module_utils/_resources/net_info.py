# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The net_info resource (module netmodes.linux.net_info): the host's networks and sandboxes as
``_inspect`` reads them; read-only."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall, _inspect
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Resource
from ansible_collections.netmodes.linux.plugins.module_utils._model import ifname, netns_name


class NetInfo(Resource):
    read_only = True  # the runner takes the host's lock shared, never creating it
    argument_spec = {
        "netns": {"type": "list", "elements": "str"},
        "network": {"type": "list", "elements": "str"},
        "brief": {"type": "bool", "default": False},
        "firewall_backend": _firewall.BACKEND_OPTION,
    }

    def desired(self):
        p = self.params
        return {"netns": None if p["netns"] is None else [netns_name(v, "netns[%d]" % i) for i, v in enumerate(p["netns"])],
                "network": None if p["network"] is None else [ifname(v, "network[%d]" % i) for i, v in enumerate(p["network"])],
                "brief": bool(p.get("brief"))}

    def read(self, desired):
        return _inspect.read(self.adapters, desired["netns"], desired["network"], dns=not desired["brief"])

    def plan(self, current, desired):
        return []  # read-only: a run and a check-mode run are the same reads

    def result(self, current, desired):
        out, warnings = _inspect.report(current)
        self.warnings += warnings
        return _inspect.brief(out) if desired["brief"] else out
