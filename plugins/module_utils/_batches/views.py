# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolver views in the host's plan (``_resolver``: a dnsmasq per distinct set of resolver
networks and upstream servers that a sandbox of this host has, never one per sandbox), and each
sandbox's redirect to its own (``ViewRedirect``).

A view knows the sandboxes that use it (its ``sandboxes`` file): a run that declares some of the
host's sandboxes keeps the others' views, and a view goes when no sandbox uses it any more."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict
from ansible_collections.netmodes.linux.plugins.module_utils._resources.resolver import Resolver
from ansible_collections.netmodes.linux.plugins.module_utils._resources.view_port import ViewPort
from ansible_collections.netmodes.linux.plugins.module_utils._resources.view_redirect import ViewRedirect


def choose(spec, resolving):
    """The view of sandbox SPEC whose networks with a resolver here are RESOLVING (names, its
    order): (name, networks, upstreams, the network whose resolver its resolv.conf names), or
    None when it asks its first network's resolver (one network, the host's servers) or has none."""
    upstreams = list(spec.dns) if spec.dns else None
    if not _resolver.needs_view(resolving, upstreams):
        return None
    return _resolver.view_name(resolving, upstreams), sorted(resolving), upstreams, resolving[0]


def converge_views(batch, chosen, *, declared, keep, networks, listen, sources, backend):
    """Plan the host's views and the redirects of the DECLARED sandboxes (names).

    CHOSEN: {sandbox: ``choose``'s view, or None} of the declared sandboxes that get DNS files;
    KEEP(name): an undeclared sandbox of a view is still there (not removed by this run);
    NETWORKS: {name: NetworkSpec}; LISTEN(name): a network's resolver addresses here (IPv4 first);
    SOURCES(sandbox, network, version): its addresses there as this plan leaves them."""
    adapter = batch.adapters["resolver"]
    current = {name: adapter.read(name) for name in adapter.networks() if _resolver.is_view(name)}
    users, wanted = {}, {}
    for name, found in current.items():
        kept = {who for who in (found["users"] or "").split() if who not in declared and keep(who)}
        if kept:
            users[name] = kept
    for sandbox, view in sorted(chosen.items()):
        if view is not None:
            users.setdefault(view[0], set()).add(sandbox)
            wanted[view[0]] = view
    taken = {_resolver.port_of(found["config"]) for found in current.values()}
    for name in sorted(users):
        config = current.get(name, {}).get("config")
        port = _resolver.port_of(config) or _resolver.free_port(taken)
        if port is None:
            raise Conflict("no port left for another resolver view on this host (%d-%d): fewer distinct sets of networks and dns"
                           " servers among its sandboxes" % _resolver.VIEW_PORTS, "config")
        taken.add(port)
        if name in wanted:
            _name, names, upstreams, _first = wanted[name]
            listen_on = [ip for network in names for ip in listen(network)]
            servers = _resolver.view_servers([networks[n] for n in names], upstreams, batch.adapters["files"].host_file)
        else:  # used by sandboxes this run does not declare: as it is
            names, listen_on, servers = _resolver.answering(config), _resolver.listening(config), _resolver.forwarding(config)
        batch.run(Resolver, network=name, listen=[str(ip) for ip in listen_on], servers=[str(ip) for ip in servers], port=port,
                  answers=names, users=sorted(users[name]))
        batch.run(ViewPort, view=name, addresses=[str(ip) for ip in listen_on], port=port, firewall_backend=backend)
        for sandbox in sorted(s for s in users[name] if chosen.get(s)):
            first = chosen[sandbox][3]
            address = _resolver.nameserver(listen(first))
            batch.run(ViewRedirect, netns=sandbox, device=_resolver.device(networks[first]), address=str(address), port=port,
                      sources=[str(ip) for ip in sources(sandbox, first, address.version)], firewall_backend=backend)
    for name in sorted(set(current) - set(users)):
        batch.run(Resolver, network=name, state="absent")
        batch.run(ViewPort, view=name, state="absent", firewall_backend=backend)
    for sandbox in sorted(s for s, view in chosen.items() if view is None):
        batch.run(ViewRedirect, netns=sandbox, state="absent", firewall_backend=backend)
