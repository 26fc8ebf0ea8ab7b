#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sandboxes
short_description: Every sandbox of a host in one task, in Docker's network modes
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Converges a list of sandboxes (the inventory's C(netmodes_sandboxes)) in one run, in the
    order their dependencies need - sandboxes, their links and addresses, container-mode
    sandboxes, published ports, then hostname, hosts and resolv.conf - through the same code as
    M(netmodes.linux.netns), M(netmodes.linux.veth), M(netmodes.linux.portmap) and
    M(netmodes.linux.dns_config).
  - C(network_mode) is C(bridge) (Docker's default network, made on first use with a free subnet;
    no name resolution between its members), a user-defined network's name (members resolve each
    other, and their C(aliases), by name), C(none) (only C(lo)),
    C(container:NAME) (NAME's namespace), or C(host) (no sandbox; the C(ports) it will bind are
    checked against host processes, other host-mode sandboxes and published ports).
  - Addresses are kept once given; a sandbox without C(ip) gets the lowest free address of the
    network. The host end of each link is named C(nmv) and a hash of sandbox and network.
  - On an overlay, macvlan or ipvlan network (see M(netmodes.linux.networks)) a sandbox's address
    is its C(ip), or else the next free one of its host's slice in the order the host declares
    its sandboxes on that network (an entry with C(state=absent) keeps its place); every host
    computes all members' addresses from C(fleet), so members resolve members on other hosts by
    name. Sandbox names must then be unique across the network's hosts.
  - Names, as in Docker. A network with a resolver (C(dns), the default; see M(netmodes.linux.networks))
    answers for its members and their C(aliases). A sandbox's resolv.conf names the resolver of the
    first of its networks that has one (its IPv4 address on this host, else its IPv6 one; the
    host's search domains and options kept). A sandbox on several networks with resolvers, or with
    C(dns) servers of its own, is answered there by its resolver view (one dnsmasq per distinct set
    of networks and servers on the host, its queries redirected by the firewall), which answers
    for the members of all those networks, and only those, and forwards other names to its C(dns)
    servers (else the host's; none when all are internal). Its hosts file lists no member of a network with a
    resolver, only localhost, C(extra_hosts) and its own lines, and the members of its networks
    with C(dns=false). A C(container:NAME) sandbox shows NAME's files (see
    M(netmodes.linux.dns_config)'s C(share_with)).
  - An alias several members of a network share resolves to all of them (in a hosts file, a line
    for each); an alias that is another member's name is refused.
  - Each network with C(dns) (see M(netmodes.linux.networks)) and members on the host gets its
    resolver (dnsmasq, from the package dnsmasq-base), planned after the members' addresses -
    under a systemd unit C(netmodes-resolver@NETWORK.service) where systemd runs, else as a
    process of its own - whose hosts file follows the members without a restart; it is started
    again when it is not running, and goes with the network's last member on the host. A run for
    the C(host) or C(container) modes alone leaves the resolvers as they are. See docs/names.md.
  - An overlay sandbox is plugged into the host's bridge of the network with the network's MTU and
    that bridge as its gateway; a macvlan or ipvlan sandbox gets a macvlan (ipvlan) link on the
    network's parent, with the segment's gateway. C(publish) needs a bridge, so not on macvlan or
    ipvlan networks.
  - Everything is validated before anything changes, with Docker's rules (no C(publish),
    C(hostname) or C(dns) with C(container:), no sandbox sharing itself, unknown networks).
  - A host port may move from one declared sandbox to another, or two may swap theirs, in one
    run; the sandboxes giving a port up let go of it before any sandbox takes one.
  - A sandbox leaves the networks it no longer declares, as C(docker network disconnect) - its
    link there is removed, a link whose C(eth<index>) changed is made again, and a sandbox left
    with no network publishes nothing.
options:
  config:
    description:
      - The sandboxes, as dicts with C(name), C(network_mode), C(networks) (further user-defined
        networks), C(ip), C(publish) (C(-p) strings, or dicts with C(allow)), C(ports) (host mode), C(hostname), C(dns),
        C(dns_search), C(dns_options), C(extra_hosts), C(aliases) and C(state) (present or absent).
      - C(networks), C(publish), C(ports), C(dns), C(dns_search), C(dns_options), C(extra_hosts)
        (or a dict NAME to IP) and C(aliases) take a list, even of one item (C(publish) as V(["8080:80"]));
        a string, number or boolean there is refused naming the key, never read as its characters.
      - C(publish) takes Docker's C(-p) forms as M(netmodes.linux.portmap) does, random host
        ports too (C(80), C(127.0.0.1::80), C(8000-8100:80), C(80-82) one each), picked once, free of every port
        the declaration or the host holds, and kept on every later run; a port without a host
        address goes on its network's C(host_binding_ipv4) when that is set.
      - "An entry of C(publish) may be a dict with C(port) (the C(-p) text) and C(allow), for example
        C({port: '8080:80', allow: [10.231.1.0/24, web_clients]}) (no Docker option has this); the
        firewall admits only the sources C(allow) lists, CIDRs or addresses of either family and
        inventory group names, a group's hosts by the addresses O(fleet) gives them (the role
        builds it with the sandboxes, so every run follows the inventory as it is then). See
        M(netmodes.linux.portmap)."
      - C(ip) is the IPv4 address and C(ip6) the IPv6 address (Docker's C(--ip) and C(--ip6)) on the
        first network; an entry of C(networks) may be a dict with C(name), C(ip) and C(ip6) to give
        the addresses on that network too. Given addresses are never handed out to other sandboxes.
    type: list
    elements: dict
    default: []
  networks:
    description:
      - The host's networks (the same list as for M(netmodes.linux.networks)), so that network names
        map to their bridges; networks not listed are found by bridge name.
    type: list
    elements: dict
    default: []
  state:
    description:
      - V(merged) converges the listed sandboxes and leaves others alone. V(overridden) also removes
        sandboxes the collection made that are not listed (pruning). V(deleted) removes the listed
        sandboxes. V(gathered) changes nothing - it checks the whole list, as a run would before
        its first change, and returns the host's sandboxes.
    type: str
    choices: [merged, overridden, deleted, gathered]
    default: merged
  modes:
    description:
      - Converge only the sandboxes of these network modes (V(bridge) is Docker's default network,
        V(network) a user-defined one); the others are still checked and referred to. The roles use
        this to give each mode its own role.
    type: list
    elements: str
    choices: [host, bridge, network, none, container]
    default: [host, bridge, network, none, container]
  fleet:
    description:
      - What this host needs to know of the hosts its overlay, macvlan and ipvlan networks span, as
        for M(netmodes.linux.networks) (the filter netmodes.linux.fleet builds it); the addresses
        of other hosts' members come from their C(sandboxes) in it.
    type: dict
    default: {}
  ipv6_pool:
    description: Where networks with C(ipv6) and no IPv6 subnet take theirs, as for M(netmodes.linux.networks).
    type: str
  dns:
    description: Write the sandboxes' hostname, hosts and resolv.conf files (naming their networks' resolvers, or listing the other members of their networks).
    type: bool
    default: true
  converge_networks:
    description:
      - Converge C(networks) too, as M(netmodes.linux.networks) would, in the same plan - the
        whole host in one task, every mode (C(modes) is then ignored). Networks are made or
        updated before their members join them; with V(overridden) the networks no longer listed
        are removed after their members left them. Check mode plans this very run.
    type: bool
    default: false
  force:
    description: Replace hostname, hosts and resolv.conf files that were edited by hand.
    type: bool
    default: false
  boot_restore:
    description:
      - Also save the declaration and install the boot-time restore, as M(netmodes.linux.boot_restore)
        does with these settings, as the last step of the same plan (so that what it saves is the
        host this run leaves, check mode included). The site playbook runs it this way.
      - Omitted, the boot restore is left as it is.
    type: dict
    suboptions:
      state:
        description: V(absent) removes the saved declaration, the command and the unit.
        type: str
        choices: [present, absent]
        default: present
      path:
        description: Where the declaration is saved (see M(netmodes.linux.boot_restore)).
        type: path
        default: /etc/netmodes/declared.json
      command:
        description: Where the restore command is installed.
        type: path
        default: /usr/local/lib/netmodes/netmodes-restore
      unit_dir:
        description: Where the systemd unit C(netmodes-restore.service) is written.
        type: path
        default: /etc/systemd/system
      watch:
        description: Also install the watch C(netmodes-watch.service) (see M(netmodes.linux.boot_restore)).
        type: bool
        default: false
