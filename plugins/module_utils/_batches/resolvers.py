# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolvers in the host's plan: one per network that has one (``_resolver.has_resolver``) and
members on this host, planned once the members' addresses are; those of the declared networks
that have none here any more (no member left, ``dns: false``) go, and when pruning, those of
networks that are no longer declared."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._resources.resolver import Resolver


def converge_resolvers(batch, networks, wanted, *, members, spans, subnets, prune=False):
    """Plan the resolvers of this host.

    NETWORKS: {name: NetworkSpec} declared; WANTED: the names of those that have members here;
    MEMBERS(name): the network's _fleet.Member, on every host; SPANS: {name: Span} of the
    multi-host networks on this host; SUBNETS(spec): {IP version: (subnet, gateway)} of a bridge
    network as this plan leaves it ({} when unknown yet). PRUNE: remove the resolvers of networks
    that are not declared."""
    for name, spec in sorted(networks.items()):
        listen = []
        if name in wanted and _resolver.has_resolver(spec):
            if name in spans:
                listen = _resolver.addresses(spec, index=spans[name].index)
            else:
                listen = _resolver.addresses(spec, {v: gateway for v, (_subnet, gateway) in subnets(spec).items()})
        if not listen:
            batch.run(Resolver, network=name, state="absent")
            continue
        servers = _resolver.servers(spec, batch.adapters["files"].host_file)
        batch.run(Resolver, network=name, listen=[str(ip) for ip in listen], servers=[str(ip) for ip in servers],
                  hosts=_resolver.hosts(name, members(name)))
    if prune:
        prune_resolvers(batch, networks)


def prune_resolvers(batch, declared):
    """Remove the resolvers of the networks that are not DECLARED (names)."""
    for name in batch.adapters["resolver"].networks():
        if name not in declared:
            batch.run(Resolver, network=name, state="absent")


def bridge_gateways(planned, net, spec):
    """{IP version: (subnet, gateway)} of bridge network SPEC: as PLANNED by this run, else as its bridge has them."""
    return planned.get(spec.bridge) or _addresses.bridge_subnets(net.link(spec.bridge, routes=False))
