# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sandbox's way to its resolver view (a step of the sandboxes batch; no module of its own)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Resource
from ansible_collections.netmodes.linux.plugins.module_utils._model import address, ifname, netns_name


class ViewRedirect(Resource):
    """The firewall's part of sandbox NETNS's resolver view (``_resolver``): its DNS queries to
    ADDRESS (the resolver its resolv.conf names), arriving on DEVICE from SOURCES (its addresses
    there), go to ADDRESS port PORT, where the view listens (``_firewall.ViewRedirect``). Absent,
    or without sources, its items go."""

    argument_spec = {
        "netns": {"type": "str", "required": True},
        "device": {"type": "str"},
        "address": {"type": "str"},
        "sources": {"type": "list", "elements": "str", "default": []},
        "port": {"type": "int"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "firewall_backend": _firewall.BACKEND_OPTION,
    }

    def desired(self):
        p = self.params
        present = p["state"] == "present" and p["sources"]
        out = {"netns": netns_name(p["netns"], "netns", existing=not present), "redirect": None}
        if present:
            out["redirect"] = _firewall.ViewRedirect(ifname(p["device"], "device"), tuple(address(v, "sources[%d]" % i) for i, v in enumerate(p["sources"])),
                                                     address(p["address"], "address"), p["port"])
        return out

    def read(self, desired):
        return {"firewall": self.adapters["firewall"].read()}

    def plan(self, current, desired):
        firewall, state, owner = self.adapters["firewall"], current["firewall"], _firewall.view_owner(desired["netns"])
        redirect = desired["redirect"]
        want = firewall.render(owner, [redirect]) if redirect else set()
        have = state.owned_by(owner)
        before = (redirect.describe() if want == have else "another view, or changed by hand") if have else None
        return _firewall.plan("sandbox %s resolver view" % desired["netns"], "redirects", firewall, state, owner,
                              want=want, before=before, after=redirect.describe() if redirect else None)

    def result(self, current, desired):
        return {"netns": desired["netns"]}
