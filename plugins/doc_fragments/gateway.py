# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Docker's gateway options of a bridge network (the bridge module's options; the networks
    # module's bridge networks take the same keys). Their one spec is _gateway.OPTIONS;
    # tests/unit/plugins/doc_fragments/test_gateway.py holds the two together.
    DOCUMENTATION = r"""
options:
  gateway_mode_ipv4:
    description:
      - Docker's C(com.docker.network.bridge.gateway_mode_ipv4), the gateway mode of the bridge's
        IPv4 subnets.
      - V(nat) masquerades the members' outbound traffic (O(ip_masquerade)) and lets nothing in
        from outside the bridge but connections to published ports through the host's addresses;
        a packet routed to a member's address is dropped.
      - V(nat-unprotected) is V(nat) that lets in anything routed to a member's address, from
        anywhere but another network of the host.
      - V(routed) does no NAT - the members leave with their own addresses, and the rest of the
        network must route the subnet to the host - and lets in, from anywhere but another
        network of the host, ICMP and connections to the members' published container ports
        (their host ports are not DNATed to them; a connection DNATed into the network is dropped).
      - V(isolated) (an O(internal) network only, as Docker refuses it elsewhere) puts no address of
        the family on the bridge, so its members have no route off the network and do not reach the
        host at all; nothing of the family that arrives on the bridge enters the host, not even to
        an address a member routes there itself (the host's input drops it, link-local and the old
        gateway address too). Members still reach each other (per O(icc)). The bridge's address
        given in O(addresses) still names the subnet the firewall covers; it is removed when the
        mode turns V(isolated) and put back when it turns V(nat).
      - An O(internal) network takes V(nat) (the default; its members reach the host's addresses
        through the bridge) or V(isolated), and refuses the others.
    type: str
    choices: [nat, nat-unprotected, routed, isolated]
    default: nat
  gateway_mode_ipv6:
    description: Docker's C(com.docker.network.bridge.gateway_mode_ipv6), as O(gateway_mode_ipv4) for the bridge's IPv6 subnets.
    type: str
    choices: [nat, nat-unprotected, routed, isolated]
    default: nat
  trusted_host_interfaces:
    description:
      - Docker's C(com.docker.network.bridge.trusted_host_interfaces) (a list here, not a string
        joined by C(:)) - the host's interfaces from which packets routed to a member's address
        reach its published container ports directly, as from the bridge itself; its
        unpublished ports stay closed. Only in gateway mode V(nat) (the other modes let routed
        traffic in anyway).
    type: list
    elements: str
    default: []
  host_ipv4:
    description:
      - Docker's C(com.docker.network.host_ipv4) (netavark's C(outbound_addr4)) - the source address
        of the members' outbound IPv4 traffic (SNAT), instead of masquerade's choice of the
        outgoing interface's address. One of the host's own unicast addresses; needs O(ip_masquerade).
    type: str
  host_ipv6:
    description: Docker's C(com.docker.network.host_ipv6) (netavark's C(outbound_addr6)), as O(host_ipv4) for IPv6.
    type: str
"""
