#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: net_info
short_description: The host's networks and sandboxes, like docker network inspect and docker inspect
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Reports, without changing anything, the networks the collection made on the host (its
    bridges, with subnets, gateway, MTU, the policy written to the firewall and the sandboxes
    plugged in) and every sandbox in C(/run/netns) (its interfaces, addresses, routes, published
    ports and DNS files).
  - A network's members are found through the veth pairs enslaved to its bridge, by the
    namespace that holds each veth's peer, so a sandbox with several names (Docker's container
    mode, see M(netmodes.linux.netns)) is one member.
  - Sandboxes made by hand (C(ip netns add)) are reported too, with RV(sandboxes[].owned=false).
  - Nothing is created while reading, not even a namespace that is asked for and missing; a name
    in O(netns) or O(network) that does not exist gives a warning.
options:
  netns:
    description: The sandboxes to report, by name. Omit to report every sandbox.
    type: list
    elements: str
  network:
    description: The networks (bridges) to report, by name. Omit to report every network of the collection.
    type: list
    elements: str
  brief:
    description:
      - Report a short answer per object, like C(docker network ls) and C(docker ps) - for a
        network its C(name), C(subnets), C(gateway), C(options) and C(members) (sandbox names);
        for a sandbox its C(name), C(names), C(owned), C(addresses) (a list per interface, C(lo)
        and interfaces without an address left out), C(networks), C(published) and C(ports). Interfaces,
        routes and DNS files are not reported (the DNS files are not read).
    type: bool
    default: false
  firewall_backend:
    description:
      - The firewall to read network policies and published ports from, as for
        M(netmodes.linux.portmap). V(auto) picks iptables where the host's C(iptables --version)
        says legacy (or nftables is missing) and nftables everywhere else.
      - When the firewall cannot be read (its library missing), the rest is still reported, with
        a warning, and C(options), C(published) and C(ports) are null.
    type: str
    choices: [auto, nftables, iptables]
    default: auto
extends_documentation_fragment:
  - netmodes.linux.attributes
attributes:
  check_mode:
    description: Can run in check mode; it reads the same and changes nothing either way.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: N/A
  idempotent:
    description: It only reads; C(changed) is always false.
    support: full
"""

EXAMPLES = r"""
- name: Everything, on every host (ansible all -m netmodes.linux.net_info)
  netmodes.linux.net_info:
  register: info

- name: The addresses of sandbox web
  ansible.builtin.debug:
    msg: "{{ info.sandboxes | selectattr('name', '==', 'web') | map(attribute='interfaces') | flatten | map(attribute='addresses') | flatten }}"

- name: Only network br0 and sandbox web
  netmodes.linux.net_info:
    network: [br0]
    netns: [web]

- name: A line per network and sandbox (ansible all -m netmodes.linux.net_info -a brief=true)
  netmodes.linux.net_info:
    brief: true
"""

RETURN = r"""
resolvers:
  description:
    - The networks' resolvers on this host (dnsmasq, one per network with C(dns); see docs/names.md), by network name, and the
      resolver views (one per distinct set of networks and C(dns) servers of the sandboxes on several networks with resolvers, or
      with C(dns) servers of their own), named C(view:) and a hash.
    - One that is not running is also named in a warning; the next run of M(netmodes.linux.sandboxes) starts it again.
  returned: always
  type: list
  elements: dict
  contains:
    network:
      description: The network's name.
      type: str
    listen:
      description: The addresses it listens on, port 53 udp and tcp (the network's gateway or the host's address on it).
      type: list
      elements: str
    running:
      description: Whether its process runs.
      type: bool
    networks:
      description: A view's only, the networks whose members it answers for.
      type: list
      elements: str
      returned: for a view
    port:
      description: A view's only, the port it listens on (its sandboxes' queries to port 53 are redirected there).
      type: int
      returned: for a view
    sandboxes:
      description: A view's only, the sandboxes of this host that ask it.
      type: list
      elements: str
      returned: for a view
firewall:
  description: The firewall backend the policies and published ports were read from.
  returned: always
  type: str
  sample: nftables
