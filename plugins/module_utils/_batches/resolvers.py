# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolvers in the host's plan: one per network that has one (``_resolver.has_resolver``) and
members on this host, planned once the members' addresses are; those of the declared networks
that have none here any more (no member left, ``dns: false``) go, and when pruning, those of
networks that are no longer declared."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._resources.resolver import Resolver
from ansible_collections.netmodes.linux.plugins.module_utils._resources.resolver_unit import ResolverUnit


def converge_resolvers(batch, networks, wanted, *, members, listen, prune=False):
    """Plan the resolvers of this host.

    NETWORKS: {name: NetworkSpec} declared; WANTED: the names of those that have members here;
    MEMBERS(name): the network's _fleet.Member, on every host; LISTEN(name): the addresses its
    resolver listens on, on this host, as this plan leaves them ([]: none, or not known yet).
    PRUNE: remove the resolvers of networks that are not declared. Where they run as systemd
    units, the unit template is planned before the first of them starts."""
    listening = {name: listen(name) if name in wanted else [] for name in sorted(networks)}
    if any(listening.values()):
        batch.run(ResolverUnit, state="present")
    for name, spec in sorted(networks.items()):
        listen_on = listening[name]
        if not listen_on:
            batch.run(Resolver, network=name, state="absent")
            continue
        servers = _resolver.servers(spec, batch.adapters["files"].host_file)
        batch.run(Resolver, network=name, listen=[str(ip) for ip in listen_on], servers=[str(ip) for ip in servers],
                  hosts=_resolver.hosts(name, members(name)))
    if prune:
        prune_resolvers(batch, networks)


def prune_resolvers(batch, declared):
    """Remove the resolvers of the networks that are not DECLARED (names); the views are the
    sandboxes' (``_batches.views``)."""
    for name in batch.adapters["resolver"].networks():
        if name not in declared and not _resolver.is_view(name):
            batch.run(Resolver, network=name, state="absent")


def settle_unit(batch):
    """Plan the removal of the systemd unit template once no resolver is left on this host (after
    the steps that remove resolvers)."""
    if not batch.adapters["resolver"].networks():
        batch.run(ResolverUnit, state="absent")


def bridge_gateways(planned, net, bridge, spec=None):
    """{IP version: (subnet, gateway)} of bridge BRIDGE: as PLANNED ({bridge: that}) by this run
    (its step comes first), else as it has them (a network of another run; SPEC: its declaration
    when given, for the subnets of its isolated families); {} when unknown."""
    return planned.get(bridge) or _addresses.with_isolated(_addresses.bridge_subnets(net.link(bridge, routes=False)), spec)
