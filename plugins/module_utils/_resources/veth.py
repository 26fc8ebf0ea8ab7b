# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The veth resource (module netmodes.linux.veth)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _links
from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound


class Veth(Resource):
    argument_spec = {
        "name": {"type": "str", "required": True},
        "peer": {"type": "str", "default": "eth0"},
        "netns": {"type": "str"},
        "bridge": {"type": "str"},
        "addresses": {"type": "list", "elements": "str"},
        "gateway": {"type": "str"},
        "routes": {"type": "list", "elements": "dict"},
        "mtu": {"type": "int"},
        "mac": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }

    def desired(self):
        p = self.params
        d = {"name": m.ifname(p["name"], "name"), "peer": m.ifname(p["peer"], "peer"), "state": p["state"],
             "netns": m.netns_name(p["netns"], "netns") if p["netns"] else None,
             "bridge": m.ifname(p["bridge"], "bridge") if p["bridge"] else None,
             "addresses": m.interfaces(p["addresses"], "addresses"), "mtu": m.mtu(p["mtu"], "mtu"),
             "mac": m.mac(p["mac"], "mac") if p["mac"] else None}
        if d["netns"] is None and d["peer"] == d["name"]:
            raise InvalidInput("peer: both ends are in the host, so peer must differ from name", "peer")
        gateway = m.address(p["gateway"], "gateway") if p["gateway"] else None
        if gateway and d["addresses"] is not None and not any(gateway in a.network for a in d["addresses"]):
            raise InvalidInput("gateway: %s is not inside any subnet of addresses (%s); pick an address of"
                               " the bridge's subnet" % (gateway, ", ".join(map(str, sorted(d["addresses"], key=str)))), "gateway")
        routes = p["routes"]
        d["routes"] = None if routes is None else {m.route(r, "routes[%d]" % i) for i, r in enumerate(routes)}
        d["default"] = {m.default_route(gateway)} if gateway else set()
        return d

    def read(self, desired):
        net, netns = self.adapters["netlink"], desired["netns"]
        netns_exists = netns is None or net.netns_inode(netns) is not None
        wants_bridge = desired["state"] == "present" and desired["bridge"]
        return {"host": net.link(desired["name"], routes=False), "netns_exists": netns_exists,
                "peer": net.link(desired["peer"], netns) if netns_exists else None,
                "bridge": net.link(desired["bridge"], routes=False) if wants_bridge else None}

    def plan(self, current, desired):
        name, host, obj = desired["name"], current["host"], "veth %s" % desired["name"]
        _links.require_ours(host, "veth", "veth")
        if desired["state"] == "absent":
            return [Op("delete", obj, before={"peer": desired["peer"]}, call=("netlink.link_delete", {"name": name}))] if host else []
        self._check_references(current, desired)
        peer, netns, ops = current["peer"], desired["netns"], []
        if host is None:
            if peer is not None:
                raise Conflict("peer: %s already exists in %s; choose another peer name"
                               % (desired["peer"], "sandbox " + netns if netns else "the host"), "peer")
            ops.append(Op("create", obj, after={"peer": desired["peer"], "netns": netns},
                          call=("netlink.link_add_veth", {"name": name, "peer": desired["peer"], "netns": netns})))
        elif peer is None or peer.index != host.peer_index or peer.peer_index != host.index:
            raise Conflict("peer: veth %s exists but its peer is not %s in %s; remove it (state=absent) and re-run"
                           % (name, desired["peer"], "sandbox " + netns if netns else "the host"), "peer")
        pobj = "%s in %s" % (desired["peer"], "sandbox " + netns if netns else "host")
        ops += _links.plan_attrs(obj, name, None, _links.link_attrs(host),
                                 {"mtu": desired["mtu"], "master": desired["bridge"], "state": "up"})
        ops += _links.plan_attrs(pobj, desired["peer"], netns, _links.link_attrs(peer),
                                 {"mtu": desired["mtu"], "address": desired["mac"], "state": "up"})
        ops += _links.plan_addresses(pobj, desired["peer"], netns, peer.addresses if peer else frozenset(), desired["addresses"])
        have_routes = peer.routes if peer else frozenset()
        if desired["routes"] is None:  # only the default route of `gateway` is managed
            if desired["default"]:
                have = frozenset(r for r in have_routes if r.dst.prefixlen == 0)
                ops += _links.plan_routes(pobj, desired["peer"], netns, have, frozenset(desired["default"]))
        else:
            ops += _links.plan_routes(pobj, desired["peer"], netns, have_routes, frozenset(desired["routes"] | desired["default"]))
        return ops

    def _check_references(self, current, desired):
        if not current["netns_exists"]:
            self.missing(NotFound("netns: sandbox %r does not exist; create it with netmodes.linux.netns first" % desired["netns"], "netns"))
        bridge = current["bridge"]
        if desired["bridge"] and bridge is None:
            self.missing(NotFound("bridge: %s does not exist; create it with netmodes.linux.bridge first" % desired["bridge"], "bridge"))
        if bridge is not None and bridge.kind != "bridge":
            raise Conflict("bridge: %s is a %s link, not a bridge; name a bridge (netmodes.linux.bridge makes one)"
                           % (bridge.name, bridge.kind or "plain"), "bridge")

    def result(self, current, desired):
        host, peer = current["host"], current["peer"]
        if host is None:
            return {"name": desired["name"], "exists": False}
        out = {"name": host.name, "exists": True, "mac": host.mac, "master": host.master}
        if peer is not None:
            out["peer"] = {"name": peer.name, "mac": peer.mac, "mtu": peer.mtu,
                           "addresses": m.jsonable(peer.addresses), "routes": m.jsonable(peer.routes)}
        return out
