# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolver views in the host's plan: a sandbox on several networks with resolvers, or with dns
servers of its own, asks a dnsmasq of the view (its networks, its upstreams) through its first
network's resolver address (a redirect of the firewall); one view per distinct view, never per
sandbox; it goes with the last sandbox that uses it."""

from __future__ import annotations

import ipaddress

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._declaration import network_spec

NETWORKS = [{"name": "front", "subnet": "10.231.150.0/24"},
            {"name": "back", "subnet": "10.231.151.0/24", "internal": True},
            {"name": "side", "subnet": "10.231.152.0/24", "internal": True}]
SANDBOXES = [{"name": "web", "network_mode": "front"},
             {"name": "db", "network_mode": "back", "networks": ["front"]},
             {"name": "db2", "network_mode": "front", "networks": ["back"]},
             {"name": "vault", "network_mode": "back", "networks": ["side"]},
             {"name": "own", "network_mode": "front", "dns": ["10.231.0.77"]}]
BOTH = _resolver.view_name(["front", "back"], None)
INTERNAL = _resolver.view_name(["back", "side"], None)
OWN = _resolver.view_name(["front"], ["10.231.0.77"])


def run_with(converge, sandboxes=None, check=False, **options):
    return converge(Sandboxes, check=check, config=SANDBOXES if sandboxes is None else sandboxes, networks=NETWORKS,
                    converge_networks=True, **options)


def views(resolvers):
    return sorted(n for n in resolvers.networks() if _resolver.is_view(n))


def redirects(firewall):
    return sorted(o for o in firewall.read().owners() if o.startswith("dnsview:"))


def closed(firewall):
    return sorted(o for o in firewall.read().owners() if o.startswith("dnsport:"))


def test_one_view_per_distinct_set_of_networks_and_upstreams(converge, resolvers, files, firewall):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    check = run_with(converge, check=True)
    assert resolvers.calls == [] and redirects(firewall) == [], "check mode made nothing"
    result = run_with(converge)
    assert [op for op in result["operations"] if "resolver" in op["object"]] == \
        [op for op in check["operations"] if "resolver" in op["object"]], "check mode planned the same"
    assert views(resolvers) == sorted([BOTH, INTERNAL, OWN]), "db and db2 share theirs; web asks front's own resolver"
    both = resolvers.resolvers[BOTH]
    assert both["users"] == "db\ndb2\n" and both["hosts"] is None
    config = both["config"]
    assert _resolver.VIEW_PORTS[0] <= _resolver.port_of(config) <= _resolver.VIEW_PORTS[0] + 2
    assert "hostsdir=/run/netmodes-resolver/back/hosts\nhostsdir=/run/netmodes-resolver/front/hosts\n" in config
    assert "listen-address=10.231.151.1\nlisten-address=10.231.150.1\n" in config
    assert "server=10.231.0.53\n" in config, "front is not internal: the host's servers"
    assert "server=" not in resolvers.resolvers[INTERNAL]["config"], "an internal-only view forwards nothing"
    assert "server=10.231.0.77\n" in resolvers.resolvers[OWN]["config"] and "10.231.0.53" not in resolvers.resolvers[OWN]["config"]
    assert len({_resolver.port_of(resolvers.resolvers[v]["config"]) for v in views(resolvers)}) == 3, "a port each"
    assert redirects(firewall) == ["dnsview:db", "dnsview:db2", "dnsview:own", "dnsview:vault"]
    assert closed(firewall) == sorted(_firewall.view_port_owner(v) for v in (BOTH, INTERNAL, OWN)), "a view's own port: redirected only"
    port = _resolver.port_of(config)
    # db asks back's resolver (its first network), db2 front's: the same view
    for who, device, source, gateway in (("db", "back", "10.231.151.2", "10.231.151.1"), ("db2", "front", "10.231.150.4", "10.231.150.1")):
        owner = _firewall.view_owner(who)
        want = _firewall.ViewRedirect(_bridge(device), (ipaddress.ip_address(source),), ipaddress.ip_address(gateway), port)
        assert firewall.read().owned_by(owner) == firewall.render(owner, [want])
    assert "nameserver 10.231.151.1" in files.files[("db", "resolv.conf")]
    assert "# Nameserver: the resolver of network back, through its resolver view of back, front." in files.files[("db", "resolv.conf")]
    assert "nameserver 10.231.150.1" in files.files[("own", "resolv.conf")], "own's servers are its view's upstreams"
    assert not run_with(converge)["changed"] and not run_with(converge, check=True)["changed"]


def _bridge(network):
    return network_spec(next(n for n in NETWORKS if n["name"] == network), "networks").bridge


def test_a_view_stays_for_sandboxes_a_run_does_not_declare_and_goes_with_its_last(converge, resolvers, files, firewall):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    run_with(converge)
    run_with(converge, [SANDBOXES[0]])  # merged: the others stay
    assert views(resolvers) == sorted([BOTH, INTERNAL, OWN])
    run_with(converge, [dict(SANDBOXES[1], networks=[])])  # db leaves front: back's resolver alone
    assert resolvers.resolvers[BOTH]["users"] == "db2\n" and "dnsview:db" not in redirects(firewall)
    run_with(converge, [SANDBOXES[2]], state="deleted")
    assert BOTH not in views(resolvers) and _firewall.view_port_owner(BOTH) not in closed(firewall), "its last sandbox is gone"
    run_with(converge, [SANDBOXES[0], dict(SANDBOXES[1], networks=[])], state="overridden")
    assert views(resolvers) == [] and redirects(firewall) == [] and closed(firewall) == [], "pruned with their sandboxes"
    assert sorted(resolvers.networks()) == ["back", "front"]


def test_a_new_port_is_never_one_a_view_of_the_host_has(converge, resolvers, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    run_with(converge, SANDBOXES[:2])
    first = _resolver.port_of(resolvers.resolvers[BOTH]["config"])
    run_with(converge, SANDBOXES[3:4])
    assert _resolver.port_of(resolvers.resolvers[INTERNAL]["config"]) != first
    assert _resolver.port_of(resolvers.resolvers[BOTH]["config"]) == first, "a view keeps its port"
