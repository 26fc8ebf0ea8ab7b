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
  - The rules live in the nftables table C(inet netmodes), written in one transaction per run;
    published ports are map elements, so lookups do not slow down as ports are added.
    Rules, chains and tables that are not the collection's are never touched.
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
      - The firewall to write to. V(auto) and V(nftables) both use nftables in this release (the
        python-iptables backend for iptables-legacy hosts is not written yet).
    type: str
    choices: [auto, nftables]
    default: auto
extends_documentation_fragment:
  - netmodes.linux.attributes
notes:
  - Needs the nftables Python binding (python3-nftables or pip-nftables) or the C(nft) command.
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

from ansible_collections.netmodes.linux.plugins.module_utils import _nftables as nft
from ansible_collections.netmodes.linux.plugins.module_utils import _sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import address, ifname, netns_name, port_mapping, port_mappings
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


class Portmap(Resource):
    argument_spec = {
        "netns": {"type": "str"},
        "address": {"type": "str"},
        "bridge": {"type": "str", "required": True},
        "ports": {"type": "list", "elements": "raw", "default": []},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "firewall_backend": {"type": "str", "choices": ["auto", "nftables"], "default": "auto"},
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
        return {"netns": netns, "address": target, "bridge": ifname(p["bridge"], "bridge"), "ports": mappings,
                "state": p["state"], "owner": netns or str(target)}

    def read(self, desired):
        net, sysctl = self.adapters["netlink"], self.adapters["sysctl"]
        bridge = net.link(desired["bridge"])
        current = {"bridge": bridge, "table": self.adapters["firewall"].read(), "address": desired["address"],
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
        owner, table, obj = desired["owner"], current["table"], "portmap %s" % desired["owner"]
        have = table.owned_by(owner)
        before = published(have)
        if desired["state"] == "absent":
            if not have:
                return []
            return [Op("delete", obj, before={"published": before},
                       call=("firewall.stage", {"commands": self._commands(table, owner, set(), have)}))]
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
            want = set().union(*(elements(m, target, subnet) for m in desired["ports"]))
        after = published(want) if want else sorted(str(m) for m in desired["ports"])
        ops = []
        if want != have or (want and not table.skeleton_intact()):
            commands = self._commands(table, owner, want, have)
            ops.append(Op("set", obj, "published", before, after, ("firewall.stage", {"commands": commands})))
        if desired["ports"]:
            ops += self._sysctl_ops(current, desired, obj)
        return ops

    @staticmethod
    def _commands(table, owner, want, have):
        if nft.is_empty_after(table, owner, want):
            return [{"delete": {"table": {"family": nft.FAMILY, "name": nft.TABLE}}}]
        return nft.skeleton_commands(table) + nft.element_commands(owner, want - have, have - want)

    def _check_conflicts(self, current, desired):
        owner = desired["owner"]
        theirs = published_by(current["table"].others(owner))
        field = "ports"
        for mapping in sorted(desired["ports"]):
            for who, other in theirs:
                if mapping.overlaps(other):
                    raise Conflict("%s: host port %s/%s is already published by sandbox %s (%s); choose another host port"
                                   % (field, mapping.host_ports(), mapping.protocol, who, other), field)
            for protocol, addr, port, inode in current["listeners"]:
                if protocol != mapping.protocol or not mapping.host_port <= port <= mapping.host_port_end:
                    continue
                if addr.is_unspecified or mapping.host_ip.is_unspecified or addr == mapping.host_ip:
                    process = self.adapters["sockets"].process_of(inode)
                    raise Conflict("%s: host port %d/%s is already in use on the host: %s listens on %s; stop it or choose"
                                   " another host port" % (field, port, protocol, process or "a process", _endpoint(addr, port)), field)

    def _sysctl_ops(self, current, desired, obj):
        wanted = ["net/ipv4/conf/%s/route_localnet" % desired["bridge"]]
        hosts = {m.host_ip for m in desired["ports"]}
        for name, addrs in sorted(current["host_addresses"].items()):
            if name == "lo":
                continue
            ips = {a.ip for a in addrs if a.version == 4}
            if ips and (ipaddress.ip_address("0.0.0.0") in hosts or ips & hosts):
                wanted.append("net/ipv4/conf/%s/forwarding" % name)
        return _sysctl.plan(obj, current["sysctl"], dict.fromkeys(wanted, "1"))

    def result(self, current, desired):
        out = {"published": published(current["table"].owned_by(desired["owner"])), "backend": "nftables"}
        if current.get("address") is not None:
            out["address"] = str(current["address"])
        return out


def _endpoint(addr, port):
    return "[%s]:%d" % (addr, port) if addr.version == 6 else "%s:%d" % (addr, port)


def elements(mapping, target, subnet):
    """The nftables elements that publish MAPPING to sandbox address TARGET in SUBNET."""
    host = "0.0.0.0/0" if mapping.host_ip.is_unspecified else str(mapping.host_ip)
    proto, out = mapping.protocol, set()
    if mapping.size > 1 and mapping.host_port == mapping.container_port:
        out.add(("range4", (host, proto, mapping.host_ports()), str(target)))
    else:  # one element per port: a map can only rewrite to one port per element
        for offset in range(mapping.size):
            key = (host, proto, str(mapping.host_port + offset))
            out.add(("addr4", key, str(target)))
            out.add(("port4", key, str(mapping.container_port + offset)))
    container = "%d" % mapping.container_port if mapping.size == 1 else "%d-%d" % (mapping.container_port, mapping.container_port_end)
    out.add(("hairpin4", (str(subnet), str(target), proto, container), None))
    if mapping.host_ip.is_loopback:
        out.add(("loopback4", (host, proto, mapping.host_ports()), None))
    return out


def published_by(items):
    """[(owner, PortMapping)] from nftables elements (set, key, value, owner) of addr4/port4/range4."""
    ports = {(who, key): value for name, key, value, who in items if name == "port4"}
    out = []
    for name, key, _value, who in items:
        if name not in ("addr4", "range4"):
            continue
        host, proto, hport = key
        ip = "" if host == "0.0.0.0/0" else host + ":"
        cport = ports.get((who, key), hport) if name == "addr4" else hport
        out.append((who, port_mapping("%s%s:%s/%s" % (ip, hport, cport, proto), "ports")))
    return sorted(out)


def published(owned):
    """The published ports of one owner, as Docker -p strings, from its elements."""
    return sorted({str(m) for _who, m in published_by([(name, key, value, "") for name, key, value in owned])})


def main():
    run_module(Portmap)


if __name__ == "__main__":
    main()
