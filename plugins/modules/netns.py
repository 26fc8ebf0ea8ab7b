#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: netns
short_description: Manage sandboxes (named network namespaces)
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Creates or removes a named network namespace C(/run/netns/NAME), the sandbox a service runs
    in with C(ip netns exec NAME ...) or systemd's C(NetworkNamespacePath=).
  - A new sandbox has only C(lo), and it is up.
  - With O(share_with) the name becomes a second name of an existing sandbox (Docker's
    C(--network container:NAME)); both names then open the same namespace (same inode), and
    removing either name leaves the other working.
options:
  name:
    description: Sandbox name; the namespace is mounted at C(/run/netns/NAME).
    type: str
    required: true
  state:
    description:
      - V(present) creates the sandbox when it does not exist. An existing namespace of that name
        which the collection did not create is left as it is.
      - V(absent) removes the name. Only names created by this collection are removed.
    type: str
    choices: [present, absent]
    default: present
  share_with:
    description:
      - Name of an existing sandbox whose namespace O(name) should share (container mode).
      - Fails when O(name) already exists as a different namespace.
    type: str
extends_documentation_fragment:
  - netmodes.linux.attributes
"""

EXAMPLES = r"""
- name: Sandbox for a service
  netmodes.linux.netns:
    name: web

- name: Sidecar in web's network namespace (docker run --network container:web)
  netmodes.linux.netns:
    name: web-sidecar
    share_with: web

- name: Remove the sandbox name
  netmodes.linux.netns:
    name: web
    state: absent
"""

RETURN = r"""
sandbox:
  description: The sandbox after the run (before it, in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Sandbox name.
      type: str
      sample: web
    path:
      description: Path of the namespace mount.
      type: str
      sample: /run/netns/web
    inode:
      description: Inode of the network namespace; equal inodes mean one namespace. Null when it does not exist.
      type: int
      sample: 4026532601
    names:
      description: Every sandbox name that opens this namespace (more than one in container mode).
      type: list
      elements: str
      sample: [web, web-sidecar]
    owned:
      description: Whether the name was created by this collection.
      type: bool
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
  sample: [{"action": "create", "object": "netns web", "after": {"path": "/run/netns/web"}}]
"""

from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import netns_name
from ansible_collections.netmodes.linux.plugins.module_utils._netlink import NETNS_DIR
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


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
        return {"name": netns_name(p["name"], "name"), "state": p["state"], "share_with": share_with}

    def read(self, desired):
        net = self.adapters["netlink"]
        inode = net.netns_inode(desired["name"])
        return {
            "inode": inode,
            "owned": net.netns_owned(desired["name"]) if inode else False,
            "target_inode": net.netns_inode(desired["share_with"]) if desired["share_with"] else None,
            "names": [n for n in net.netns_names() if inode and net.netns_inode(n) == inode],
        }

    def plan(self, current, desired):
        name, obj = desired["name"], "netns %s" % desired["name"]
        path = "%s/%s" % (NETNS_DIR, name)
        if desired["state"] == "absent":
            if current["inode"] is None:
                return []
            if not current["owned"]:
                raise Conflict("sandbox %s was not created by netmodes.linux; remove it with 'ip netns del %s'" % (name, name))
            return [Op("delete", obj, before={"path": path}, call=("netlink.netns_delete", {"name": name}))]
        target = desired["share_with"]
        if target and current["target_inode"] is None:
            self.missing(NotFound("share_with: sandbox %r does not exist; create it first" % target, "share_with"))
        if current["inode"] is None:
            if target:
                return [Op("create", obj, after={"path": path, "share_with": target},
                           call=("netlink.netns_share", {"name": name, "target": target}))]
            return [Op("create", obj, after={"path": path}, call=("netlink.netns_create", {"name": name}))]
        if target and current["inode"] != current["target_inode"]:
            raise Conflict("sandbox %s already exists as a namespace of its own, not %s's; remove %s"
                           " (state=absent) before sharing %s" % (name, target, name, target), "share_with")
        return []

    def result(self, current, desired):
        return {"sandbox": {"name": desired["name"], "path": "%s/%s" % (NETNS_DIR, desired["name"]),
                            "inode": current["inode"], "names": current["names"], "owned": current["owned"]}}


def main():
    run_module(Netns)


if __name__ == "__main__":
    main()
