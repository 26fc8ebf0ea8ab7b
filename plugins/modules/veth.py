#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: veth
short_description: Plug a sandbox into a bridge with a veth pair
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Manages a veth pair whose host end O(name) stays in the host (optionally enslaved to
    O(bridge)) and whose peer end O(peer) lives in the sandbox O(netns), where it carries the
    sandbox's addresses and routes. This is the cable Docker's bridge driver gives a container.
  - The peer is created directly inside the sandbox, so a peer called C(eth0) never clashes with
    the host's own C(eth0).
options:
  name:
    description: Host end of the pair (at most 15 bytes of letters, digits, C(_), C(.) and C(-), starting with a letter or digit).
    type: str
    required: true
  peer:
    description: Name of the end inside the sandbox.
    type: str
    default: eth0
  netns:
    description: Sandbox that holds the peer. Omit to keep both ends in the host.
    type: str
  bridge:
    description: Bridge to enslave the host end to. Omit to leave the host end's master unmanaged.
    type: str
  hairpin:
    description:
      - Hairpin mode of the host end as a port of O(bridge) - the bridge may send a frame back out of the port it came in on.
      - Docker turns it on (without its userland proxy) so that a sandbox reaches its own published ports through a host address.
      - Omit to leave it unmanaged. Needs O(bridge).
    type: bool
  addresses:
    description: Complete list of the peer's addresses in CIDR form. Omit to leave them unmanaged.
    type: list
    elements: str
  gateway:
    description:
      - Default gateway of the sandbox, routed through the peer, at most one of each IP version (a
        string is one). Each must lie in the subnet of one of O(addresses) when those are given.
      - An empty list means no default route through the peer (of either IP version); omit it to
        leave default routes unmanaged.
    type: list
    elements: str
  ipv6:
    description:
      - IPv6 on the peer - V(on) without router advertisements (the peer takes no address or route
        from the network; Docker's sandboxes on IPv6 networks), V(off) switched off (Docker 26+ on
        IPv4-only networks). Omit to leave it to the kernel.
    type: str
    choices: ["on", "off"]
  routes:
    description:
      - Complete list of further static routes through the peer, each with C(dst) (a CIDR or
        V(default)) and optional C(via) and C(metric). Omit to leave them unmanaged; the default
        route of O(gateway) is managed either way.
    type: list
    elements: dict
  mtu:
    description: MTU of both ends. Omit to leave it to the kernel.
    type: int
  mac:
    description: MAC address of the peer (Docker's C(--mac-address)). Omit to keep the kernel's random one.
    type: str
  state:
    description: V(present) creates or updates the pair; V(absent) removes it (both ends) if it is ours.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - netmodes.linux.attributes
"""

EXAMPLES = r"""
- name: Plug sandbox web into br0 with a static address
  netmodes.linux.veth:
    name: veth-web
    netns: web
    bridge: br0
    hairpin: true
    addresses: [172.18.0.10/16]
    gateway: 172.18.0.1

- name: Unplug it
  netmodes.linux.veth:
    name: veth-web
    state: absent
"""

RETURN = r"""
name:
  description: Host end.
  returned: always
  type: str
exists:
  description: Whether the pair exists after the run (before it, in check mode).
  returned: always
  type: bool
peer:
  description: The peer end as it is in the sandbox (name, mac, mtu, addresses, routes).
  returned: when the pair exists
  type: dict
  sample: {"name": "eth0", "mac": "2e:4f:aa:10:00:01", "mtu": 1500, "addresses": ["172.18.0.10/16"], "routes": ["default via 172.18.0.1"]}
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._resources.veth import Veth
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(Veth)


if __name__ == "__main__":
    main()
