#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: bridge
short_description: Manage the Linux bridge of a network (Docker's docker0 or a user-defined network)
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Creates, configures or removes a Linux bridge in the host's network namespace, tagged as
    created by netmodes.linux.
  - The bridge is brought up and IP forwarding is enabled on the bridge alone, through its
    per-interface sysctl (C(net.ipv4.conf.NAME.forwarding), and the IPv6 one when the bridge has an
    IPv6 address); the host-wide C(net.ipv4.ip_forward) switch is not touched.
  - Network policy (outbound masquerade, inter-container communication, internal networks,
    isolation between networks) is added to this module by the port publishing work, as further
    options next to these.
options:
  name:
    description: Bridge name (at most 15 bytes).
    type: str
    required: true
  state:
    description: V(present) creates or updates the bridge; V(absent) removes it if it is ours.
    type: str
    choices: [present, absent]
    default: present
  addresses:
    description:
      - Addresses of the bridge with prefix length, in CIDR form; the first of each IP version is
        the gateway of the network's members.
      - The list is the complete set; omit the option to leave addresses unmanaged.
    type: list
    elements: str
  mtu:
    description: MTU of the bridge. Omit to leave it to the kernel.
    type: int
  stp:
    description: Spanning tree protocol on the bridge. Omit to leave it as it is (off when created).
    type: bool
extends_documentation_fragment:
  - netmodes.linux.attributes
"""

EXAMPLES = r"""
- name: A user-defined network's bridge with its gateway address
  netmodes.linux.bridge:
    name: br0
    addresses: [172.18.0.1/16]
    mtu: 1500

- name: Remove it
  netmodes.linux.bridge:
    name: br0
    state: absent
"""

RETURN = r"""
name:
  description: Bridge name.
  returned: always
  type: str
exists:
  description: Whether the bridge exists after the run (before it, in check mode).
  returned: always
  type: bool
addresses:
  description: Addresses on the bridge.
  returned: when the bridge exists
  type: list
  elements: str
  sample: [172.18.0.1/16]
mtu:
  description: MTU of the bridge.
  returned: when the bridge exists
  type: int
mac:
  description: MAC address of the bridge.
  returned: when the bridge exists
  type: str
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils import _links, _sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._model import ifname, interfaces, jsonable, mtu
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


class Bridge(Resource):
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "addresses": {"type": "list", "elements": "str"},
        "mtu": {"type": "int"},
        "stp": {"type": "bool"},
    }

    def desired(self):
        p = self.params
        addresses = interfaces(p["addresses"], "addresses")
        families = {a.version for a in addresses or ()}
        forwarding = {"net/ipv%d/conf/%s/forwarding" % (v, p["name"]): "1" for v in sorted(families | {4})}
        return {"name": ifname(p["name"], "name"), "state": p["state"], "addresses": addresses,
                "mtu": mtu(p["mtu"], "mtu"), "stp": p["stp"], "forwarding": forwarding}

    def read(self, desired):
        sysctl = self.adapters["sysctl"]
        return {"link": self.adapters["netlink"].link(desired["name"]),
                "forwarding": {key: sysctl.get(key) for key in desired["forwarding"]}}

    def plan(self, current, desired):
        name, link, obj = desired["name"], current["link"], "bridge %s" % desired["name"]
        _links.require_ours(link, "bridge", "bridge")
        if desired["state"] == "absent":
            return [Op("delete", obj, before={"addresses": jsonable(link.addresses)},
                       call=("netlink.link_delete", {"name": name}))] if link else []
        ops = []
        if link is None:
            ops.append(Op("create", obj, after={"kind": "bridge"}, call=("netlink.link_add_bridge", {"name": name})))
        stp = None if desired["stp"] is None else int(desired["stp"])
        attrs = {"mtu": desired["mtu"], "br_stp_state": stp, "state": "up"}
        ops += _links.plan_attrs(obj, name, None, _links.link_attrs(link), attrs)
        ops += _links.plan_addresses(obj, name, None, link.addresses if link else frozenset(), desired["addresses"])
        ops += _sysctl.plan(obj, current["forwarding"], desired["forwarding"])
        return ops

    def result(self, current, desired):
        link = current["link"]
        if link is None:
            return {"name": desired["name"], "exists": False}
        return {"name": link.name, "exists": True, "addresses": jsonable(link.addresses), "mtu": link.mtu, "mac": link.mac}


def main():
    run_module(Bridge)


if __name__ == "__main__":
    main()