extends_documentation_fragment:
  - netmodes.linux.attributes
  - netmodes.linux.firewall
  - netmodes.linux.declaration
"""

EXAMPLES = r"""
- name: The host's sandboxes
  netmodes.linux.sandboxes:
    networks: "{{ netmodes_networks }}"
    config:
      - {name: web, network_mode: br0, publish: ["8080:80"], hostname: web1}
      - {name: db, network_mode: br0, aliases: [database]}
      - {name: sidecar, network_mode: "container:web"}
      - {name: batch, network_mode: none}
      - {name: web2, network_mode: host, ports: [80]}
"""

RETURN = r"""
sandboxes:
  description: The listed sandboxes after the run, with their addresses.
  returned: always
  type: dict
  sample: {"web": {"addresses": ["172.18.0.2/16"]}}
overlays:
  description:
    - With O(converge_networks), this host's overlay networks as M(netmodes.linux.networks) returns them (C(mtu),
      C(declared), C(underlay), C(carried), C(where)), which M(netmodes.linux.fleet_check) compares across their hosts.
  returned: with O(converge_networks) and O(state=merged) or V(overridden)
  type: dict
  sample: {"ov0": {"mtu": 1450, "declared": false, "underlay": {"link": "eth0", "mtu": 1500}, "carried": 1450,
                   "where": "netmodes_networks[0] (ov0)"}}
boot_restore:
  description:
    - With O(boot_restore), what M(netmodes.linux.boot_restore) returns (V(path), V(command),
      V(unit), V(systemd), V(declared)), and V(changed), whether the boot restore's files changed
      (a changed unit wants C(systemctl daemon-reload) where V(systemd) is true).
  returned: when O(boot_restore) is set
  type: dict
  sample: {"changed": true, "path": "/etc/netmodes/declared.json", "systemd": false}
operations:
  description: The ordered changes planned (and, unless in check mode, applied), of every sandbox.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._batches.restore import HostPlan
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(HostPlan)


if __name__ == "__main__":
    main()
