# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netns resource (module netmodes.linux.netns)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import netns_name
from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import NETNS_DIR, PENDING


class Netns(Resource):
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "share_with": {"type": "str"},
    }

    def desired(self):
        p = self.params
        share_with = netns_name(p["share_with"], "share_with") if p["share_with"] else None
        if share_with == p["name"]:
            raise InvalidInput("share_with: a sandbox cannot share its own namespace; name another sandbox", "share_with")
        return {"name": netns_name(p["name"], "name", existing=p["state"] == "absent"), "state": p["state"], "share_with": share_with}

    def read(self, desired):
        net = self.adapters["netlink"]
        inode = net.netns_inode(desired["name"])
        return {
            "inode": inode,
            "record": net.netns_record(desired["name"]),
            "owned": net.netns_owned(desired["name"]) if inode else False,
            "target_inode": net.netns_inode(desired["share_with"]) if desired["share_with"] else None,
            "names": sorted(n for n, other in net.netns_inodes().items() if inode and other == inode),
        }

    def plan(self, current, desired):
        name, obj = desired["name"], "netns %s" % desired["name"]
        path = "%s/%s" % (NETNS_DIR, name)
        if desired["state"] == "absent":
            if current["inode"] is None:
                # What a removal or creation of ours that was interrupted leaves: our record, and
                # maybe a bare mount point file.
                leftover = current["record"] is not None
                return [Op("delete", obj, before={"path": path}, call=("netlink.netns_delete", {"name": name}))] if leftover else []
            if not current["owned"]:
                raise Conflict("name: sandbox %s was not created by netmodes.linux, so it is left alone; remove it with"
                               " 'ip netns del %s'" % (name, name), "name")
            return [Op("delete", obj, before={"path": path}, call=("netlink.netns_delete", {"name": name}))]
        target = desired["share_with"]
        if target and current["target_inode"] is None:
            self.missing(NotFound("share_with: sandbox %r does not exist; create it first" % target, "share_with"), "netns %s" % target)
        if current["inode"] is None:
            if target:
                return [Op("create", obj, after={"path": path, "share_with": target},
                           call=("netlink.netns_share", {"name": name, "target": target}))]
            return [Op("create", obj, after={"path": path}, call=("netlink.netns_create", {"name": name}))]
        if target and current["inode"] != current["target_inode"]:
            raise Conflict("share_with: sandbox %s already exists as a namespace of its own, not %s's; remove %s"
                           " (state=absent) before sharing %s" % (name, target, name, target), "share_with")
        if current["record"] == PENDING:  # made by a run of ours that was interrupted before the end
            return [Op("set", obj, "finished", False, True, call=("netlink.netns_finish", {"name": name, "loopback": not target}))]
        return []

    def result(self, current, desired):
        return {"sandbox": {"name": desired["name"], "path": "%s/%s" % (NETNS_DIR, desired["name"]),
                            "inode": current["inode"], "names": current["names"], "owned": current["owned"]}}
