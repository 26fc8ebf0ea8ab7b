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
  - The bridge is made with a random MAC address of its own, which it keeps whatever ports join. Left
    to the kernel, a bridge takes its lowest port's MAC and changes it when a sandbox with a lower
    one joins, and the other members lose their gateway until their neighbour entries expire (up
    to 45 s). A bridge of the collection's made without one keeps the MAC it has, fixed from then on.
  - The bridge is brought up and IP forwarding is enabled through per-interface sysctls
    (C(net.ipv4.conf.NAME.forwarding), and the IPv6 one when the bridge has an IPv6 address, which
    needs the nftables backend); the host-wide C(net.ipv4.ip_forward) switch is not touched. With
    O(ip_masquerade) the host's other interfaces that carry an IPv4 address get it too, for the
    replies of the network's outbound connections; what arrives there and goes neither into nor
    out of a bridge of the collection is dropped, so the host routes nothing else. Each sysctl is
    recorded with its value before (in C(/run/netmodes/sysctl.json)) and put back when the last
    network or sandbox that needs it goes.
  - It also writes the network's firewall policy, after Docker's bridge driver options (outbound
    masquerade for the bridge's IPv4 subnets (O(ip_masquerade)), whether members may talk to each
    other (O(icc)), and whether the network is cut off from everything outside the bridge
    (O(internal))). Networks are isolated from each other; a connection from outside a bridge into
    it is dropped unless it goes to a port published with M(netmodes.linux.portmap). Replies to
    connections made from inside are let back in.
  - The rules are the collection's own (see M(netmodes.linux.portmap) for where they live); a
    user chain, C(user) in nftables and C(NETMODES-USER) in iptables, is evaluated before them and
    never flushed, for the user's own rules (Docker's C(DOCKER-USER)).
  - A packet must be accepted by every base chain on its hook, so a drop in another firewall
    (another nftables table, iptables-nft's or iptables-legacy's chains and their ip6tables twins,
    for example Docker's or ufw's policy drop) wins over these rules. Such chains are read, never changed, and each one
    that drops the network's traffic is named in a warning with the accept to add to it.
options:
  name:
    description: Bridge name (at most 15 bytes of letters, digits, C(_), C(.) and C(-), starting with a letter or digit).
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
      - In a family whose gateway mode is V(isolated) the bridge gets none of them (they still give
        the subnet its firewall rules cover).
      - The list is the complete set; omit the option to leave addresses unmanaged.
    type: list
    elements: str
  mtu:
    description: MTU of the bridge. Omit to leave it to the kernel.
    type: int
  stp:
    description: Spanning tree protocol on the bridge. Omit to leave it as it is (off when created).
    type: bool
  ip_masquerade:
    description: Masquerade connections from the bridge's subnets (both families) that leave through another interface.
    type: bool
    default: true
  icc:
    description:
      - Inter-container communication. V(false) drops traffic between members of the bridge
        (published ports of a member stay reachable through a host address).
      - Bridged traffic only meets the firewall through br_netfilter, so V(false) also switches on
        the bridge's own C(nf_call_iptables) (the per-bridge form of C(bridge-nf-call-iptables)),
        and with IPv6 addresses its C(nf_call_ip6tables) too.
    type: bool
    default: true
  internal:
    description:
      - An internal network has no traffic to or from outside the bridge (no masquerade, no
        published ports); members still reach each other (per O(icc)) and the host, but in a family
        whose gateway mode is V(isolated) (O(gateway_mode_ipv4)).
    type: bool
    default: false
extends_documentation_fragment:
  - netmodes.linux.attributes
  - netmodes.linux.firewall
  - netmodes.linux.gateway
"""

EXAMPLES = r"""
- name: A user-defined network's bridge with its gateway address
  netmodes.linux.bridge:
    name: br0
    addresses: [172.18.0.1/16]
    mtu: 1500

- name: An internal network whose members cannot talk to each other
  netmodes.linux.bridge:
    name: br-secret
    addresses: [172.19.0.1/24]
    internal: true
    icc: false

- name: A routed network (no NAT), the LAN routing 10.231.205.0/24 to this host
  netmodes.linux.bridge:
    name: br-routed
    addresses: [10.231.205.1/24]
    gateway_mode_ipv4: routed

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
  description: MAC address of the bridge (fixed, it does not follow its ports').
  returned: when the bridge exists
  type: str
policy:
  description:
    - The network policy written to the firewall; the gateway options appear when not the default.
  returned: when the bridge exists
  type: dict
  sample: {"ip_masquerade": true, "icc": true, "internal": false, "gateway_mode_ipv4": "routed"}
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._resources.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(Bridge)


if __name__ == "__main__":
    main()
