# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandboxes batch (module netmodes.linux.sandboxes): every sandbox of a host (``docker run
--network … -p … -h … --dns …``), in one run, checked first (``_preflight``), its addresses from
the address plan (``_addresses``)."""

from __future__ import annotations

import ipaddress

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _firewall, _fleet, _links, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._batches import prune as _prune
from ansible_collections.netmodes.linux.plugins.module_utils._batches.links import gather_networks
from ansible_collections.netmodes.linux.plugins.module_utils._batches.networks import (
    FLEET_OPTION,
    IPV6_POOL_OPTION,
    STATES,
    converge_networks,
    ensure_network,
    host_spans,
    networks_preflight,
    overlay_reports,
)
from ansible_collections.netmodes.linux.plugins.module_utils._batches.resolvers import bridge_gateways, converge_resolvers, settle_unit
from ansible_collections.netmodes.linux.plugins.module_utils._batches.views import choose, converge_views
from ansible_collections.netmodes.linux.plugins.module_utils._declaration import (
    DEFAULT_BRIDGE,
    DEFAULT_NETWORK,
    MODES,
    SandboxSpec,
    bridge_of,
    mode_of,
    network_spec,
    network_specs,
    sandbox_specs,
    veth_name,
    with_allow_groups,
    with_host_binding,
)
from ansible_collections.netmodes.linux.plugins.module_utils._engine import BatchResource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._naming import DECLARED_IN_OPTION, declared_in
from ansible_collections.netmodes.linux.plugins.module_utils._ports import Held
from ansible_collections.netmodes.linux.plugins.module_utils._preflight import Preflight
from ansible_collections.netmodes.linux.plugins.module_utils._resources.dns_config import DnsConfig
from ansible_collections.netmodes.linux.plugins.module_utils._resources.host_ports import HostPorts
from ansible_collections.netmodes.linux.plugins.module_utils._resources.macvlan import Macvlan
from ansible_collections.netmodes.linux.plugins.module_utils._resources.netns import Netns
from ansible_collections.netmodes.linux.plugins.module_utils._resources.portmap import Portmap
from ansible_collections.netmodes.linux.plugins.module_utils._resources.veth import Veth
from ansible_collections.netmodes.linux.plugins.module_utils._resources.view_redirect import ViewRedirect


class Sandboxes(BatchResource):
    """Every sandbox of a host (``docker run --network … -p … -h … --dns …``), in one run."""

    argument_spec = {
        "config": {"type": "list", "elements": "dict", "default": []},
        "networks": {"type": "list", "elements": "dict", "default": []},
        "state": {"type": "str", "choices": STATES, "default": "merged"},
        "modes": {"type": "list", "elements": "str", "choices": list(MODES), "default": list(MODES)},
        "dns": {"type": "bool", "default": True},
        "force": {"type": "bool", "default": False},
        "fleet": FLEET_OPTION,
        "ipv6_pool": IPV6_POOL_OPTION,
        "firewall_backend": _firewall.BACKEND_OPTION,
        "converge_networks": {"type": "bool", "default": False},
        "declared_in": DECLARED_IN_OPTION,
    }

    def steps(self, batch):
        net, p = self.adapters["netlink"], self.params
        where = declared_in(p, "config", "networks")
        specs = sandbox_specs(p["config"], where["config"])
        listed = network_specs(p["networks"], where["networks"])
        networks = {s.name: s for s in listed}
        specs = with_host_binding(specs, networks)  # a network's host_binding_ipv4, before anything compares ports
        self.spans, self.fleet, self.planned_subnets = {}, _fleet.fleet_from(p["fleet"]), {}
        specs = with_allow_groups(specs, self.fleet, where["config"])  # the groups' hosts by their addresses, as the inventory is now
        self.planned = _addresses.Planned(net, self.check_mode)
        self.pool = _addresses.ipv6_pool(p["ipv6_pool"], "ipv6_pool")
        if p["state"] == "deleted":
            specs = [SandboxSpec(s.name, s.mode, s.networks, s.share_with, state="absent") for s in specs]
        else:
            self.spans = host_spans(listed, self.fleet, where["networks"])
        # Every sandbox is checked, also those of modes this run leaves to another task.
        declared = {s.name for s in specs}
        # Pruning removes the undeclared namespaces of ours, and unplugs those of someone else's.
        undeclared = {n for n in net.netns_names() if n not in declared} if p["state"] == "overridden" else set()
        pruned = {n for n in undeclared if net.netns_owned(n)}
        self.leaving = undeclared | {s.name for s in specs if s.state == "absent"}
        check = Preflight(self.adapters, self.spans, self.fleet, self.missing)
        check.references(specs, networks, self.leaving)
        check.host_ports([s for s in specs if s.state == "present"], declared | undeclared)
        check.publish([s for s in specs if s.state == "present"], declared | undeclared, networks)
        check.bridge_ports(specs, networks, undeclared, where["config"])
        hosting = p["converge_networks"] and p["state"] in ("merged", "overridden")
        wanted = networks_preflight(listed, net, self.spans, p["state"] == "overridden", where["networks"]) if hosting else None
        self.shown, self.hosting = None, False  # what gather reads: every sandbox, no network
        if p["state"] == "gathered":
            return {}
        self.warnings += _prune.still_running(net, self.adapters["sockets"], sorted(pruned))
        if hosting:  # networks first: the sandboxes plug into them
            self.planned_subnets = converge_networks(batch, listed, self.spans, _addresses.taken_subnets(net), backend=p["firewall_backend"],
                                                     pool=self.pool)
        every = {s.name: s for s in specs if s.state == "present"}  # of every mode: what pruning keeps
        specs = [s for s in specs if hosting or mode_of(s) in p["modes"]]
        present = [s for s in specs if s.state == "present"]
        for spec in [s for s in specs if s.state == "absent"]:
            self._remove(batch, spec, networks)
        if p["state"] == "overridden":
            removed = sorted(pruned)
            for name in removed:  # unplugged first: a process may keep the namespace alive (a sidecar's name, a service)
                for resource, options in _prune.plugs(net, [name], networks):
                    batch.run(resource, state="absent", **options)
                self._remove(batch, SandboxSpec(name, "none"), networks)
            _prune.sandboxes(batch, declared=every, removed=removed, networks=networks, force=p["force"], backend=p["firewall_backend"])
        # The resolvers: planned by the runs that plan the sandboxes on networks (not by one for the
        # host or container mode alone, which knows nothing of the networks' members).
        resolvers = hosting or "network" in p["modes"]
        self._build(batch, present, networks, resolvers=resolvers, prune=hosting and p["state"] == "overridden")
        if hosting and p["state"] == "overridden":  # networks last: their members have left them
            _prune.networks(batch, wanted=wanted, backend=p["firewall_backend"])
        self.shown, self.hosting = [s.name for s in present if s.mode != "host"], hosting
        return {}

    def gather(self, adapters):
        net = adapters["netlink"]
        out = {"sandboxes": gather_sandboxes(net, self.shown)}
        if self.hosting:
            out["networks"], out["overlays"] = gather_networks(net), overlay_reports(self.spans, net)
        return out

    @staticmethod
    def _port_options(spec, mappings):
        """MAPPINGS (of SPEC's, or read from the firewall) as the portmap's ports, with SPEC's allow-lists."""
        declared = {m: m for m in spec.publish}
        return [declared.get(m, m).option() for m in sorted(mappings)]

    def member_of(self, spec, name):
        """SPEC's Member on multi-host network NAME."""
        host = self.fleet.host
        return next(m for m in self.spans[name].members if m.host == host and m.sandbox == spec.name)

    def _remove(self, batch, spec, networks):
        backend, net = self.params["firewall_backend"], self.adapters["netlink"]
        if spec.mode == "host":
            batch.run(HostPorts, name=spec.name, ports=[])
            return
        if spec.mode == "container":  # the link to its target's files (its target's own are left alone)
            batch.run(DnsConfig, netns=spec.name, state="absent")
        elif net.netns_inode(spec.name) is not None:
            bridge = bridge_of(spec.networks[0], networks) if spec.networks else DEFAULT_BRIDGE
            if bridge:
                batch.run(Portmap, netns=spec.name, bridge=bridge, state="absent", firewall_backend=backend)
            batch.run(DnsConfig, netns=spec.name, state="absent")
            batch.run(ViewRedirect, netns=spec.name, state="absent", firewall_backend=backend)
            for name in spec.networks:
                batch.run(Veth, name=veth_name(spec.name, name), state="absent")
        batch.run(Netns, name=spec.name, state="absent")

    def _build(self, batch, present, networks, *, resolvers=False, prune=False):
        net, backend = self.adapters["netlink"], self.params["firewall_backend"]
        if any(DEFAULT_NETWORK in s.networks for s in present) and DEFAULT_NETWORK not in networks:
            # As declared with its name alone: the declaration's defaults for it (no resolver, dns false).
            networks[DEFAULT_NETWORK] = network_spec({"name": DEFAULT_NETWORK}, DEFAULT_NETWORK)
            # Not a subnet this plan gives another network (in check mode its bridge is not there to read)
            taken = _addresses.taken_subnets(net) | {subnet for planned in self.planned_subnets.values() for subnet, _gateway in planned.values()}
            self.planned_subnets[DEFAULT_BRIDGE] = ensure_network(batch, networks[DEFAULT_NETWORK], taken, backend, self.pool)
        isolated = [s for s in present if s.mode in ("none", "network")]
        for spec in isolated:
            batch.run(Netns, name=spec.name)
        self._detach(batch, isolated, networks)
        used = _addresses.used_addresses(net, isolated)
        for spec in isolated:
            for index, name in enumerate(spec.networks):
                self._attach(batch, spec, index, name, networks=networks, used=used)
        for spec in [s for s in present if s.mode == "container"]:
            if self._repointed(spec):  # its target changed (or was made again): share the new one
                batch.run(Netns, name=spec.name, state="absent")
            batch.run(Netns, name=spec.name, share_with=spec.share_with)
        for spec in [s for s in present if s.mode == "host"]:
            batch.run(HostPorts, name=spec.name, ports=[list(p) for p in spec.ports])
        # A sandbox first on a network isolated in every family publishes nothing (preflight refuses
        # it): the host has no way to it, nor an address of its in the bridge's (absent) subnets.
        unreachable = [s for s in isolated if s.networks and getattr(networks.get(s.networks[0]), "fully_isolated", False)]
        for spec in unreachable:
            batch.run(Portmap, netns=spec.name, bridge=bridge_of(spec.networks[0], networks), state="absent", firewall_backend=backend)
        publishing = [(s, bridge_of(s.networks[0], networks)) for s in isolated if s.networks and s not in unreachable]
        made = set(self.planned_subnets) | {span.spec.bridge for span in self.spans.values() if span.spec.bridge}  # by this plan, maybe
        publishing = [(s, bridge) for s, bridge in publishing
                      if bridge and (net.link(bridge, routes=False) is not None or bridge in made or not self.check_mode)]
        giving = ports_given_away(self.adapters["firewall"], [s for s, _bridge in publishing])
        for spec, bridge in publishing:  # first the sandboxes whose host ports go to another one let go of them
            if spec.name in giving:
                batch.run(Portmap, netns=spec.name, bridge=bridge, ports=self._port_options(spec, giving[spec.name]), firewall_backend=backend)
        # Let go of already: the sandboxes that gave ports away, and those this run removed
        settled = {_firewall.sandbox_owner(name) for name in set(giving) | self.leaving}
        reserved = reserved_ports([s for s, _bridge in publishing])
        for spec, bridge in publishing:
            if giving.get(spec.name) == sorted(spec.publish):
                continue  # it only let go: done above (planning it again would list the same ops twice in check mode)
            batch.run(Portmap, netns=spec.name, bridge=bridge, ports=self._port_options(spec, spec.publish), firewall_backend=backend,
                      settled=settled, reserved=reserved, routed=getattr(networks.get(spec.networks[0]), "routed", ()),
                      **self.planned.for_portmap(spec.name, spec.networks[0]))
        members = self._members(isolated, networks) if resolvers or self.params["dns"] else {}
        if resolvers:  # once the members' addresses are planned
            converge_resolvers(batch, {n: s for n, s in networks.items() if n != DEFAULT_NETWORK}, self._hosted(isolated, members),
                               members=lambda name: self.network_members(name, members), prune=prune,
                               listen=lambda name: self.resolver_listen(name, networks))
        views = {s.name: choose(s, [n for n in s.networks if self.resolver_listen(n, networks)]) for s in isolated} if self.params["dns"] else {}
        if resolvers and self.params["dns"]:  # the views of the sandboxes on several networks, or with dns servers of their own
            converge_views(batch, views, declared={s.name for s in present}, networks=networks, backend=backend,
                           keep=lambda name: name not in self.leaving and net.netns_inode(name) is not None,
                           listen=lambda name: self.resolver_listen(name, networks),
                           sources=lambda sandbox, name, version: [a.ip for a in self.planned.ips.get(sandbox, {}).get(name, ()) if a.version == version])
        if resolvers:
            settle_unit(batch)
        if self.params["dns"]:
            for spec in isolated:
                self._dns(batch, spec, members, networks, views[spec.name])
            for spec in [s for s in present if s.mode == "container"]:  # Docker's: its target's files
                batch.run(DnsConfig, netns=spec.name, share_with=spec.share_with, force=self.params["force"])

    def _detach(self, batch, specs, networks):
        """Unplug SPECS from what they are no longer declared on, as ``docker network disconnect``:
        a veth of ours named for the sandbox and a network it is not on (or whose link inside is
        not the eth<index> the network has now: it is made again), a macvlan/ipvlan link of ours
        inside that no network of it has at that index, and the published ports of a sandbox that
        has no network left to publish from."""
        net, backend = self.adapters["netlink"], self.params["firewall_backend"]
        host = [link for link in net.all_links() if link.ours]
        known = set(networks) | {DEFAULT_NETWORK} | {link.name for link in host if link.kind == "bridge"}
        veths = {link.name: link for link in host if link.kind == "veth" and link.peer_netns}
        underlays = {name for name, span in self.spans.items() if span.spec.driver in ("macvlan", "ipvlan")}
        owners = {who for who, _mapping in self.adapters["firewall"].read().published()} if any(not s.networks for s in specs) else set()
        for spec in specs:
            inode = net.netns_inode(spec.name)
            if inode is None:
                continue
            for network in sorted(known):
                veth = veths.get(veth_name(spec.name, network))
                if veth is None or veth.peer_netns != inode:
                    continue
                if network not in spec.networks:
                    batch.run(Veth, name=veth.name, state="absent")
                    continue
                inside = net.link("eth%d" % spec.networks.index(network), spec.name, routes=False)
                if inside is None or inside.index != veth.peer_index:
                    batch.run(Veth, name=veth.name, state="absent")
            if underlays:
                keep = {"eth%d" % i for i, name in enumerate(spec.networks) if name in underlays}
                for link in net.all_links(spec.name):
                    if link.kind in ("macvlan", "ipvlan") and link.ours and link.name not in keep:
                        batch.run(Macvlan, name=link.name, kind=link.kind, netns=spec.name, state="absent")
            if not spec.networks and _firewall.sandbox_owner(spec.name) in owners:
                batch.run(Portmap, netns=spec.name, bridge=DEFAULT_BRIDGE, state="absent", firewall_backend=backend)

    def _attach(self, batch, spec, index, name, *, networks, used):
        if name in self.spans:
            self._attach_multi_host(batch, spec, index, self.spans[name], networks)
            return
        bridge = bridge_of(name, networks)
        subnets = self.gateways(bridge, networks.get(name))
        if not subnets:
            self.missing(NotFound("%s: network %s has no subnet yet (its bridge %s is not there)" % (spec.name, name, bridge), "config"))
            return
        addresses, gateways = [], []
        for version, (subnet, gateway) in sorted(subnets.items()):
            ip = _addresses.pick_address(spec.name, name, given=spec.ip_on(index, name, version), subnet=subnet, gateway=gateway, used=used)
            used.setdefault(spec.name, set()).add(ip)
            self.planned.put(spec.name, name, _addresses.interface(ip, subnet))
            addresses.append(str(_addresses.interface(ip, subnet)))
            gateways.append(str(gateway))
        # Hairpin on, as Docker without its userland proxy: a sandbox reaches its own published ports.
        batch.run(Veth, name=veth_name(spec.name, name), peer="eth%d" % index, netns=spec.name, bridge=bridge, hairpin=True,
                  addresses=addresses, gateway=gateways if name == gateway_network(spec, networks) else [], ipv6=_links.ipv6_of(subnets))

    def _attach_multi_host(self, batch, spec, index, span, networks):
        """Plug SPEC into this host's part of a multi-host network, at the address every host computes."""
        network, member = span.spec, self.member_of(spec, span.spec.name)
        addresses = [_addresses.interface(ip, network.declared(ip.version)[0]) for ip in member.addresses]
        for address in addresses:
            self.planned.put(spec.name, network.name, address)
        addresses, ipv6 = [str(a) for a in addresses], _links.ipv6_of(network.families)
        if network.driver == "overlay":  # its host's bridge is its gateway
            gateways = [str(ip) for ip in span.addresses.values()] if network.name == gateway_network(spec, networks) else []
            mtu = _fleet.overlay_mtu(network, self.adapters["netlink"], span.local).mtu
            batch.run(Veth, name=veth_name(spec.name, network.name), peer="eth%d" % index, netns=spec.name, bridge=network.bridge,
                      hairpin=True, addresses=addresses, gateway=gateways, mtu=mtu, mac=_fleet.member_mac(member), ipv6=ipv6)
            return
        gateways = ([str(g) for g in (network.declared(v)[1] for v in network.families) if g]
                    if network.name == gateway_network(spec, networks) else [])
        batch.run(Macvlan, name="eth%d" % index, parent=network.parent, kind=network.driver, mode=network.mode, netns=spec.name,
                  addresses=addresses, gateway=gateways, mtu=network.mtu, ipv6=ipv6)

    def _members(self, specs, networks):
        """{network: [_fleet.Member]} of the user-defined networks on this host (Docker's embedded
        DNS), in the order of their names: every namespace with an address there, under the
        aliases SPECS declare."""
        net, aliases = self.adapters["netlink"], {s.name: s.aliases for s in specs}
        # A namespace under several names (container mode) is a member under its declared name only.
        inodes = net.netns_inodes()
        declared = {inodes.get(s.name) for s in specs}
        # The declared sandboxes are where this plan puts them (also in check mode, where nothing
        # moved yet); those leaving are gone by then.
        names = sorted({n for n, inode in inodes.items() if n not in aliases and inode not in declared and n not in self.leaving}
                       | set(aliases))
        out = {}
        # Every declared network's, not only those of SPECS: a run for part of the host (a mode
        # role's) leaves the others' members, and their resolvers, as they are.
        for name in {n for n in set(networks) | {n for s in specs for n in s.networks} if n != DEFAULT_NETWORK and n not in self.spans}:
            subnets = [subnet for subnet, _gateway in self.gateways(bridge_of(name, networks)).values()]
            kept = self._kept_names(name) if any(n not in aliases for n in names) else {}
            out[name] = [_fleet.Member(self.fleet.host, sandbox, ip, 0,
                                       tuple(aliases[sandbox]) if sandbox in aliases
                                       else tuple(n for n in kept.get(str(ip), ()) if n != sandbox))
                         for sandbox in names
                         for ip in _addresses.by_family(a.ip for a in self.planned.of(sandbox, sandbox in aliases))
                         if any(ip in subnet for subnet in subnets)]
        return out

    def _kept_names(self, network):
        """{address: names} network NETWORK's resolver answers now: the aliases of the members a
        run for part of the host does not declare are known from there alone."""
        resolvers = self.adapters.get("resolver")
        return _resolver.names_by_address(resolvers.read(network)["hosts"]) if resolvers else {}

    def _hosted(self, specs, members):
        """The networks that have members on this host: those SPECS are on, those with another
        member here (MEMBERS: what ``_members`` found, undeclared namespaces included), and the
        multi-host ones the fleet gives this host members of."""
        here = self.fleet.host
        return ({n for s in specs for n in s.networks} | {n for n, found in members.items() if found}
                | {n for n, span in self.spans.items() if any(m.host == here and m.present for m in span.members)})

    def network_members(self, name, members):
        """The _fleet.Member of network NAME: of every host when it spans several (from the fleet),
        else of this host (MEMBERS: what ``_members`` found)."""
        return self.spans[name].members if name in self.spans else members.get(name, ())

    def _dns(self, batch, spec, members, networks, view):
        """SPEC's hostname, hosts and resolv.conf.

        Its resolv.conf names the resolver of the first of its networks that has one: that
        network's own when it is the only one and SPEC names no nameservers of its own, else
        (VIEW, ``_batches.views.choose``) the same address, redirected to its resolver view,
        which answers for the members of all of them and forwards to its nameservers. Those
        members come from the resolver, so, as in Docker, the hosts file lists none of them. It
        lists the members of its other networks (_fleet.hosts_entries: those with ``dns: false``,
        or all of them when no network of it has a resolver and it names nameservers of its own),
        network by network in its order: a name once, where its first member comes, with a line
        for each member that has it; a member on several of the sandbox's networks under the
        address of the last of them."""
        lines, host = {}, self.fleet.host
        resolving = [name for name in spec.networks if self.resolver_listen(name, networks)]
        serving = resolving[0] if resolving and (view or not spec.dns) else None
        resolver = _resolver.nameserver(self.resolver_listen(serving, networks)) if serving else None
        for name in spec.networks:
            if resolver is not None and name in (view[1] if view else [serving]):
                continue
            for who, member, ip in _fleet.hosts_entries(self.network_members(name, members), host, spec.name):
                lines[(who, member, ipaddress.ip_address(ip).version)] = ip  # one line per family
        peers = {}
        for (who, _member, _version), ip in lines.items():
            peers.setdefault(who, []).append(ip)
        batch.run(DnsConfig, planned_addresses=self.planned.links(spec.name, spec.networks), netns=spec.name,
                  hostname=spec.hostname or spec.name, nameservers=list(spec.dns) if spec.dns and resolver is None else None,
                  search=list(spec.dns_search) if spec.dns_search is not None else None,
                  options=list(spec.dns_options) if spec.dns_options is not None else None,
                  extra_hosts=spec.extra_hosts, peers=peers or None, force=self.params["force"],
                  resolver=[str(resolver), "%s, through its resolver view of %s" % (serving, ", ".join(view[1])) if view else serving]
                  if resolver is not None else None)

    def gateways(self, bridge, spec=None):
        """{IP version: (subnet, gateway)} of bridge BRIDGE (of network SPEC, when declared) as this plan leaves it ({}: unknown yet)."""
        return bridge_gateways(self.planned_subnets, self.adapters["netlink"], bridge, spec)

    def resolver_listen(self, name, networks):
        """The addresses (IPv4 first) the resolver of network NAME listens on, on this host, as this
        plan leaves them ([]: it has none, or its bridge has no address yet); NETWORKS: {name: spec}."""
        spec = networks.get(name)
        if spec is None or not _resolver.has_resolver(spec):
            return []
        if name in self.spans:
            return _resolver.addresses(spec, index=self.spans[name].index)
        return _resolver.addresses(spec, {v: gateway for v, (_subnet, gateway) in self.gateways(spec.bridge).items()})

    def _repointed(self, spec):
        """A container-mode sandbox that exists but shares another namespace than its target's now
        (the target was renamed, removed or made again in this run)."""
        net = self.adapters["netlink"]
        inode = net.netns_inode(spec.name)
        if inode is None or not net.netns_owned(spec.name):
            return False
        return spec.share_with in self.leaving or inode != net.netns_inode(spec.share_with)  # None: made by this run


def gateway_network(spec, networks):
    """The network of SPEC's default route: its first network that is not internal (Docker's
    gateway endpoint: a sandbox on internal networks only has no default route, and one on an
    internal and another network routes off-network through the other); NETWORKS: {name: spec}."""
    return next((name for name in spec.networks if not (name in networks and networks[name].internal)), None)


def ports_given_away(firewall, specs):
    """{sandbox: the published ports it keeps} of the SPECS that publish a host port now that
    another of them is declared to publish (a port moving from one sandbox to another, or two
    swapping theirs). Run first, these let go before any sandbox takes a port; the preflight
    already checked the declaration, so in check mode (nothing let go) the sandboxes taking
    them treat those owners as SETTLED."""
    held = {}
    for who, mapping in firewall.read().published():
        held.setdefault(who, set()).add(mapping)
    out = {}
    for spec in specs:
        mine = held.get(_firewall.sandbox_owner(spec.name), set())
        randoms = [m for m in spec.publish if m.pick is not None]
        leaving = {m for m in mine - set(spec.publish) if not any(r.keeps(m) for r in randoms)}  # a random port kept stays
        if leaving and any(m.overlaps(o) for m in leaving for other in specs if other is not spec for o in other.publish):
            out[spec.name] = sorted(mine & set(spec.publish))
    return out


def reserved_ports(specs):
    """The fixed host ports SPECS publish (a _ports.Held by owner tag), which no random port of
    another of them takes; None when none of them has a random port."""
    if not any(m.pick is not None for spec in specs for m in spec.publish):
        return None
    return Held((_firewall.sandbox_owner(spec.name), m) for spec in specs for m in spec.publish if m.pick is None)


def gather_sandboxes(net, names=None):
    """{name: {addresses}} of the host's sandboxes (all, or NAMES)."""
    out = {}
    for name in names if names is not None else net.netns_names():
        if net.netns_inode(name) is None:
            continue
        out[name] = {"addresses": sorted(str(a) for link, addrs in net.addresses_by_link(name).items() if link != "lo" for a in addrs)}
    return out
