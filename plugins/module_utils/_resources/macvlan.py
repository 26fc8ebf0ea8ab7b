# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The macvlan resource (module netmodes.linux.macvlan): a sandbox on the physical segment.

A macvlan (or ipvlan) link hangs off a host link (the parent) and is born inside its sandbox;
without a sandbox it stays in the host, as the host shim: the host's own way to reach its
macvlan sandboxes, which traffic between a parent and its macvlans never gives.
"""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _links
from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound

# Each kind's modes, the first its default (Docker's).
MODES = {"macvlan": ("bridge", "private", "vepa", "passthru"), "ipvlan": ("l2", "l3", "l3s")}


class Macvlan(Resource):
    argument_spec = {
        "name": {"type": "str", "required": True},
        "parent": {"type": "str"},
        "kind": {"type": "str", "choices": list(MODES), "default": "macvlan"},
        "mode": {"type": "str", "choices": [mode for modes in MODES.values() for mode in modes]},
        "netns": {"type": "str"},
        **_links.ENDPOINT_SPEC,
        "mtu": {"type": "int"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    required_if = [("state", "present", ("parent",))]

    def desired(self):
        p = self.params
        kind = p["kind"]
        gone = p["state"] == "absent"
        d = {"name": m.ifname(p["name"], "name", existing=gone), "kind": kind, "state": p["state"], "mtu": m.mtu(p["mtu"], "mtu"),
             "netns": m.netns_name(p["netns"], "netns", existing=gone) if p["netns"] else None, "mode": p["mode"] or MODES[kind][0]}
        if p["state"] == "absent":
            return d
        if not p["parent"]:
            raise InvalidInput("parent: required with state=present (the host link to hang the %s off, e.g. eth0)" % kind, "parent")
        d["parent"] = m.ifname(p["parent"], "parent")
        if d["mode"] not in MODES[kind]:
            raise InvalidInput("mode: %s is not a mode of %s; use one of %s" % (d["mode"], kind, ", ".join(MODES[kind])), "mode")
        d.update(_links.endpoint_options(p))
        if d["netns"] is None and d["default"]:
            raise InvalidInput("gateway: a host shim (no netns) would take over the host's default route; give routes"
                               " to the sandboxes' addresses instead", "gateway")
        return d

    def read(self, desired):
        net, netns = self.adapters["netlink"], desired["netns"]
        exists = netns is None or net.netns_inode(netns) is not None
        link = net.link(desired["name"], netns) if exists else None
        # The host link it hangs off (a link in a sandbox names it by the host's index).
        current = {"netns_exists": exists, "link": link, "parent_name": net.link_names().get(link.peer_index) if link else None}
        if desired["state"] == "present":
            current["parent"] = net.link(desired["parent"], routes=False)
        return current

    def plan(self, current, desired):
        name, netns, link, kind = desired["name"], desired["netns"], current["link"], desired["kind"]
        obj = "%s %s%s" % (kind, name, " in sandbox %s" % netns if netns else "")
        if link is None or link.kind not in MODES or not link.ours:
            _links.require_ours(link, kind, kind)
        if desired["state"] == "absent":
            return [Op("delete", obj, before={"kind": link.kind}, call=("netlink.link_delete", {"name": name, "netns": netns}))] if link else []
        _links.check_netns(self, current["netns_exists"], netns)
        parent = current["parent"]
        if parent is None:
            self.missing(NotFound("parent: %s does not exist on the host; give the host interface on the segment (ip link shows them)"
                                  % desired["parent"], "parent"))
        elif parent.kind in MODES:
            raise Conflict("parent: %s is itself a %s; give the link it hangs off (the kernel would use that one)"
                           % (parent.name, parent.kind), "parent")
        spec = {"name": name, "parent": desired["parent"], "kind": kind, "mode": desired["mode"], "netns": netns}
        ops = []
        if link is None:
            ops.append(Op("create", obj, after={"parent": desired["parent"], "mode": desired["mode"]},
                          call=("netlink.link_add_macvlan", spec)))
        else:
            fixed = self._fixed(link, current["parent_name"], desired)
            if fixed:
                ops.append(Op("recreate", obj, before={f: have for f, (have, _want) in fixed.items()},
                              after={f: want for f, (_have, want) in fixed.items()}, call=("netlink.link_add_macvlan", dict(spec, replace=True))))
                link = None
        attrs = {"mtu": desired["mtu"], "state": "up"}
        if link is not None:
            ops += _links.plan_attrs(obj, name, netns, {"%s_mode" % kind: link.info["mode"]}, {"%s_mode" % kind: desired["mode"]})
        return ops + _links.plan_endpoint(obj, name, netns, link, desired, attrs=attrs)

    @staticmethod
    def _fixed(link, parent_name, desired):
        """{field: (have, want)} of what the kernel cannot change on the link: its kind, its parent,
        and whether a macvlan is in passthru mode."""
        out = {}
        if link.kind != desired["kind"]:
            out["kind"] = (link.kind, desired["kind"])
        if parent_name != desired["parent"]:
            out["parent"] = (parent_name, desired["parent"])
        if link.kind == desired["kind"] == "macvlan" and (link.info["mode"] == "passthru") != (desired["mode"] == "passthru"):
            out["mode"] = (link.info["mode"], desired["mode"])
        return out

    def result(self, current, desired):
        link = current["link"]
        if link is None:
            return {"name": desired["name"], "exists": False}
        out = _links.describe_endpoint(link)
        out.update(exists=True, kind=link.kind, mode=(link.info or {}).get("mode"), parent=current["parent_name"], netns=desired["netns"])
        return out
