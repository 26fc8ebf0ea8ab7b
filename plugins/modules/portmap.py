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
  - With nftables the rules live in the table C(inet netmodes), written in one transaction per
    run; published ports are map elements, so lookups do not slow down as ports are added. With
    iptables (python-iptables, for iptables-legacy hosts) they live in chains named C(NETMODES-*),
    every rule commented as the collection's, and each table is committed once per run.
    Rules, chains and tables that are not the collection's are never touched.
  - Published connections are let into the bridge network by the policy of
    M(netmodes.linux.bridge); other connections from outside the network are dropped there.
  - To reach the sandbox the host must forward packets from the interfaces that carry the
    published address, so their C(net.ipv4.conf.IFACE.forwarding) is switched on (all interfaces
    with an IPv4 address for ports published on every address); the bridge gets C(route_localnet)
    so that C(127.0.0.1) works.
options:
  netns:
    description: The sandbox whose ports are published; its address on O(bridge) is looked up.
    type: str
  address:
    description: The sandbox address to forward to, instead of looking it up through O(netns).
    type: str
  bridge:
    description: The bridge network of the sandbox (made by M(netmodes.linux.bridge)).
    type: str
    required: true
  ports:
    description:
      - Published ports in Docker's C(-p) syntax, C([HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]), for
        example C(8080:80), C(127.0.0.1:8080:80), C(5353:53/udp) or the range C(5000-5010:5000-5010),
        or as dicts with C(host_ip), C(host_port), C(container_port) and C(protocol) (tcp, udp, sctp).
      - A host port is required (Docker's random host ports are not idempotent). IPv6 host
        addresses are not supported yet.
    type: list
    elements: raw
    default: []
  state:
    description: V(present) publishes exactly O(ports); V(absent) unpublishes every port of the sandbox.
    type: str
    choices: [present, absent]
    default: present
  firewall_backend:
    description:
      - The firewall to write to. V(auto) uses iptables where the host's C(iptables --version) says
        legacy (or nftables is missing) and nftables everywhere else.
      - Use the same backend for every task of a host; rules written by one backend are not seen
        by the other.
    type: str
    choices: [auto, nftables, iptables]
    default: auto
extends_documentation_fragment:
  - netmodes.linux.attributes
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

- name: Unpublish everything of web
  netmodes.linux.portmap:
    netns: web
    bridge: br0
    state: absent
"""

RETURN = r"""
address:
  description: The sandbox address the ports forward to.
  returned: when it is known
  type: str
  sample: 172.18.0.10
published:
  description: The published ports after the run (before it, in check mode), one per host port or range.
  returned: always
  type: list
  elements: str
  sample: ["8080:80/tcp", "127.0.0.1:5353:53/udp"]
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

import ipaddress

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall, _sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import address, ifname, netns_name, port_mappings
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


class Portmap(Resource):
    argument_spec = {
        "netns": {"type": "str"},
        "address": {"type": "str"},
        "bridge": {"type": "str", "required": True},
        "ports": {"type": "list", "elements": "raw", "default": []},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "firewall_backend": {"type": "str", "choices": ["auto"] + list(_firewall.BACKENDS), "default": "auto"},
    }
    mutually_exclusive = [("netns", "address")]
    required_one_of = [("netns", "address")]

    def desired(self):
        p = self.params
        target = address(p["address"], "address") if p["address"] else None
        if target is not None and target.version != 4:
            raise InvalidInput("address: %s: IPv6 sandbox addresses are not supported yet" % target, "address")
        mappings = port_mappings(p["ports"], "ports") if p["state"] == "present" else frozenset()
        netns = netns_name(p["netns"], "netns") if p["netns"] else None
        owner = _firewall.sandbox_owner(netns, target)
        if len(owner.encode("utf-8")) > 120:
            raise InvalidInput("netns: the sandbox name is too long to tag firewall rules with (at most 114 bytes)", "netns")
        return {"netns": netns, "address": target, "bridge": ifname(p["bridge"], "bridge"), "ports": mappings,
                "state": p["state"], "owner": owner}

    def read(self, desired):
        net, sysctl = self.adapters["netlink"], self.adapters["sysctl"]
        bridge = net.link(desired["bridge"])
        current = {"bridge": bridge, "firewall": self.adapters["firewall"].read(), "address": desired["address"],
                   "listeners": [], "host_addresses": {}, "sysctl": {}}
        if desired["state"] == "absent":
            return current
        subnets = [a.network for a in (bridge.addresses if bridge else ()) if a.version == 4]
        if current["address"] is None and net.netns_inode(desired["netns"]) is not None:
            found = sorted(a.ip for addrs in net.addresses_by_link(desired["netns"]).values()
                           for a in addrs if any(a.ip in s for s in subnets))
            current["address"] = found[0] if found else None
        current["subnet"] = next((s for s in subnets if current["address"] in s), None) if current["address"] else None
        current["listeners"] = self.adapters["sockets"].listeners()
        current["host_addresses"] = net.addresses_by_link()
        keys = ["net/ipv4/conf/%s/route_localnet" % desired["bridge"]]
        keys += ["net/ipv4/conf/%s/forwarding" % name for name in current["host_addresses"]]
        current["sysctl"] = {key: sysctl.get(key) for key in keys}
        return current

    def plan(self, current, desired):
        owner, state, obj = desired["owner"], current["firewall"], "portmap %s" % desired["owner"]
        firewall = self.adapters["firewall"]
        before = published(state, owner)
        if desired["state"] == "absent":
            return _firewall.plan(obj, "published", firewall, state, owner, want=set(), before=before, after=[])
        if current["bridge"] is None:
            self.missing(NotFound("bridge: %s does not exist; create it with netmodes.linux.bridge first" % desired["bridge"], "bridge"))
        self._check_conflicts(current, desired)
        target, subnet = current["address"], current.get("subnet")
        if target is None or subnet is None:
            why = ("address: %s is not inside a subnet of bridge %s" % (desired["address"], desired["bridge"]) if desired["address"]
                   else "netns: sandbox %r has no IPv4 address on bridge %s; plug it in with netmodes.linux.veth first"
                   % (desired["netns"], desired["bridge"]))
            self.missing(NotFound(why, "address" if desired["address"] else "netns"))
            want = set()  # check mode only: the address is not known yet
        else:
            want = firewall.render(owner, [_firewall.Publish(m, target, subnet) for m in desired["ports"]])
        after = sorted(str(m) for m in desired["ports"])
        ops = _firewall.plan(obj, "published", firewall, state, owner, want=want, before=before, after=after)
        if desired["ports"]:
            ops += self._sysctl_ops(current, desired, obj)
        return ops

    def _check_conflicts(self, current, desired):
        owner, field = desired["owner"], "ports"
        theirs = [(who, m) for who, m in current["firewall"].published() if who != owner]
        for mapping in sorted(desired["ports"]):
            for who, other in theirs:
                if mapping.overlaps(other):
                    raise Conflict("%s: host port %s/%s is already published by %s (%s); choose another host port"
                                   % (field, mapping.host_ports(), mapping.protocol, _who(who), other), field)
            for protocol, addr, port, inode in current["listeners"]:
                if protocol != mapping.protocol or not mapping.host_port <= port <= mapping.host_port_end:
                    continue
                if addr.is_unspecified or mapping.host_ip.is_unspecified or addr == mapping.host_ip:
                    process = self.adapters["sockets"].process_of(inode)
                    raise Conflict("%s: host port %d/%s is already in use on the host: %s listens on %s; stop it or choose"
                                   " another host port" % (field, port, protocol, process or "a process", _endpoint(addr, port)), field)

    def _sysctl_ops(self, current, desired, obj):
        hosts = {m.host_ip for m in desired["ports"]}
        only = None if ipaddress.ip_address("0.0.0.0") in hosts else hosts
        wanted = ["net/ipv4/conf/%s/route_localnet" % desired["bridge"]] + _sysctl.uplinks(current["host_addresses"], only)
        return _sysctl.plan(obj, current["sysctl"], dict.fromkeys(wanted, "1"))

    def result(self, current, desired):
        out = {"published": published(current["firewall"], desired["owner"]), "backend": self.adapters["firewall"].name}
        if current.get("address") is not None:
            out["address"] = str(current["address"])
        return out


def _who(owner):
    kind, _sep, name = owner.partition(":")
    return "sandbox %s" % name if kind == "netns" else owner.replace(":", " ", 1)


def _endpoint(addr, port):
    return "[%s]:%d" % (addr, port) if addr.version == 6 else "%s:%d" % (addr, port)


def published(state, owner):
    """OWNER's published ports in the firewall, as Docker -p strings."""
    return sorted({str(m) for who, m in state.published() if who == owner})


def main():
    run_module(Portmap)


if __name__ == "__main__":
    main()
