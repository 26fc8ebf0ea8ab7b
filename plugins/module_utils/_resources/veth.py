# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The veth resource (module netmodes.linux.veth)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _links
from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._records import temp_name


class Veth(Resource):
    argument_spec = {
        "name": {"type": "str", "required": True},
        "peer": {"type": "str", "default": "eth0"},
        "netns": {"type": "str"},
        "bridge": {"type": "str"},
        "hairpin": {"type": "bool"},
        **_links.ENDPOINT_SPEC,
        "mtu": {"type": "int"},
        "mac": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }

    def desired(self):
        p = self.params
        gone = p["state"] == "absent"
        d = {"name": m.ifname(p["name"], "name", existing=gone), "peer": m.ifname(p["peer"], "peer", existing=gone), "state": p["state"],
             "netns": m.netns_name(p["netns"], "netns", existing=gone) if p["netns"] else None,
             "bridge": m.ifname(p["bridge"], "bridge") if p["bridge"] else None,
             "mtu": m.mtu(p["mtu"], "mtu"), "mac": m.mac(p["mac"], "mac") if p["mac"] else None,
             "hairpin": p["hairpin"]}
        if d["hairpin"] is not None and d["bridge"] is None:
            raise InvalidInput("hairpin: it is a flag of the host end as a bridge port; give bridge too", "hairpin")
        if d["netns"] is None and d["peer"] == d["name"]:
            raise InvalidInput("peer: both ends are in the host, so peer must differ from name", "peer")
        d.update(_links.endpoint_options(p))
        return d

    def read(self, desired):
        net, netns = self.adapters["netlink"], desired["netns"]
        netns_exists = netns is None or net.netns_inode(netns) is not None
        wants_bridge = desired["state"] == "present" and desired["bridge"]
        host = net.link(desired["name"], routes=False)
        joining = wants_bridge and (host is None or host.master != desired["bridge"])
        return {"host": host, "netns_exists": netns_exists,
                "peer": net.link(desired["peer"], netns) if netns_exists else None,
                "bridge": net.link(desired["bridge"], routes=False) if wants_bridge else None,
                # The ports of the bridge the host end is to join: it may have no room left.
                "ports": net.bridge_ports(desired["bridge"]) if joining else frozenset(),
                # A pair left half-made by an interrupted creation (see _netlink._add_link).
                "half": net.link(temp_name(desired["name"]), routes=False) if host is None else None}

    def plan(self, current, desired):
        name, host, obj = desired["name"], current["host"], "veth %s" % desired["name"]
        _links.require_ours(host, "veth", "veth")
        if desired["state"] == "absent":
            return [Op("delete", obj, before={"peer": desired["peer"]}, call=("netlink.link_delete", {"name": name}))] if host else []
        _links.check_netns(self, current["netns_exists"], desired["netns"])
        _links.check_bridge(self, desired["bridge"], current["bridge"])
        full = _links.bridge_full(desired["bridge"], len(current["ports"]), 1) if current["ports"] else None
        if full:
            raise Conflict("bridge: %s; plug this veth into another bridge" % full, "bridge")
        peer, netns, ops = current["peer"], desired["netns"], []
        if host is None:
            if peer is not None and _paired(current["half"], peer):
                peer = None  # the creation replaces the half-made pair, this peer with it
            if peer is not None:
                raise Conflict("peer: %s already exists in %s; choose another peer name"
                               % (desired["peer"], "sandbox " + netns if netns else "the host"), "peer")
            ops.append(Op("create", obj, after={"peer": desired["peer"], "netns": netns},
                          call=("netlink.link_add_veth", {"name": name, "peer": desired["peer"], "netns": netns})))
        elif not _paired(host, peer):
            raise Conflict("peer: veth %s exists but its peer is not %s in %s; remove it (state=absent) and re-run"
                           % (name, desired["peer"], "sandbox " + netns if netns else "the host"), "peer")
        pobj = "%s in %s" % (desired["peer"], "sandbox " + netns if netns else "host")
        ops += _links.plan_attrs(obj, name, None, _links.link_attrs(host),
                                 {"mtu": desired["mtu"], "master": desired["bridge"], "state": "up", "hairpin": desired["hairpin"]})
        return ops + _links.plan_endpoint(pobj, desired["peer"], netns, peer, desired,
                                          attrs={"mtu": desired["mtu"], "address": desired["mac"], "state": "up"})

    def result(self, current, desired):
        host, peer = current["host"], current["peer"]
        if host is None:
            return {"name": desired["name"], "exists": False}
        out = {"name": host.name, "exists": True, "mac": host.mac, "master": host.master}
        if peer is not None:
            out["peer"] = _links.describe_endpoint(peer)
        return out


def _paired(host, peer):
    """True when PEER is the other end of veth HOST (either may be None)."""
    return host is not None and peer is not None and peer.index == host.peer_index and peer.peer_index == host.index
