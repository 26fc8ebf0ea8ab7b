# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The networks batch (module netmodes.linux.networks): every network of a host, in one run, and
this host's part of the multi-host networks (spans) that the sandboxes batch plugs into."""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _firewall, _fleet, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._batches import prune as _prune
from ansible_collections.netmodes.linux.plugins.module_utils._batches.links import gather_networks, our_host_links
from ansible_collections.netmodes.linux.plugins.module_utils._batches.resolvers import prune_resolvers, settle_unit
from ansible_collections.netmodes.linux.plugins.module_utils._declaration import (
    DEFAULT_BRIDGE,
    NetworkSpec,
    network_specs,
    sandbox_specs,
)
from ansible_collections.netmodes.linux.plugins.module_utils._engine import BatchResource
from ansible_collections.netmodes.linux.plugins.module_utils._naming import DECLARED_IN_OPTION, declared_in, entry
from ansible_collections.netmodes.linux.plugins.module_utils._preflight import check_neighbour_capacity, check_subnets_free
from ansible_collections.netmodes.linux.plugins.module_utils._resources.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.module_utils._resources.macvlan import Macvlan
from ansible_collections.netmodes.linux.plugins.module_utils._resources.resolver import Resolver
from ansible_collections.netmodes.linux.plugins.module_utils._resources.resolver_firewall import ResolverFirewall
from ansible_collections.netmodes.linux.plugins.module_utils._resources.vxlan import Vxlan

STATES = ["merged", "overridden", "deleted", "gathered"]
FLEET_OPTION = {"type": "dict", "default": {}}
# netmodes_ipv6_pool: the prefix networks with ipv6 and no IPv6 subnet take a /64 of.
IPV6_POOL_OPTION = {"type": "str"}


class Networks(BatchResource):
    """Every network of a host (``docker network create``), in one run: bridges, and this host's
    part of the overlay, macvlan and ipvlan networks that span it."""

    argument_spec = {
        "config": {"type": "list", "elements": "dict", "default": []},
        "state": {"type": "str", "choices": STATES, "default": "merged"},
        "fleet": FLEET_OPTION,
        "ipv6_pool": IPV6_POOL_OPTION,
        "firewall_backend": _firewall.BACKEND_OPTION,
        "declared_in": DECLARED_IN_OPTION,
    }

    def steps(self, batch):
        where = declared_in(self.params, "config")["config"]
        specs = network_specs(self.params["config"], where)
        net, state = self.adapters["netlink"], self.params["state"]
        backend, self.spans = self.params["firewall_backend"], {}
        if state == "gathered":
            return {}
        if state == "deleted":
            for spec in specs:
                remove_network(batch, spec, backend)
            settle_unit(batch)
            return {}
        pool = _addresses.ipv6_pool(self.params["ipv6_pool"], "ipv6_pool")
        spans = self.spans = host_spans(specs, _fleet.fleet_from(self.params["fleet"]), where)
        wanted = networks_preflight(specs, net, spans, state == "overridden", where)
        converge_networks(batch, specs, spans, _addresses.taken_subnets(net), backend=backend, pool=pool)
        if state == "overridden":
            _prune.networks(batch, wanted=wanted, backend=backend)
            prune_resolvers(batch, {s.name for s in specs})
            settle_unit(batch)
        return {}

    def gather(self, adapters):
        """Every network of the host as it is, and its overlays' MTUs; but after a removal (state deleted): nothing."""
        if self.params["state"] == "deleted":
            return {}
        return {"networks": gather_networks(adapters["netlink"]), "overlays": overlay_reports(self.spans, adapters["netlink"])}


def networks_preflight(specs, net, spans, prune, where):
    """Check SPECS (declared in WHERE) against the host before anything changes; the host links of
    ours that networks make and that are to stay when PRUNE (the others go), or None."""
    made = [s for s in specs if s.name in spans or not s.multi_host]  # the networks with a part on this host
    wanted, leaving = None, set()
    if prune:
        wanted = {s.bridge for s in made}
        wanted |= {_fleet.vxlan_name(n) for n, s in spans.items() if s.spec.driver == "overlay"}
        wanted |= {_fleet.shim_name(n) for n, s in spans.items() if s.spec.shim}
        leaving = {link.name for link in our_host_links(net) if link.name not in wanted and link.name != DEFAULT_BRIDGE}
    check_subnets_free(specs, net, {s.name for s in made}, leaving, where)
    return wanted


