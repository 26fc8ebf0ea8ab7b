#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vxlan
short_description: One host's end of an overlay network, a VXLAN device with static remotes
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Manages a VXLAN device in the host, tagged as created by netmodes.linux, optionally
    enslaved to the bridge of an overlay network, so that the sandboxes plugged into that bridge
    reach the members of the same network on other hosts.
  - There is no multicast group and no key-value store. Each of O(peers) (the underlay address of
    another host) is one all-zero-MAC forwarding entry, so broadcasts and unknown destinations
    are sent to every peer (head-end replication). O(fdb) and O(neigh) are Docker's peerdb, the
    MAC and IP addresses of the members on other hosts.
  - Entries are managed one by one. Adding or removing a peer plans exactly one operation for
    that peer's entry, and one that admits its VXLAN in the firewall; the other entries, and the
    traffic through them, are not touched.
  - The kernel takes VXLAN from any sender, and an overlay's VNI is no secret, so any machine on
    the underlay could put frames into the overlay. The device's VXLAN (its O(vni) to its
    O(dstport)) is accepted from its remotes only - the O(peers) and the hosts of the O(fdb)
    entries, or those the device has when they are not managed - and dropped from anyone else
    when it is for this host, before connection tracking (nftables - a base chain C(vxlan-NAME)
    in table C(inet netmodes); iptables - chain C(NETMODES-VX-NAME) of the raw table, of ip6tables'
    over an IPv6 underlay, where VXLAN behind IPv6 extension headers is dropped too).
  - The kernel cannot change O(vni), O(local), O(dstport), nor whether the device answers ARP
    from O(neigh), on an existing device. A change to one of them is planned as one V(recreate)
    operation (delete and create again, with its entries), shown with what forced it.
options:
  name:
    description: Device name (at most 15 bytes of letters, digits, C(_), C(.) and C(-), starting with a letter or digit).
    type: str
    required: true
  vni:
    description: VXLAN network identifier, 1 to 16777215; the same on every host of the network.
    type: int
  local:
    description:
      - This host's underlay address, the one its peers reach it at. The link that carries it is
        the underlay, whose MTU sets the default O(mtu).
      - Required with O(state=present), as is O(vni).
    type: str
  dstport:
    description: UDP port of the tunnel, the same on every host.
    type: int
    default: 4789
  mtu:
    description:
      - MTU of the device. Omitted, it is the underlay's MTU less the encapsulation, 50 bytes on
        an IPv4 underlay and 70 on IPv6, so that a full-size packet inside fits in one outside.
    type: int
  bridge:
    description: Bridge to enslave the device to. Omit to leave its master unmanaged.
    type: str
  learning:
    description:
      - Whether the device learns where remote MACs are from the traffic it receives.
      - Omitted, it is V(false) when O(fdb) or O(neigh) is given (the remotes are known, so
        unknown destinations go to every peer instead of to a guess); otherwise a new device
        gets the kernel's default (V(true)) and an existing one is left as it is.
    type: bool
  peers:
    description:
      - Complete list of the other hosts' underlay addresses (of the IP version of O(local)).
        Omit to leave the all-zero entries unmanaged; V([]) removes them all.
    type: list
    elements: str
  fdb:
    description:
      - Complete list of static forwarding entries, each a dict with C(mac) (a member's MAC on
        another host) and C(dst) (that host's underlay address). Omit to leave them unmanaged.
    type: list
    elements: dict
  neigh:
    description:
      - Complete list of static neighbour entries, each a dict with C(ip) (a member's address on
        another host) and C(mac) (its MAC). Omit to leave them unmanaged.
      - Given (even as V([])), the device answers ARP and neighbour solicitations for the overlay
        from these entries and no longer floods them to the peers, so list every member on other
        hosts. Whether it does is fixed at creation; a change is a recreate.
    type: list
    elements: dict
  state:
    description: V(present) creates or updates the device; V(absent) removes it, if it is ours, with its entries.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - netmodes.linux.attributes
  - netmodes.linux.firewall
"""

EXAMPLES = r"""
- name: The overlay network's bridge on this host
  netmodes.linux.bridge:
    name: br-ov
    addresses: [10.231.200.1/24]

- name: Its VXLAN device, reaching the two other hosts by head-end replication
  netmodes.linux.vxlan:
    name: vx-ov
    vni: 4242
    local: 10.231.1.11
    bridge: br-ov
    peers: [10.231.1.12, 10.231.1.13]

- name: The same with Docker's peerdb, the members on the other hosts (learning goes off)
  netmodes.linux.vxlan:
    name: vx-ov
    vni: 4242
    local: 10.231.1.11
    bridge: br-ov
    peers: [10.231.1.12, 10.231.1.13]
    fdb:
      - {mac: "02:42:0a:e7:c8:0c", dst: 10.231.1.12}
    neigh:
      - {ip: 10.231.200.12, mac: "02:42:0a:e7:c8:0c"}

- name: Remove it
  netmodes.linux.vxlan:
    name: vx-ov
    state: absent
"""

RETURN = r"""
name:
  description: Device name.
  returned: always
  type: str
exists:
  description: Whether the device exists after the run (before it, in check mode).
  returned: always
  type: bool
vni:
  description: VXLAN network identifier.
  returned: when the device exists
  type: int
  sample: 4242
local:
  description: Underlay address.
  returned: when the device exists
  type: str
  sample: 10.231.1.11
dstport:
  description: UDP port.
  returned: when the device exists
  type: int
  sample: 4789
mtu:
  description: MTU of the device.
  returned: when the device exists
  type: int
  sample: 1450
mac:
  description: MAC address of the device.
  returned: when the device exists
  type: str
master:
  description: Bridge the device is enslaved to, or null.
  returned: when the device exists
  type: str
learning:
  description: Whether the device learns remote MACs.
  returned: when the device exists
  type: bool
proxy:
  description: Whether the device answers ARP from its neighbour entries.
  returned: when the device exists
  type: bool
peers:
  description: Underlay addresses with an all-zero forwarding entry.
  returned: when the device exists
  type: list
  elements: str
  sample: [10.231.1.12, 10.231.1.13]
fdb:
  description: Static forwarding entries besides the peers'.
  returned: when the device exists
  type: list
  elements: dict
  sample: [{"mac": "02:42:0a:e7:c8:0c", "dst": "10.231.1.12"}]
neigh:
  description: Permanent neighbour entries.
  returned: when the device exists
  type: list
  elements: dict
  sample: [{"ip": "10.231.200.12", "mac": "02:42:0a:e7:c8:0c"}]
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
  sample: [{"action": "create", "object": "vxlan vx-ov peer 10.231.1.13", "after": {"mac": "00:00:00:00:00:00"}}]
"""

from ansible_collections.netmodes.linux.plugins.module_utils._resources.vxlan import Vxlan
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(Vxlan)


if __name__ == "__main__":
    main()
