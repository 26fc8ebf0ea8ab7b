# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A resolver per network (Docker's embedded DNS, podman's aardvark-dns): the facts every part
shares about it.

Every user-defined network with ``dns`` (the default) has, on every host that has members of it,
one DNS server (dnsmasq, from Debian's ``dnsmasq-base``) that answers for every member and alias
of the network on every host of the fleet and forwards other names. It listens on the network's
own address on this host, which every member reaches without a route off the network:

- a bridge network: the bridge's gateway address of each family (the sandboxes' gateway);
- an overlay network: the host's bridge on it, the first address of the host's slice (also the
  gateway of the host's own sandboxes);
- a macvlan or ipvlan network with ``shim: true``: the host's shim, the first address of its
  slice. Without a shim the host cannot be reached from the network (the kernel keeps a macvlan
  parent and its children apart), so such a network has no resolver and its members get hosts
  files as with ``dns: false``.

Docker's default ``bridge`` network never has one (the declaration refuses ``dns: true`` on it).
"""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses

PORT = 53                       # udp and tcp
RUN_DIR = "/run/netmodes/resolver"


def has_resolver(spec):
    """Network SPEC has a resolver on the hosts that have its members."""
    return spec.dns and (spec.driver in ("bridge", "overlay") or spec.shim)


def addresses(spec, gateways=None, index=None):
    """The addresses (ip_address, IPv4 first) the resolver of network SPEC listens on, on this host;
    [] when the network has none. GATEWAYS: {IP version: gateway address} of a bridge network as
    the address plan gives it (declared, or picked with its subnet); INDEX: this host's index on a
    multi-host network."""
    if not has_resolver(spec):
        return []
    if spec.driver == "bridge":
        return [gateways[version] for version in sorted(gateways or {})]
    return [_addresses.host_address(spec, index, version) for version in spec.families]


def serving(names, specs):
    """Which of a sandbox's networks NAMES (in its order) answers its resolv.conf: the first that
    has a resolver, or None. SPECS: {name: NetworkSpec} of the declared networks; a network not
    declared to this run (made by another) counts as having none, as its ``dns`` is not known."""
    return next((name for name in names if name in specs and has_resolver(specs[name])), None)


def nameserver(listening):
    """The one address a sandbox's resolv.conf names of a resolver listening on LISTENING
    (``addresses``, IPv4 first): its IPv4 one, else (an IPv6-only network) its IPv6 one; None
    when it listens nowhere."""
    return listening[0] if listening else None
