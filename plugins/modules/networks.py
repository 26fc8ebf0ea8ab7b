#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: networks
short_description: Every network of a host in one task, like docker network create
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Converges a list of networks (the inventory's C(netmodes_networks)) in one run, each as
    M(netmodes.linux.bridge), M(netmodes.linux.vxlan) and M(netmodes.linux.macvlan) would, so a
    host with many networks costs one task.
  - A bridge network without a subnet gets the first of Docker's default pools (172.17.0.0/16 to
    172.31.0.0/16, then 192.168.0.0/16 in /20 blocks) that no route or address of the host
    overlaps; once chosen it stays, since it is the bridge's address.
  - The network called C(bridge) is Docker's default network; its bridge is C(netmodes0). As in
    Docker it gets 172.17.0.0/16 (the first free pool when the host already uses that), and other
    networks never take 172.17.0.0/16, whatever order they are declared in.
  - A bridge network with C(ipv6) (Docker's C(--ipv6)) has an IPv6 subnet too (C(subnet) and
    C(gateway) take one of each family, as a list); without one it gets a ULA /64 - of
    O(ipv6_pool) if given, else of a ULA /48 derived from the network's name, so every host of a
    fleet derives the same one - that no route or address of the host overlaps, kept once chosen.
    C(ipv4=false) makes it IPv6-only (Docker 28's C(--ipv4=false)). Its members get an address of
    each family (IPv6 without duplicate address detection, as Docker), a default route of each,
    and ignore router advertisements; the members of a network without IPv6 have IPv6 switched off
    on their link there (Docker 26+).
  - Overlay, macvlan and ipvlan networks span the hosts of C(hosts) (an inventory group or a list
    of hosts) and need C(fleet), which the roles build from the inventory with the filter
    netmodes.linux.fleet. Each host cuts the subnet (or C(ip_range)) into C(max_hosts) equal
    slices and owns the slice of its index (C(netmodes_host_index), else its place in the
    naturally sorted list of the network's hosts); the first address of the slice is the host's
    own, its sandboxes get the next ones. Every host computes every member's address the same
    way, so no coordination server is needed.
  - An overlay network is, on each host, a bridge (the sandboxes' gateway, with the first address
    of the host's slice and the bridge driver's firewall policy) and a VXLAN device in it whose
    peers are the other hosts' underlay addresses (head-end replication, no multicast), with a
    forwarding and an ARP entry for every member on another host (Docker's peerdb, made from the
    inventory, where a member's MAC is 02:42 and its address), so it answers ARP itself and learns
    nothing. Its VXLAN id is C(vni), else derived from the name (sha256, in 1 to 16777215). Its
    MTU is C(mtu), else the underlay link's less 50 (70 over an IPv6 underlay).
  - A macvlan or ipvlan network puts each sandbox on the physical segment of C(parent) with an
    address of its host's slice (no DHCP); C(shim) adds a macvlan (ipvlan) of the host's own on
    the parent, with the first address of the slice and a route to the slice, through which the
    host and its sandboxes reach each other.
options:
  config:
    description:
      - The networks, as dicts with C(name), C(driver) (C(bridge), C(overlay), C(macvlan) or
        C(ipvlan)) and the driver's keys.
      - C(bridge) takes C(subnet), C(gateway), C(internal), C(ip_masquerade), C(icc), C(ipv6)
        (default false), C(ipv4) (default true) and C(bridge_name) (default the name, which must
        then be a valid interface name). C(subnet) and C(gateway) are one value, or a list with one
        of each IP version; an IPv6 subnet needs C(ipv6=true).
      - C(bridge) also takes Docker's gateway options, as M(netmodes.linux.bridge) documents them -
        C(gateway_mode_ipv4) and C(gateway_mode_ipv6) (C(nat), the default, C(nat-unprotected),
        C(routed), or C(isolated) on an internal network, whose family's subnet must then be
        declared and has no resolver; Docker's C(com.docker.network.bridge.gateway_mode_ipv4/6)),
        C(trusted_host_interfaces) (a list, or Docker's names joined by C(:);
        C(com.docker.network.bridge.trusted_host_interfaces)), C(host_ipv4) and C(host_ipv6) (the
        source address of outbound NAT; C(com.docker.network.host_ipv4/6), netavark's
        C(outbound_addr4/6)).
      - C(overlay) takes C(hosts), C(subnet) (both required; an IPv6-only overlay needs no IPv4
        subnet), C(vni), C(dstport) (default 4789), C(mtu), C(max_hosts) (default 16, a power of
        two), C(ip_range) (of the IPv4 subnet), C(internal), C(ip_masquerade), C(icc),
        C(bridge_name), C(ipv6) and C(ipv4) (without an IPv6 subnet, an overlay with C(ipv6) takes
        the first /64 of the ULA its name gives, alike on every host).
      - C(macvlan) and C(ipvlan) take C(hosts), C(subnet), C(parent) (all required), C(gateway)
        (the segment's router), C(ip_range), C(mode) (macvlan bridge, private, vepa or passthru,
        default bridge; ipvlan l2, l3 or l3s, default l2), C(shim), C(mtu), C(max_hosts), C(ipv6)
        and C(ipv4) (with C(ipv6), C(subnet) and C(gateway) list one of each family).
      - Every driver takes C(dns) (default true; never on Docker's default C(bridge) network) - the
        network's resolver, a dnsmasq on the network's own address of each host with members (a
        bridge's gateway, an overlay host's bridge, a macvlan or ipvlan C(shim); none without a
        shim) that answers every member and alias on every host and forwards other names to the
        host's nameservers (an C(internal) network's, none). The sandboxes batch runs it; see
        docs/names.md.
      - C(bridge) and C(overlay) take C(host_binding_ipv4), Docker's
        C(com.docker.network.bridge.host_binding_ipv4), is the address of the host on which its
        members' C(publish) entries without a host address (C(8080:80), C(80)) are published
        (that address alone, not the other family; it may be IPv6 as in Docker, V(::) every IPv6
        address alone); V(0.0.0.0), or none, publishes them on every address of each family. An
        entry with its own host address keeps it (C(0.0.0.0:8080:80) is IPv4 alone).
      - All of them are validated before anything changes.
    type: list
    elements: dict
    default: []
  fleet:
    description:
      - What this host needs to know of the hosts its overlay, macvlan and ipvlan networks span -
        C(host) (this host's inventory name), C(groups) (the groups those networks name, with
        their hosts) and C(hosts) (per host C(index), C(underlay) and C(sandboxes)).
      - Build it with the filter netmodes.linux.fleet; not needed without such networks.
    type: dict
    default: {}
  ipv6_pool:
    description:
      - An IPv6 prefix of at most /64 (the inventory's C(netmodes_ipv6_pool), such as a ULA /48) that
        networks with C(ipv6) and no IPv6 subnet take a /64 of, the one their name points at (the
        next free one when the host uses it). Omit to give each network a /64 of its own ULA /48.
    type: str
  state:
    description:
      - V(merged) creates or updates the listed networks and leaves others alone.
      - V(overridden) also removes the collection's bridges that are not listed (pruning).
      - V(deleted) removes the listed networks. V(gathered) changes nothing and returns the networks.
    type: str
    choices: [merged, overridden, deleted, gathered]
    default: merged
extends_documentation_fragment:
  - netmodes.linux.attributes
  - netmodes.linux.firewall
  - netmodes.linux.declaration
"""

EXAMPLES = r"""
- name: The host's networks
  netmodes.linux.networks:
    config:
      - {name: br0, subnet: 172.18.0.0/16}
      - {name: backend, internal: true, icc: false}
      - {name: dual, ipv6: true, subnet: [172.20.0.0/16, "fd31:20::/64"]}
      - {name: v6only, ipv6: true, ipv4: false}

- name: An overlay network across the hosts of group app, and the lab segment through macvlan
  netmodes.linux.networks:
    config:
      - {name: ov0, driver: overlay, hosts: app, subnet: 10.231.200.0/24}
      - {name: lan, driver: macvlan, hosts: app, parent: eth0, subnet: 10.231.5.0/24, gateway: 10.231.5.1,
         ip_range: 10.231.5.128/25, shim: true}
    fleet: "{{ netmodes_networks | netmodes.linux.fleet(hostvars, groups, inventory_hostname) }}"
"""

RETURN = r"""
networks:
  description:
    - The collection's networks after the run - bridge name, IPv4 C(subnet) and C(gateway) (null on an IPv6-only network), and
      C(subnet6) and C(gateway6) on a network with IPv6.
  returned: always
  type: dict
  sample: {"br0": {"subnet": "172.18.0.0/16", "gateway": "172.18.0.1"}, "dual": {"subnet": "172.19.0.0/16", "gateway": "172.19.0.1",
           "subnet6": "fd31:20::/64", "gateway6": "fd31:20::1"}}
overlays:
  description:
    - This host's overlay networks - their C(mtu) here, whether it is C(declared), the C(underlay) link under them and its
      MTU, C(carried) (the largest overlay MTU that link carries whole), and C(where) the network is declared - which
      M(netmodes.linux.fleet_check) compares across the network's hosts.
  returned: unless O(state=deleted)
  type: dict
  sample: {"ov0": {"mtu": 1450, "declared": false, "underlay": {"link": "eth0", "mtu": 1500}, "carried": 1450,
                   "where": "netmodes_networks[0] (ov0)"}}
operations:
  description: The ordered changes planned (and, unless in check mode, applied), of every network.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._batches.networks import Networks
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(Networks)


if __name__ == "__main__":
    main()
