# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who may reach a network's resolver on this host (the networks batch's; no module of its own)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Resource
from ansible_collections.netmodes.linux.plugins.module_utils._model import ifname, interfaces, jsonable


class ResolverFirewall(Resource):
    """The firewall's part of a network's resolver (``_resolver``): udp and tcp ``_resolver.PORT``
    on its addresses on this host admit the members of the network, arriving on DEVICE (its
    bridge, or its macvlan/ipvlan shim), and no one else (``_firewall.ResolverAccess``).

    ADDRESSES are interfaces: the resolver's address, with the prefix of the network's subnet in
    that family (its members' addresses). Absent, or without addresses, nothing is admitted and
    nothing is dropped: the items go."""

    argument_spec = {
        "device": {"type": "str", "required": True},
        "addresses": {"type": "list", "elements": "str", "default": []},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "firewall_backend": _firewall.BACKEND_OPTION,
    }

    def desired(self):
        p = self.params
        present = p["state"] == "present"
        return {"device": ifname(p["device"], "device", existing=not present),
                "addresses": sorted(interfaces(p["addresses"], "addresses") or (), key=lambda a: (a.version, a)) if present else []}

    def read(self, desired):
        return {"firewall": self.adapters["firewall"].read()}

    def plan(self, current, desired):
        firewall, state, owner = self.adapters["firewall"], current["firewall"], _firewall.resolver_owner(desired["device"])
        access = self._access(desired) if desired["addresses"] else None
        want = firewall.render(owner, [access]) if access else set()
        have = state.owned_by(owner)
        before = (access.describe() if want == have else "other addresses, or changed by hand") if have else None
        return _firewall.plan("resolver %s firewall" % desired["device"], "admits", firewall, state, owner,
                              want=want, before=before, after=access.describe() if access else None)

    @staticmethod
    def _access(desired):
        found = desired["addresses"]
        return _firewall.ResolverAccess(desired["device"], tuple(a.ip for a in found), tuple(a.network for a in found), _resolver.PORT)

    def result(self, current, desired):
        return {"device": desired["device"], "addresses": jsonable(desired["addresses"])}
