#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: portmap
short_description: Publish ports of a sandbox on the host, like docker run -p
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Makes host ports forward to a sandbox on a bridge network, as C(docker run -p) does with the
    userland proxy off, with DNAT rules in the host's firewall. Connections to a local address of
    the host (from other hosts, from the host itself, also through C(127.0.0.1)) and from other
    sandboxes of the same bridge (hairpin) reach the sandbox.
  - O(ports) is the sandbox's complete set of published ports; V(state=absent) unpublishes all.
  - Ports published on C(127.0.0.1) are reachable from the host only; packets for them that
    arrive from other hosts are dropped (moby#41872).
  - A host port that another sandbox publishes, or that a process on the host listens on, makes
    the task fail before anything changes, naming the port and, where readable, the process.
  - A chain of another firewall that drops connections to the published ports (a policy drop
    with no accept for the bridge, as Docker's or ufw's FORWARD) is named in a warning with the
    accept to add; see M(netmodes.linux.bridge).
  - With nftables the rules live in the table C(inet netmodes), written in one transaction per
    run; published ports are map elements, so lookups do not slow down as ports are added. With
    iptables (python-iptables, for iptables-legacy hosts) they live in chains named C(NETMODES-*),
    every rule commented as the collection's, and each table is committed once per run.
    Rules, chains and tables that are not the collection's are never touched.
  - Published connections are let into the bridge network by the policy of
    M(netmodes.linux.bridge); other connections from outside the network are dropped there.
  - To reach the sandbox the host must forward packets from the interfaces that carry the
    published address, so their C(net.ipv4.conf.IFACE.forwarding) is switched on (all interfaces
    with an IPv4 address for ports published on every address); for a port the host reaches
    through C(127.0.0.1) (published there or on every address) the bridge gets C(route_localnet).
    Nothing arriving on the bridge reaches the host's C(127.0.0.0/8) (CVE-2020-8558), and both are
    put back as they were when the ports go (see M(netmodes.linux.bridge)).
options:
  netns:
    description: The sandbox whose ports are published; its address on O(bridge) is looked up.
    type: str
  address:
    description:
      - The sandbox address to forward to, instead of looking it up through O(netns) (which finds
        the sandbox's IPv4 and IPv6 addresses on O(bridge)). An IPv6 address is an IPv6-only
        sandbox's.
    type: str
  bridge:
    description: The bridge network of the sandbox (made by M(netmodes.linux.bridge), or another Linux bridge; nothing else).
    type: str
    required: true
  ports:
    description:
      - Published ports in Docker's C(-p) syntax, C([HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]), for
        example C(8080:80), C(127.0.0.1:8080:80), C(5353:53/udp) or the range C(5000-5010:5000-5010),
        or as dicts with C(host_ip), C(host_port), C(container_port) and C(protocol) (tcp, udp, sctp).
      - IPv6 host addresses are in brackets, as Docker writes them, for example C([::]:8080:80)
        (every IPv6 address) or C([fd31::1]:8080:80/udp). Without a host address a port is
        published on every address of each family the sandbox has an address of on O(bridge)
        (C(0.0.0.0) and C(::) on a dual-stack network, as Docker does).
      - What Docker's userland proxy would carry is refused before any change, that is an IPv6 host
        address for a sandbox without an IPv6 address on O(bridge) (or an IPv4 one for an
        IPv6-only sandbox), and C([::1]) (IPv6 has no route_localnet).
      - A random host port (as Docker's C(-p 80), C(-p 127.0.0.1::80), C([::]::80) or C(-p
        8000-8100:80) (one free port of the host range for one container port; a dict without
        C(host_port), or with a range for one C(container_port))) is picked (C(-p 80-82) gets one for
        each container port of the range, as Docker does) on the first run and
        kept on every later one while the sandbox publishes it, like an address (read back from
        the firewall's rules; after a reboot or a flush the pick is made again, and is the same
        unless the host's ports changed). The port is free of listeners (TCP or UDP as the
        protocol, any address of either family), of the ports every sandbox publishes and
        host-mode sandboxes claim. C(-p 80) picks the lowest free port above the host's
        C(net.ipv4.ip_local_port_range), then the highest below it, never under 1024. Unlike
        Docker, which picks inside that range and holds the port with its userland proxy, no
        process holds a published port here, so one inside the range could be given by the
        kernel to a program that binds port 0 and be shadowed by the DNAT. A range picks its
        lowest free port. Without a host address one port is picked for both families.
        Check mode shows the port the run picks (the same plan, on the same host state). A kept
        port that a process or another sandbox took since fails the task naming the holder; it
        never moves silently. RV(ports) says what was picked, as C(docker port).
      - "A dict may instead give C(port) (the C(-p) text) and C(allow): the sources the firewall
        admits to that port (no Docker option has this), as a list of CIDRs or addresses of
        either family, for example C({port: '8080:80', allow: [10.231.1.0/24, 'fd31:1::/64']}).
        Anyone else's connection through the host is dropped before it reaches the sandbox (in
        the bridge's forward chain, where the port's accept was). Not filtered: the host's own
        connections (to 127.0.0.1 or its addresses; they never cross the forward hook) and the
        members of the sandbox's own network (they reach its address directly anyway). An empty
        list admits only those. A source of the other family than the sandbox's address on
        O(bridge) is ignored for that family. Inventory group names are taken by
        M(netmodes.linux.sandboxes) (with its C(fleet)), not here. The list is written as a chain
        of its own (nftables: C(allow-ADDRESS.PROTOCOL.PORT@OWNER) in the table, entered from the
        verdict maps C(allowed4)/C(allowed6); iptables: C(NETMODES-AL-HASH), one rule per source),
        replaced as a whole in the run's one transaction when the list changes."
    type: list
    elements: raw
    default: []
  state:
    description: V(present) publishes exactly O(ports); V(absent) unpublishes every port of the sandbox.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - netmodes.linux.attributes
  - netmodes.linux.firewall
