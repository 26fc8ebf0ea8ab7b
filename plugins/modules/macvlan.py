#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: macvlan
short_description: Put a sandbox on the physical segment with a macvlan or ipvlan link, or give the host a shim
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Manages a macvlan (or ipvlan) link on the host link O(parent), tagged as created by
    netmodes.linux. With O(netns) the link is born inside that sandbox, where it carries the
    sandbox's addresses and routes, so the sandbox sits on the parent's segment with an address
    of its own, as Docker's macvlan and ipvlan drivers do.
  - Without O(netns) the link stays in the host, as a B(host shim). A host cannot reach its own
    macvlan sandboxes through the parent (the kernel does not pass traffic between a parent and
    its macvlans); a macvlan of its own in bridge mode, with an address and O(routes) to the
    sandboxes, can.
  - The kernel cannot change the kind, the parent, or a macvlan's switch into or out of
    V(passthru) mode on an existing link; such a change is planned as one V(recreate) operation
    (delete and create again). Other modes change in place.
options:
  name:
    description: Link name (at most 15 bytes of letters, digits, C(_), C(.) and C(-), starting with a letter or digit), inside the sandbox or in the host.
    type: str
    required: true
  parent:
    description: The host link to hang the link off (e.g. C(eth0)). Required with O(state=present).
    type: str
  kind:
    description: V(macvlan) (a MAC address of its own) or V(ipvlan) (the parent's MAC, an address of its own).
    type: str
    choices: [macvlan, ipvlan]
    default: macvlan
  mode:
    description:
      - For V(macvlan), V(bridge) (the default, Docker's; sibling links reach each other inside
        the host), V(private), V(vepa) or V(passthru).
      - For V(ipvlan), V(l2) (the default, Docker's), V(l3) or V(l3s).
    type: str
    choices: [bridge, private, vepa, passthru, l2, l3, l3s]
  netns:
    description: Sandbox to put the link in. Omit for a host shim.
    type: str
  addresses:
    description: Complete list of the link's addresses in CIDR form. Omit to leave them unmanaged.
    type: list
    elements: str
  gateway:
    description:
      - Default gateway of the sandbox (the segment's router), routed through the link, at most one
        of each IP version (a string is one). Each must lie in the subnet of one of O(addresses)
        when those are given. Not for a host shim.
      - An empty list means no default route through the link (of either IP version); omit it to
        leave default routes unmanaged.
    type: list
    elements: str
  ipv6:
    description:
      - IPv6 on the link - V(on) without router advertisements, V(off) switched off (as
        M(netmodes.linux.veth) does). Omit to leave it to the kernel.
    type: str
    choices: ["on", "off"]
  routes:
    description:
      - Complete list of further static routes through the link, each with C(dst) (a CIDR or
        V(default)) and optional C(via) and C(metric). Omit to leave them unmanaged; the default
        route of O(gateway) is managed either way.
      - A host shim needs a route to each sandbox's address (or subnet) without C(via), so that
        the host sends to them through the shim rather than the parent.
    type: list
    elements: dict
  mtu:
    description: MTU of the link, at most the parent's. Omit to leave it to the kernel (the parent's).
    type: int
  state:
    description: V(present) creates or updates the link; V(absent) removes it, if it is ours.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - netmodes.linux.attributes
"""

EXAMPLES = r"""
- name: A sandbox on the segment of eth0 (Docker's macvlan driver, bridge mode)
  netmodes.linux.macvlan:
    name: eth0
    parent: eth0
    netns: web
    addresses: [10.231.1.101/24]
    gateway: 10.231.1.1

- name: The host shim, so that this host reaches web
  netmodes.linux.macvlan:
    name: mv-shim
    parent: eth0
    addresses: [10.231.1.201/32]
    routes:
      - {dst: 10.231.1.101/32}

- name: An ipvlan sandbox instead (Docker's ipvlan driver, l2 mode)
  netmodes.linux.macvlan:
    name: eth0
    kind: ipvlan
    mode: l2
    parent: eth0
    netns: db
    addresses: [10.231.1.102/24]

- name: Remove the shim
  netmodes.linux.macvlan:
    name: mv-shim
    state: absent
"""

RETURN = r"""
name:
  description: Link name.
  returned: always
  type: str
exists:
  description: Whether the link exists after the run (before it, in check mode).
  returned: always
  type: bool
kind:
  description: V(macvlan) or V(ipvlan).
  returned: when the link exists
  type: str
mode:
  description: Mode of the link.
  returned: when the link exists
  type: str
  sample: bridge
parent:
  description: The host link it hangs off.
  returned: when the link exists
  type: str
  sample: eth0
netns:
  description: Sandbox that holds the link, or null for a host shim.
  returned: when the link exists
  type: str
mac:
  description: MAC address of the link.
  returned: when the link exists
  type: str
mtu:
  description: MTU of the link.
  returned: when the link exists
  type: int
addresses:
  description: Addresses of the link.
  returned: when the link exists
  type: list
  elements: str
  sample: [10.231.1.101/24]
routes:
  description: Static routes through the link.
  returned: when the link exists
  type: list
  elements: str
  sample: [default via 10.231.1.1]
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._resources.macvlan import Macvlan
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(Macvlan)


if __name__ == "__main__":
    main()
