# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight: every check of a declaration against other objects (the host, the firewall,
the other sandboxes and networks), made before anything changes: references, addresses given
twice, multi-host membership, host ports, published ports, bridge ports, subnets. One builder
per message that more than one check (or resource) gives.
"""

from __future__ import annotations

import re

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _firewall, _fleet, _links
from ansible_collections.netmodes.linux.plugins.module_utils._declaration import DEFAULT_NETWORK, bridge_of, veth_name
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._naming import entry
from ansible_collections.netmodes.linux.plugins.module_utils._ports import Held


def endpoint(addr, port):
    """ADDR:PORT as a listener is written (an IPv6 address in brackets)."""
    return "[%s]:%d" % (addr, port) if addr.version == 6 else "%s:%d" % (addr, port)


def in_use(where, process, addr, port, fix):
    """A port a host process (PROCESS, None if unknown) listens on at ADDR:PORT."""
    return "%s is already in use on the host: %s listens on %s; %s" % (where, process or "a process", endpoint(addr, port), fix)


def published_by(where, who, other):
    """A host port that WHO (in words) already publishes with mapping OTHER."""
    return "%s is already published by %s (%s); choose another host port" % (where, who, other)


# -- networks ------------------------------------------------------------------------------------

def check_subnets_free(specs, net, here, leaving, where):
    """Refuse a declared subnet of a bridge made on this host (a network in HERE) that overlaps an
    address of another interface of the host (another bridge, the host's own network): its routes
    would be ambiguous. LEAVING: links this run removes; WHERE: the variable SPECS were declared in. A macvlan or ipvlan network (no bridge)
    shares its segment's subnet with its parent by design."""
    used = _addresses.host_networks(net, leaving)
    for index, spec in enumerate(specs):
        for subnet in (s for s in (spec.subnet, spec.subnet6) if s is not None and spec.bridge is not None and spec.name in here):
            for name, other in used:
                if name != spec.bridge and subnet.overlaps(other):
                    at = entry(where, index, spec.name)
                    raise InvalidInput("%s: subnet: %s overlaps %s of %s on the host; choose a free subnet" % (at, subnet, other, name), at)


# Before Linux 4.19 the permanent neighbour entries an overlay writes (one per address of each
# member on another host: Docker's peerdb) count against the table's gc_thresh3, past which the
# kernel refuses new entries, the host's own ARP and NDP included (libnetwork#1522, at 1024 by
# default). From 4.19 on they are exempt (commit 58956317c8de "neighbor: Improve garbage
# collection"): 1500 of them on one VXLAN device with gc_thresh3 1024 were all taken on 6.18 here.
NEIGH_EXEMPT_FROM = (4, 19)
NEIGH_THRESH = "net/ipv%d/neigh/default/gc_thresh%d"


def check_neighbour_capacity(sysctl, needed, warnings):
    """Refuse a declaration whose overlays need more permanent neighbour entries on this host than
    its kernel takes, and warn past the soft limit (gc_thresh2); on Linux 4.19 and newer there is
    no such limit. NEEDED: {IP version: entries}; SYSCTL: the adapter (``kernel/osrelease`` and the
    thresholds); WARNINGS: the list a warning is added to."""
    found = re.match(r"(\d+)\.(\d+)", sysctl.get("kernel/osrelease") or "")
    if not found or (int(found.group(1)), int(found.group(2))) >= NEIGH_EXEMPT_FROM:
        return
    release = sysctl.get("kernel/osrelease")
    for version, count in sorted(needed.items()):
        hard, soft = (int(sysctl.get(NEIGH_THRESH % (version, n)) or 0) for n in (3, 2))
        name = (NEIGH_THRESH % (version, 3)).replace("/", ".")
        said = ("the overlay networks of this host need %d static IPv%d neighbour entries (one per address of each member on"
                " another host); Linux %s counts them against %s (%%s)" % (count, version, release, name))
        # the kernel's defaults (512, 1024) on top of what the overlays need: room for the host's own entries
        fix = "set %s=%d and %s=%d (in /etc/sysctl.d), or run Linux 4.19 or newer" % (name[:-1] + "2", count + 512, name, count + 1024)
        if hard and count >= hard:
            raise Conflict("%s and would refuse the rest, the host's own ARP and NDP too; %s" % (said % hard, fix))
        if soft and count >= soft:
            warnings.append("%s: past it the host's own entries are collected early; %s" % (said % soft, fix))


# -- sandboxes -----------------------------------------------------------------------------------

class Preflight:
    """The cross-object checks of a sandboxes run, on the host as ADAPTERS read it; SPANS: the
    multi-host networks on this host, FLEET the inventory, MISSING the batch's report of a missing
    reference (a warning in check mode)."""

    def __init__(self, adapters, spans, fleet, missing):
        self.adapters, self.spans, self.fleet, self.missing = adapters, spans, fleet, missing

    def references(self, specs, networks, leaving):
        net, names = self.adapters["netlink"], {s.name for s in specs if s.state == "present"}
        ips = {}  # {(network, ip): sandbox} of explicit addresses, to find one declared twice
        sharing = {s.name for s in specs if s.mode == "container"}
        for spec in specs:
            if spec.state == "absent":
                continue
            if spec.share_with and spec.share_with not in names and net.netns_inode(spec.share_with) is None:
                raise NotFound("%s: network_mode container:%s names no sandbox; declare %s or run it first"
                               % (spec.name, spec.share_with, spec.share_with), "config")
            first = networks.get(spec.networks[0]) if spec.networks else None
            if spec.publish and first is not None and first.fully_isolated:
                raise InvalidInput("%s: publish: network %s is in gateway mode isolated, so the host has no way to its members"
                                   " and nothing of them can be published; remove publish, or put the sandbox on another network first"
                                   % (spec.name, first.name), "config")
            for index, name in enumerate(spec.networks):
                if name in networks and networks[name].multi_host:
                    self._multi_host(spec, index, networks[name])
                    continue
                bridge = bridge_of(name, networks)
                link = net.link(bridge, routes=False)
                if name != DEFAULT_NETWORK and name not in networks and link is None:
                    self.missing(NotFound("%s: %s: network %r does not exist; declare it in netmodes_networks (or create it"
                                          " with netmodes.linux.networks first)" % (spec.name, "networks" if index else "network_mode", name),
                                          "config"))
                subnets = _addresses.bridge_subnets(link)
                if name in networks:  # its families as declared (its bridge may not have them all yet), subnets declared or kept
                    declared = networks[name]
                    subnets = {v: _addresses.declared(declared, v) or subnets.get(v, (None, None)) for v in declared.families}
                for version in (4, 6):
                    ip = spec.ip_on(index, name, version)
                    if ip:
                        self._given(spec, name, ip, subnets, seen=(ips, leaving, sharing), known=name in networks or link is not None)

    def _given(self, spec, name, ip, subnets, *, seen, known):
        """Check IP, given to SPEC on network NAME (SUBNETS: {version: (subnet, gateway)} it has or
        declares): inside the subnet of its family, not its gateway, nobody else's. SEEN: (the
        addresses given so far, the sandboxes leaving, those sharing a namespace); KNOWN: the
        network is declared or exists (its families are known)."""
        ips, leaving, sharing = seen
        key = "ip" if ip.version == 4 else "ip6"
        subnet, gateway = subnets.get(ip.version, (None, None))
        if known and subnets and ip.version not in subnets:
            raise InvalidInput("%s: %s: %s is an IPv%d address, but network %s has no IPv%d%s" % (
                spec.name, key, ip, ip.version, name, ip.version,
                "; give the network ipv6: true" if ip.version == 6 else " (it is IPv6-only)"), "config")
        if subnet and (ip not in subnet or ip == gateway):
            raise InvalidInput("%s: %s: %s is not a free host address of network %s (%s, gateway %s); choose another"
                               " address in %s or leave %s out" % (spec.name, key, ip, name, subnet, gateway, subnet, key), "config")
        holder = ips.setdefault((name, ip), spec.name)
        holder = holder if holder != spec.name else self._holder(spec, ip, leaving, sharing)
        if holder is not None:
            raise Conflict("%s: %s: %s is already the address of sandbox %s; choose another address in %s or leave %s out"
                           % (spec.name, key, ip, holder, subnet or "the network", key), "config")

    def _holder(self, spec, ip, leaving, sharing):
        """The sandbox on the host (not SPEC's own namespace, nor one LEAVING) that has address IP,
        by a name that is not a second one (SHARING: container mode) where it has one."""
        net = self.adapters["netlink"]
        own = net.netns_inode(spec.name)
        for name in sorted(net.netns_names(), key=lambda n: (n in sharing, n)):
            if name in leaving or (own is not None and net.netns_inode(name) == own):
                continue
            if any(a.ip == ip for a in _addresses.sandbox_interfaces(net, name)):
                return name
        return None

    def _multi_host(self, spec, index, network):
        span, fleet = self.spans.get(network.name), self.fleet
        if span is None:
            raise InvalidInput("%s: network %s does not span this host (%s); add it to the network's hosts"
                               % (spec.name, network.name, fleet.host), "config")
        if not any(m.host == fleet.host and m.sandbox == spec.name for m in span.members):
            raise InvalidInput("%s: it is on network %s, but netmodes_sandboxes of host %s, from which every host of the"
                               " network computes its members, does not declare it there; declare it in netmodes_sandboxes"
                               % (spec.name, network.name, fleet.host), "config")
        if index == 0 and spec.publish and network.bridge is None:
            raise InvalidInput("%s: publish: %s network has no bridge to publish from; its sandboxes have their own address"
                               " on the segment, reach them there" % (spec.name, _fleet.article(network.driver)), "config")

    def bridge_ports(self, specs, networks, undeclared, where):
        """A bridge has at most _links.MAX_BRIDGE_PORTS ports (the kernel's limit): a declaration
        that would plug more sandboxes into one fails before anything changes. Counted are the
        ports each bridge has now (anybody's), less the links of ours to it that this run may
        remove (of every sandbox it names or prunes, UNDECLARED), and the links it will have. WHERE:
        the variable SPECS were declared in."""
        links = {}   # bridge -> {network: the links to it that the declaration has}
        for spec in (s for s in specs if s.state == "present"):
            for name in spec.networks:
                bridge = bridge_of(name, networks)
                if bridge:
                    links.setdefault(bridge, {}).setdefault(name, set()).add(veth_name(spec.name, name))
        for name, span in self.spans.items():
            if span.spec.driver == "overlay" and span.spec.bridge in links:
                links[span.spec.bridge].setdefault(name, set()).add(_fleet.vxlan_name(name))
        names = {s.name for s in specs} | set(undeclared)
        for bridge, by_network in sorted(links.items()):
            on = {n for n, spec in networks.items() if spec.bridge == bridge} | {bridge} | set(by_network)
            wanted = set().union(*by_network.values())
            ours = wanted | {veth_name(sandbox, network) for sandbox in names for network in on}
            full = _links.bridge_full(bridge, len(self.adapters["netlink"].bridge_ports(bridge) - ours), len(wanted))
            if full:
                raise Conflict("%s: network %s: %s. Split its sandboxes across several networks: declare another network"
                               " in netmodes_networks and give some of them network_mode (or networks) with its name"
                               % (where, " and ".join(sorted(by_network)), full), where)

    def host_ports(self, present, accounted):
        """Host mode: a declared port claimed by another host-mode sandbox, published in the firewall
        by a sandbox not in ACCOUNTED (those publish what they declare, which ``publish``
        checks against host-mode ports), or held by a host process that is not the sandbox's own
        service (a port it claimed in an earlier run) fails."""
        if not any(s.ports for s in present):
            return
        sockets = self.adapters["sockets"]
        claims = {name: {tuple(p) for p in ports} for name, ports in sockets.claims().items()}
        declared = {s.name for s in present}
        claimed = {(p, proto): name for name, ports in claims.items() if name not in declared for p, proto in ports}
        theirs = {_firewall.sandbox_owner(name) for name in accounted}
        published = [(who, m) for who, m in self.adapters["firewall"].read().published() if who not in theirs]
        listeners = sockets.listeners()
        for spec in present:
            for port, proto in spec.ports:
                if (port, proto) in claimed:
                    raise Conflict("%s: port %d/%s is already declared by host-mode sandbox %s; give one of them another port"
                                   % (spec.name, port, proto, claimed[(port, proto)]), "config")
                claimed[(port, proto)] = spec.name
                for who, mapping in published:
                    if mapping.covers(port, proto):
                        raise Conflict("%s: port %d/%s is published by %s (%s); host mode would collide with it; give %s"
                                       " another port" % (spec.name, port, proto, _firewall.owner_words(who), mapping, spec.name), "config")
                if (port, proto) in claims.get(spec.name, ()):
                    continue  # claimed in an earlier run: the listener is the sandbox's own service
                for lproto, addr, lport, inode in listeners:
                    if (lproto, lport) == (proto, port):
                        raise Conflict(in_use("%s: port %d/%s" % (spec.name, port, proto), sockets.process_of(inode), addr, lport,
                                              "stop it or change the port"), "config")

    def publish(self, present, accounted, networks=None):
        """A published host port that another sandbox publishes (in this declaration, or in the firewall
        for sandboxes not in ACCOUNTED: declared or pruned), that a host-mode sandbox claims, or that
        a host process listens on fails before anything changes, not when its sandbox is half made.
        NETWORKS ({name: NetworkSpec}): a port published on a network in gateway mode routed takes no host port."""
        if not any(s.publish for s in present):
            return
        sockets = self.adapters["sockets"]
        theirs = {_firewall.sandbox_owner(name) for name in accounted}
        taken = Held((_firewall.owner_words(who), mapping) for who, mapping in self.adapters["firewall"].read().published() if who not in theirs)
        claims = {name: ports for name, ports in sockets.claims().items() if name not in accounted}
        claims.update({s.name: s.ports for s in present if s.ports})
        for spec in present:
            network = (networks or {}).get(spec.networks[0]) if spec.networks else None
            hosted = [m for m in spec.publish if network is None or network.maps_host_port(m)]   # routed: no host port
            for mapping in sorted(hosted):
                self._publish_conflict(spec, mapping, taken, claims)
            for mapping in hosted:
                taken.add("sandbox %s" % spec.name, mapping)

    def _publish_conflict(self, spec, mapping, taken, claims):
        where = "%s: publish: host port %s/%s" % (spec.name, mapping.host_ports(), mapping.protocol)
        found = taken.overlapping(mapping)
        if found is not None:
            raise Conflict(published_by(where, *found), "config")
        for name, ports in sorted(claims.items()):
            if any(mapping.covers(port, proto) for port, proto in ports):
                raise Conflict("%s is already declared by host-mode sandbox %s; choose another host port" % (where, name), "config")
        sockets = self.adapters["sockets"]
        held = mapping.listener(sockets.listeners())
        if held is not None:
            _proto, addr, port, inode = held
            raise Conflict(in_use(where, sockets.process_of(inode), addr, port, "stop it or choose another host port"), "config")