notes:
  - Needs the nftables Python binding (python3-nftables or pip-nftables) or the C(nft) command; the
    iptables backend needs python-iptables.
"""

EXAMPLES = r"""
- name: Publish web's port 80 on host port 8080, and its DNS on 127.0.0.1 only
  netmodes.linux.portmap:
    netns: web
    bridge: br0
    ports:
      - "8080:80"
      - "127.0.0.1:5353:53/udp"

- name: Publish api's port 80 on a free host port, kept from then on (docker run -p 80), and 443 on one of 8443-8499
  netmodes.linux.portmap:
    netns: api
    bridge: br0
    ports: ["80", "8443-8499:443"]
  register: api

- name: Where it went (docker port api 80)
  ansible.builtin.debug:
    msg: "{{ api.ports['80/tcp'] }}"

- name: Publish admin's port 443 on 9443 to the office and one IPv6 network only
  netmodes.linux.portmap:
    netns: admin
    bridge: br0
    ports:
      - {port: "9443:443", allow: [10.231.1.0/24, "fd31:1::/64"]}

- name: Unpublish everything of web
  netmodes.linux.portmap:
    netns: web
    bridge: br0
    state: absent
"""

RETURN = r"""
address:
  description: The sandbox IPv4 address the ports forward to.
  returned: when it is known
  type: str
address6:
  description: The sandbox IPv6 address the ports of IPv6 forward to.
  returned: when the sandbox has one on the bridge
  type: str
  sample: fd31:18::10
published:
  description: The published ports after the run (before it, in check mode), one per host port or range.
  returned: always
  type: list
  elements: str
  sample: ["8080:80/tcp", "127.0.0.1:5353:53/udp"]
ports:
  description:
    - The published ports as C(docker port) lists them, container port and protocol to the host
      addresses and ports it is published on (each port of a range on its own); the way to find
      a random host port.
  returned: always
  type: dict
  sample: {"80/tcp": ["0.0.0.0:61000", "[::]:61000"], "53/udp": ["127.0.0.1:5353"]}
backend:
  description: The firewall backend used.
  returned: always
  type: str
  sample: nftables
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._resources.portmap import Portmap
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(Portmap)


if __name__ == "__main__":
    main()