networks:
  description:
    - The collection's bridges (alias tagged C(netmodes.linux)), sorted by interface index, like C(docker network inspect).
    - With O(brief), each has only C(name), C(subnets), C(gateway), C(gateway6), C(options), C(resolver) and C(members), a list of
      sandbox names.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Bridge name.
      type: str
      sample: br0
    driver:
      description: Always V(bridge) for now.
      type: str
      sample: bridge
    subnets:
      description: The subnets of the bridge's addresses, IPv4 first.
      type: list
      elements: str
      sample: [172.18.0.0/16]
    gateway:
      description: The bridge's IPv4 address (the lowest, when it has several), the members' gateway; null without one.
      type: str
      sample: 172.18.0.1
    gateway6:
      description: The bridge's IPv6 address (the lowest global one), the members' IPv6 gateway; null without one.
      type: str
      sample: fd31:120::1
    resolver:
      description:
        - The name of the network whose resolver listens on this bridge's gateway (see RV(resolvers)); null when none does.
      type: str
      sample: front
    ipv6:
      description: Whether the network has IPv6 (Docker's C(EnableIPv6)).
      type: bool
    addresses:
      description: The bridge's addresses with prefix length.
      type: list
      elements: str
      sample: [172.18.0.1/16]
    mtu:
      description: MTU of the bridge.
      type: int
      sample: 1500
    mac:
      description: MAC address of the bridge.
      type: str
    up:
      description: Whether the bridge is up.
      type: bool
    options:
      description:
        - Docker's bridge driver options that the bridge's firewall rules implement (see
          M(netmodes.linux.bridge)); null when no policy is written, when the rules match no
          policy (changed by hand, or for other subnets; a warning says so), or when the
          firewall cannot be read.
      type: dict
      sample: {"ip_masquerade": true, "icc": true, "internal": false}
    members:
      description: The sandboxes plugged into the bridge, sorted by sandbox name.
      type: list
      elements: dict
      contains:
        sandbox:
          description: The sandbox, by the name its namespace was made under (V(web), not its C(container:web) sidecar).
          type: str
          sample: web
        names:
          description: Every name of the sandbox's namespace, the one it was made under first, then in the order they were given.
          type: list
          elements: str
          sample: [web, web-sidecar]
        interface:
          description: The interface inside the sandbox (the veth's peer).
          type: str
          sample: eth0
        host_interface:
          description: The veth's host end, enslaved to the bridge.
          type: str
          sample: veth-web
        mac:
          description: MAC address of the interface inside the sandbox.
          type: str
        addresses:
          description: Addresses of the interface inside the sandbox.
          type: list
          elements: str
          sample: [172.18.0.10/16]
sandboxes:
  description:
    - Every sandbox in C(/run/netns) (those in O(netns) when given), sorted by name, like C(docker inspect).
    - With O(brief), each has only C(name), C(names), C(owned), C(addresses), C(networks), C(published) and C(ports).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Sandbox name.
      type: str
      sample: web
    path:
      description: The namespace's path.
      type: str
      sample: /run/netns/web
    inode:
      description: Inode of the namespace; names with the same inode are one namespace.
      type: int
    names:
      description: Every name of this namespace, this one included (more than one in container mode), the one it was made under first.
      type: list
      elements: str
      sample: [web, web-sidecar]
    owned:
      description: Whether the collection made this name (else it was made by hand and is never removed by the collection).
      type: bool
    addresses:
      description: With O(brief) only, the addresses of each interface that has one, C(lo) left out.
      type: dict
      sample: {"eth0": ["172.18.0.10/16"]}
    networks:
      description: With O(brief) only, the bridges the namespace's veths are plugged into.
      type: list
      elements: str
      sample: [br0]
    interfaces:
      description: The namespace's links in index order (link-local addresses left out).
      type: list
      elements: dict
      contains:
        name:
          description: Interface name.
          type: str
          sample: eth0
        kind:
          description: The kernel's link kind (V(veth), V(bridge)...), null for a plain link such as C(lo).
          type: str
          sample: veth
        mac:
          description: MAC address.
          type: str
        mtu:
          description: MTU.
          type: int
        ipv6:
          description:
            - IPv6 on the link, V(on) (without router advertisements, as the collection sets a sandbox's link on a network with
              IPv6), V(off) (switched off, as on a network without IPv6), V(auto) (the kernel's default), null when unknown.
          type: str
          sample: "on"
        up:
          description: Whether the link is administratively up.
          type: bool
        addresses:
          description: Addresses with prefix length.
          type: list
          elements: str
          sample: [172.18.0.10/16]
        host_interface:
          description: For a veth whose other end is on the host, that end's name; else null.
          type: str
          sample: veth-web
        network:
          description: The bridge the host end is enslaved to; else null.
          type: str
          sample: br0
    routes:
      description: The main routing table, IPv4 first, without the fe80::/64 routes the kernel makes for every link.
      type: list
      elements: dict
      sample: [{"dst": "default", "via": "172.18.0.1", "dev": "eth0", "metric": 0, "protocol": "static"}]
      contains:
        dst:
          description: Destination, V(default) or a CIDR.
          type: str
        via:
          description: Next hop; null for a route on the link.
          type: str
        dev:
          description: The interface the route leaves through.
          type: str
        metric:
          description: Route metric.
          type: int
        protocol:
          description: Who made it, as C(ip route) says (V(kernel) for a subnet route, V(static) for the collection's).
          type: str
    published:
      description:
        - Ports published to this namespace with M(netmodes.linux.portmap) (under any of its names
          or addresses), as C(docker run -p) strings; null when the firewall cannot be read.
      type: list
      elements: str
      sample: ["8080:80/tcp", "127.0.0.1:5353:53/udp"]
    ports:
      description:
        - The same ports as C(docker port) lists them, container port and protocol to the host
          addresses and ports (a random host port is found here); null when the firewall cannot be read.
      type: dict
      sample: {"80/tcp": ["0.0.0.0:61000", "[::]:61000"], "53/udp": ["127.0.0.1:5353"]}
    dns:
      description:
        - This name's files C(/etc/netns/NAME/hostname), C(hosts) and C(resolv.conf), as
          M(netmodes.linux.dns_config) returns them; null when there are none.
      type: dict
      contains:
        files:
          description:
            - Per file, its C(path), whether it C(exists), whether it is C(managed) (as
              netmodes.linux wrote it) and whether it was C(edited) by hand since.
          type: dict
          sample: {"hosts": {"path": "/etc/netns/web/hosts", "exists": true, "managed": true, "edited": false}}
        hostname:
          description: The hostname file's content; null when it does not exist.
          type: str
          sample: web1
        resolv_conf:
          description: The nameservers, search domains and options of resolv.conf; null when it does not exist.
          type: dict
          sample: {"nameservers": ["10.231.0.53"], "search": [], "options": []}
        hosts:
          description: The lines of the hosts file.
          type: list
          elements: dict
          sample: [{"address": "127.0.0.1", "names": ["localhost"]}]
operations:
  description: Always empty; the module changes nothing.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._resources.net_info import NetInfo
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(NetInfo)


if __name__ == "__main__":
    main()