def converge_networks(batch, specs, spans, taken, *, backend, pool=None):
    """Create or update this host's part of every network in SPECS; {bridge: {IP version:
    (subnet, gateway)}} of the bridge networks, as planned (in check mode a new bridge has no
    address to read yet). POOL: where IPv6 subnets are picked (``_addresses.ipv6_subnet``)."""
    taken = taken | {subnet for s in specs for subnet in (s.subnet, s.subnet6) if subnet}
    needed = {}
    for span in (spans[s.name] for s in specs if s.name in spans and s.driver == "overlay"):
        for member, _underlay in span.remote:
            for ip in member.addresses:
                needed[ip.version] = needed.get(ip.version, 0) + 1
    check_neighbour_capacity(batch.adapters["sysctl"], needed, batch.warnings)
    out = {}
    # Shims first: a bridge claims forwarding on the interfaces with IPv4 addresses it finds, so
    # one made after it would be claimed only by the next run (and not by a restore).
    for spec in sorted(specs, key=lambda s: not (s.name in spans and s.shim)):
        if spec.name in spans:
            ensure_multi_host(batch, spans[spec.name], backend)
        elif not spec.multi_host:
            out[spec.bridge] = ensure_network(batch, spec, taken, backend, pool)
    return out


@dataclass(frozen=True)
class Span:
    """A multi-host network as this host sees it (computed alike on every host it spans)."""

    spec: NetworkSpec
    hosts: tuple           # the hosts it spans, naturally sorted
    index: int             # this host's index
    addresses: dict        # {IP version: this host's own address}: its bridge's or its shim's
    members: tuple         # _fleet.Member of every host
    local: object = None   # this host's underlay address (overlay)
    peers: tuple = ()      # the other hosts' underlay addresses (overlay)
    remote: tuple = ()     # (Member, its host's underlay address) of the other hosts' present members (overlay)
    where: str = ""        # its entry in the variable that declares it, for messages


def host_spans(specs, fleet, where):
    """{network: Span} of the multi-host networks in SPECS that span this host (fleet.host).

    Every host of a network makes the same Span from the same fleet; a network that does not
    span this host is left out (it has nothing on this host).
    """
    out, declared = {}, {}
    for index, spec in enumerate(specs):
        if not spec.multi_host:
            continue
        here = entry(where, index, spec.name)
        hosts = _fleet.span(spec, fleet, here)
        if fleet.host not in hosts:
            continue
        for host in hosts:
            if host not in declared:
                declared[host] = sandbox_specs(fleet.hosts[host].sandboxes, "%s: netmodes_sandboxes" % host)
        indexes = _fleet.host_indexes(hosts, fleet, spec.max_hosts, here)
        members = _fleet.members(spec, {h: declared[h] for h in hosts}, indexes, here)
        local, peers, remote = None, (), ()
        if spec.driver == "overlay":
            underlay = dict(zip(hosts, _fleet.peers_of(hosts, fleet, here), strict=True))
            local, peers = underlay[fleet.host], tuple(underlay[h] for h in hosts if h != fleet.host)
            remote = tuple((m, underlay[m.host]) for m in members if m.present and m.host != fleet.host)
        out[spec.name] = Span(spec, hosts, indexes[fleet.host], _addresses.host_addresses(spec, indexes[fleet.host]),
                              tuple(members), local, peers, remote, here)
    return out


def ensure_multi_host(batch, span, backend):
    """This host's part of an overlay network (a bridge and a VXLAN device into it, with every
    other host as a peer) or of a macvlan/ipvlan network (its shim, if asked for).

    An overlay's VXLAN device gets Docker's peerdb from the inventory: a forwarding entry (MAC to
    host) and a neighbour entry (address to MAC: ARP, and NDP for IPv6) for every member on
    another host, so it answers ARP and neighbour solicitations itself and learns nothing;
    broadcasts still reach every peer. Its underlay (local and peers) is IPv4 or IPv6, whichever
    the inventory gives, whatever the families of the network itself."""
    spec, net = span.spec, batch.adapters["netlink"]
    if spec.driver == "overlay":
        found = _fleet.overlay_mtu(spec, net, span.local)
        mtu, beyond = found.mtu, _fleet.mtu_beyond_underlay(found, span.where)
        batch.warnings += [beyond] if beyond else []
        batch.run(Bridge, name=spec.bridge, addresses=[str(_addresses.interface(ip, spec.declared(v)[0])) for v, ip in span.addresses.items()],
                  mtu=mtu, internal=spec.internal, ip_masquerade=spec.masquerade, icc=spec.icc, firewall_backend=backend)
        fdb = [{"mac": _fleet.member_mac(m), "dst": str(underlay)} for m, underlay in span.remote]
        neigh = [{"ip": str(ip), "mac": _fleet.member_mac(m)} for m, _underlay in span.remote for ip in m.addresses]
        batch.run(Vxlan, name=_fleet.vxlan_name(spec.name), vni=spec.vni, local=str(span.local), dstport=spec.dstport,
                  mtu=mtu, bridge=spec.bridge, peers=[str(p) for p in span.peers], fdb=fdb, neigh=neigh, firewall_backend=backend)
        admit_members(batch, spec, spec.bridge, {v: spec.declared(v)[0] for v in span.addresses}, backend, index=span.index)
    elif spec.shim:
        # libnetwork#1915: a macvlan child cannot reach its parent's addresses, so the host gets a
        # sibling of its own: its address alone (/32, /128), and a route to its slice of the network.
        batch.run(Macvlan, name=_fleet.shim_name(spec.name), parent=spec.parent, kind=spec.driver, mode=spec.mode,
                  addresses=["%s/%d" % (ip, ip.max_prefixlen) for ip in span.addresses.values()],
                  routes=[{"dst": str(_addresses.host_slice(spec, span.index, v))} for v in span.addresses], mtu=spec.mtu,
                  ipv6="on" if 6 in span.addresses else None)
        admit_members(batch, spec, _fleet.shim_name(spec.name), {v: spec.declared(v)[0] for v in span.addresses}, backend, index=span.index)
    else:
        batch.run(Macvlan, name=_fleet.shim_name(spec.name), kind=spec.driver, state="absent")
        batch.run(ResolverFirewall, device=_fleet.shim_name(spec.name), state="absent", firewall_backend=backend)


def overlay_reports(spans, net):
    """{network: what this host's overlay MTU and underlay are} (``_fleet.OverlayMtu.report``), for
    the comparison across the network's hosts that only the controller can make (``fleet_check``)."""
    return {name: _fleet.overlay_mtu(span.spec, net, span.local).report(span.where)
            for name, span in sorted(spans.items()) if span.spec.driver == "overlay"}


def admit_members(batch, spec, device, subnets, backend, *, gateways=None, index=None):
    """Let the members of network SPEC (arriving on DEVICE, from SUBNETS: {IP version: subnet})
    reach its resolver on this host, and no one else; remove that when it has none (``dns:
    false``). GATEWAYS and INDEX as ``_resolver.addresses`` takes them."""
    found = [str(_addresses.interface(ip, subnets[ip.version])) for ip in _resolver.addresses(spec, gateways, index)]
    batch.run(ResolverFirewall, device=device, addresses=found, state="present" if found else "absent", firewall_backend=backend)


def gateway_options(spec):
    """The bridge module's gateway options (``_gateway.OPTIONS``) of network SPEC, where any is not the default."""
    policy = dict(spec.gateway_policy)
    if not policy:
        return {}
    return {"gateway_mode_ipv4": policy["mode4"], "gateway_mode_ipv6": policy["mode6"], "trusted_host_interfaces": list(policy["trusted"]),
            **{"host_ipv%d" % a.version: str(a) for a in policy["snat"]}}


def remove_network(batch, spec, backend):
    """Remove what a network has on this host (whichever its driver: the names are its own)."""
    batch.run(Resolver, network=spec.name, state="absent")
    if spec.driver == "overlay":
        batch.run(Vxlan, name=_fleet.vxlan_name(spec.name), state="absent", firewall_backend=backend)
    if spec.bridge:
        batch.run(ResolverFirewall, device=spec.bridge, state="absent", firewall_backend=backend)
        batch.run(Bridge, name=spec.bridge, state="absent", firewall_backend=backend)
    if spec.driver in ("macvlan", "ipvlan"):
        batch.run(Macvlan, name=_fleet.shim_name(spec.name), kind=spec.driver, state="absent")
        batch.run(ResolverFirewall, device=_fleet.shim_name(spec.name), state="absent", firewall_backend=backend)


def ensure_network(batch, spec, taken, backend, pool=None):
    """Converge one network's bridge: its gateway's address in each of its families; a subnet is
    kept once chosen (it is the bridge's address). {IP version: (subnet, gateway)}."""
    link = batch.adapters["netlink"].link(spec.bridge, routes=False)
    subnets = _addresses.network_subnets(spec, link, taken, pool)
    batch.run(Bridge, name=spec.bridge, addresses=[str(_addresses.interface(gateway, subnet)) for subnet, gateway in subnets.values()],
              internal=spec.internal, ip_masquerade=spec.masquerade, icc=spec.icc, firewall_backend=backend, **gateway_options(spec))
    admit_members(batch, spec, spec.bridge, {v: subnet for v, (subnet, _gw) in subnets.items()}, backend,
                  gateways={v: gateway for v, (_subnet, gateway) in subnets.items()})
    return subnets
