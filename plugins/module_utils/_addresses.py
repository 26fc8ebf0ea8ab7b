# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The address plan: every address the collection computes, in one place.

A network's subnets (one per address family) and gateways, the pick of a free subnet from
Docker's pools (IPv4) or of a ULA /64 that every host derives alike (IPv6), the addresses of a
sandbox on a network (as read, or picked), and the per-host slices of multi-host networks. Every
other module asks here; none works out an address itself.
"""

from __future__ import annotations

import hashlib
import ipaddress

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput

# Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s. The first is
# Docker's default network's (docker0's 172.17.0.0/16, on every Docker host): the others never
# take it, whatever order the networks are declared in, and it takes the first free one when the
# host already uses it.
POOLS = [ipaddress.ip_network("172.%d.0.0/16" % i) for i in range(17, 32)] + \
        [ipaddress.ip_network("192.168.%d.0/20" % (16 * i)) for i in range(16)]
FAMILIES = (4, 6)  # the address families networks and sandboxes have addresses of
# How many /64s of a pool an IPv6 network tries before it gives up (a host with that many taken is
# not one to guess on).
IPV6_TRIES = 4096


# -- a network's subnets ---------------------------------------------------------------------------

def subnets_of(addresses, version):
    """The subnets of ADDRESSES (interfaces: a link's, link-local ones never read) of IP VERSION."""
    return [a.network for a in addresses if a.version == version]


def bridge_subnets(link):
    """{IP version: (subnet, gateway)} of an existing bridge LINK, from its first address of
    each family (link-local ones are never read)."""
    out = {}
    for addr in sorted(link.addresses if link else (), key=lambda a: (a.version, a)):
        out.setdefault(addr.version, (addr.network, addr.ip))
    return out


def with_isolated(found, spec):
    """FOUND ({IP version: (subnet, gateway)} a bridge has) with the declared subnets of network
    SPEC's families in gateway mode isolated, which its bridge has no address of (None: not declared here)."""
    if spec is None or not spec.isolated:
        return found
    return {**found, **{version: declared(spec, version) for version in spec.isolated}}


def declared(spec, version):
    """(subnet, gateway) network SPEC declares in IP VERSION, its gateway the first host address
    unless given; None where it declares no subnet of that version."""
    subnet, gateway = spec.declared(version)
    return (subnet, gateway or default_gateway(subnet)) if subnet is not None else None


def default_gateway(subnet):
    """The gateway of SUBNET when none is given: its first host address (Docker's choice)."""
    return next(subnet.hosts())


def all_subnets(addresses):
    """The subnets of ADDRESSES in every family (what a link reports), IPv4 first, sorted."""
    return sorted({a.network for a in addresses}, key=lambda n: (n.version, n))


def network_subnets(spec, link, taken, pool=None):
    """{IP version: (subnet, gateway)} of bridge network SPEC in each of its families: declared,
    else kept from its bridge LINK (its address, once chosen), else picked free of TAKEN (which
    the picks join): IPv4 from Docker's pools, IPv6 a /64 of POOL or of the ULA its name gives."""
    have = bridge_subnets(link)
    out = {}
    for version in spec.families:
        found = declared(spec, version) or have.get(version)
        if found is None:
            subnet = pick_subnet(taken, spec.docker_default) if version == 4 else ipv6_subnet(spec.name, taken, pool)
            found = (subnet, default_gateway(subnet))
        taken.add(found[0])
        out[version] = found
    return out


def _digest(name):
    return int.from_bytes(hashlib.sha256(("netmodes.linux\0%s" % name).encode("utf-8")).digest()[:8], "big")


def ula_of(name):
    """The ULA /48 (RFC 4193: fd and a 40-bit global ID) of network NAME: its global ID from the
    name, so that every host of a fleet derives the same one, never fd00::/48 (the one often
    picked by hand)."""
    global_id = (_digest(name) >> 24) or 1
    return ipaddress.ip_network(((0xFD << 120) | (global_id << 80), 48))


def ipv6_subnet(name, taken, pool=None):
    """The IPv6 /64 of network NAME that overlaps none of TAKEN: in POOL (an IPv6 network the
    user gives, ``netmodes_ipv6_pool``), starting at the /64 its name points at; else the first
    free /64 of its own ULA /48. Alike on every host whose routes and addresses leave it free."""
    base, start = (ula_of(name), 0) if pool is None else (pool, _digest(name))
    count = 2 ** (64 - base.prefixlen)
    used = [t for t in taken if t.version == 6]
    for step in range(min(count, IPV6_TRIES)):
        candidate = ipaddress.ip_network((int(base.network_address) + (((start + step) % count) << 64), 64))
        if not any(candidate.overlaps(t) for t in used):
            return candidate
    raise Conflict("network %s: no free IPv6 /64 left in %s; give the network an IPv6 subnet" % (name, base))


def ipv6_pool(value, field_name):
    """The IPv6 pool networks take their /64s from (``netmodes_ipv6_pool``), or None."""
    if not value:
        return None
    try:
        pool = ipaddress.ip_network(str(value))
    except ValueError:
        pool = None
    if pool is None or pool.version != 6 or pool.prefixlen > 64:
        raise InvalidInput("%s: %r is not an IPv6 prefix of at most /64; give one like fd31:1234:5678::/48" % (field_name, value),
                           field_name)
    return pool


def lowest_ip(addresses, version=4):
    """The lowest address of IP VERSION of ADDRESSES (a bridge's gateway as reported), or None."""
    ips = sorted(a.ip for a in addresses if a.version == version)
    return ips[0] if ips else None


def pick_subnet(taken, docker_default=False):
    """The first of Docker's pools that overlaps none of TAKEN (networks); the first pool is
    Docker's default network's alone (DOCKER_DEFAULT: the network picking is that one)."""
    for pool in POOLS if docker_default else POOLS[1:]:
        if not any(pool.overlaps(t) for t in taken):
            return pool
    raise Conflict("no free subnet left in the default pools (172.17-31.0.0/16, 192.168.0.0/16); give the network a subnet")


def taken_subnets(net):
    """Networks already in use on the host, both families: connected subnets and routed destinations."""
    out = {a.network for addrs in net.addresses_by_link().values() for a in addrs}
    out |= {dst for version in FAMILIES for dst in net.route_destinations(version=version) if dst.prefixlen}
    return out


def host_networks(net, leaving=()):
    """[(link, network)] of the host's addresses (both families), but on the links LEAVING, by link name."""
    return [(name, a.network) for name, addrs in sorted(net.addresses_by_link().items()) if name not in leaving
            for a in sorted(addrs, key=lambda a: (a.version, a))]


# -- a sandbox's addresses -----------------------------------------------------------------------

def sandbox_interfaces(net, sandbox):
    """The addresses (interfaces, every family) SANDBOX (a namespace) has, on any of its links."""
    return [a for addrs in net.addresses_by_link(sandbox).values() for a in addrs]


def sandbox_ips(net, sandbox):
    """The addresses (both families, but loopback) SANDBOX (a namespace) has, on any of its links."""
    return {a.ip for a in sandbox_interfaces(net, sandbox) if not a.ip.is_loopback}


def by_family(ips):
    """IPS sorted IPv4 first (addresses of both families do not compare)."""
    return sorted(ips, key=lambda ip: (ip.version, ip))


def address_in(net, sandbox, subnets):
    """SANDBOX's address in one of SUBNETS (its lowest, IPv4 first), as read, or None."""
    found = by_family(a.ip for a in sandbox_interfaces(net, sandbox) if any(a.ip in s for s in subnets))
    return found[0] if found else None


def new_namespace_lo(host_lo):
    """The addresses lo has in a namespace made now: 127.0.0.1, and ::1 where the host's lo
    (HOST_LO, its addresses) has IPv6."""
    return [ipaddress.ip_interface("127.0.0.1/8")] + [a for a in host_lo if a.version == 6 and a.ip.is_loopback]


def interface(ip, subnet):
    """The interface (address/prefix) IP has on SUBNET."""
    return ipaddress.ip_interface("%s/%d" % (ip, subnet.prefixlen))


def pick_address(sandbox, network, *, given, subnet, gateway, used):
    """SANDBOX's address on NETWORK (SUBNET, GATEWAY): GIVEN, else the one it has there (in USED,
    {sandbox: its addresses}), else the first free host address; InvalidInput or Conflict."""
    mine = {ip for ip in used.get(sandbox, ()) if ip in subnet}
    ip = given or (min(mine) if mine else None)
    if ip is not None and (ip not in subnet or ip == gateway):
        raise InvalidInput("%s: %s: %s is not a free host address of network %s (%s, gateway %s)"
                           % (sandbox, "ip" if ip.version == 4 else "ip6", ip, network, subnet, gateway), "config")
    if ip is None:
        taken = {gateway} | {a for other, addrs in used.items() if other != sandbox for a in addrs}
        ip = next((h for h in subnet.hosts() if h not in taken), None)
        if ip is None:
            raise Conflict("%s: network %s (%s) has no free address left" % (sandbox, network, subnet), "config")
    return ip


def used_addresses(net, specs):
    """{sandbox: set of addresses} of every sandbox on the host, and those SPECS give (taken also
    before their sandbox is made), for allocation."""
    out = {name: sandbox_ips(net, name) for name in net.netns_names()}
    for spec in specs:
        out.setdefault(spec.name, set()).update(spec.given())
    return out


class Planned:
    """The addresses a run gives its sandboxes, {sandbox: {network: [interface]}} (IPv4 first), as it plans them:
    in check mode their links may not be there yet (or be about to be made again), so the hosts
    files and the published ports take them from here."""

    def __init__(self, net, check_mode):
        self.net, self.check_mode, self.ips = net, check_mode, {}

    def put(self, sandbox, network, address):
        self.ips.setdefault(sandbox, {}).setdefault(network, []).append(address)

    def of(self, sandbox, declared):
        """The addresses of SANDBOX: where this plan puts it when DECLARED, else as read."""
        if declared:
            return [a for addrs in self.ips.get(sandbox, {}).values() for a in addrs]
        return sandbox_interfaces(self.net, sandbox)

    def links(self, sandbox, networks):
        """Check mode: {link: addresses} SANDBOX (on NETWORKS, in order) will have once its links
        are made, for its hosts file; None in a real run (dns_config reads them)."""
        if not self.check_mode:
            return None
        net = self.net
        out = net.addresses_by_link(sandbox) if net.netns_inode(sandbox) is not None else {}
        if not out.get("lo"):  # a namespace made now, or whose lo is not up yet (the plan brings it up): 127.0.0.1, and ::1
            out["lo"] = new_namespace_lo(net.addresses_by_link().get("lo", ()))  # where the host has IPv6
        planned = self.ips.get(sandbox, {})
        out.update({"eth%d" % i: list(planned[n]) for i, n in enumerate(networks) if n in planned})
        return out

    def for_portmap(self, sandbox, network):
        """Check mode: the addresses (interfaces, a family each) Portmap cannot read yet (the link is to be made)."""
        found = self.ips.get(sandbox, {}).get(network) if self.check_mode else None
        return {"planned_addresses": list(found)} if found else {}


# -- multi-host networks: per-host slices ----------------------------------------------------------

def slice_base(spec, version=4):
    """What multi-host network SPEC cuts into per-host slices in IP VERSION: its ip_range or
    subnet (IPv4), its IPv6 subnet (IPv6)."""
    return (spec.ip_range or spec.subnet) if version == 4 else spec.subnet6


def check_slices(spec, where):
    """Fail unless SPEC's range of each of its families cut into max_hosts slices leaves each
    slice some addresses (4 at least)."""
    bits = spec.max_hosts.bit_length() - 1
    if spec.max_hosts < 1 or 1 << bits != spec.max_hosts:
        raise InvalidInput("%s: max_hosts: %r is not a power of two (1, 2, 4, ... 16, ...)" % (where, spec.max_hosts), where)
    for version in spec.families:
        base = slice_base(spec, version)
        if base.prefixlen + bits > base.max_prefixlen - 2:
            field_name = "ip_range" if version == 4 and spec.ip_range else "subnet" if version == 4 else "IPv6 subnet"
            raise InvalidInput("%s: max_hosts: %d slices of %s would have %d addresses each; give a bigger %s or a smaller max_hosts"
                               % (where, spec.max_hosts, base, 2 ** max(0, base.max_prefixlen - base.prefixlen - bits), field_name),
                               where)


def host_slice(spec, index, version=4):
    """The slice of SPEC's subnet (or ip_range) in IP VERSION that the host with INDEX allocates from."""
    base = slice_base(spec, version)
    prefix = base.prefixlen + spec.max_hosts.bit_length() - 1
    size = 2 ** (base.max_prefixlen - prefix)
    return ipaddress.ip_network((int(base.network_address) + index * size, prefix))


def usable(spec, block, version=4):
    """The addresses of BLOCK a host or sandbox may have: not the subnet's network address (nor
    its broadcast address, IPv4), nor the segment's gateway."""
    skip = _unusable(spec, version)
    return (ipaddress.ip_address(int(block.network_address) + i) for i in range(block.num_addresses)
            if ipaddress.ip_address(int(block.network_address) + i) not in skip)


def _unusable(spec, version):
    """The addresses of SPEC's subnet of IP VERSION no host or sandbox has."""
    subnet, gateway = spec.declared(version)
    return {subnet.network_address, gateway} | ({subnet.broadcast_address} if version == 4 else set())


def host_address(spec, index, version=4):
    """The host's own address on SPEC in IP VERSION: the first usable one of its slice (bridge or shim)."""
    return next(usable(spec, host_slice(spec, index, version), version))


def host_addresses(spec, index):
    """{IP version: the host's own address} on SPEC, in each of its families."""
    return {version: host_address(spec, index, version) for version in spec.families}


def member_addresses(spec, hosts, declared, indexes, where):
    """[(host, sandbox spec, {IP version: ip}, position)] of every sandbox on multi-host network
    SPEC, the same on every host: in each of its families a static ``ip`` (``ip6``), else the next
    free address of its host's slice, in the order of HOSTS and, per host, of its DECLARED
    sandboxes ({host: [SandboxSpec]}); INDEXES are the hosts' indexes (their slices)."""
    out = {}
    for host in hosts:  # an address of a family the network lacks
        for sandbox in declared[host]:
            for version in (v for v in (4, 6) if v not in spec.families and _given(sandbox, spec, v)):
                _check_static(spec, (host, sandbox, _given(sandbox, spec, version)), {}, {}, where)
    for version in spec.families:
        for key, ip in _member_addresses(spec, version, hosts, (declared, indexes), where).items():
            out.setdefault(key, {})[version] = ip
    return [(host, sandbox, out[(host, sandbox.name)], sandbox.networks.index(spec.name))
            for host in hosts for sandbox in declared[host] if spec.name in sandbox.networks]


def _given(sandbox, spec, version):
    """The static address of IP VERSION SANDBOX declares for multi-host network SPEC (its first), or None."""
    return sandbox.ip_on(0, spec.name, version) if sandbox.networks[:1] == (spec.name,) else None


def _member_addresses(spec, version, hosts, hosts_of, where):
    """{(host, sandbox): ip} of IP VERSION on SPEC, as member_addresses."""
    declared, indexes = hosts_of
    reserved = {host_address(spec, i, version): h for h, i in indexes.items()}
    statics, out = {}, {}
    for host in hosts:
        for sandbox in declared[host]:
            ip = _given(sandbox, spec, version)
            if ip is not None:
                _check_static(spec, (host, sandbox, ip), reserved, statics, where)
                statics[ip] = (host, sandbox.name)
    for host in hosts:
        block = host_slice(spec, indexes[host], version)
        free = (a for a in usable(spec, block, version) if a not in reserved and a not in statics)
        for sandbox in declared[host]:
            if spec.name not in sandbox.networks:
                continue
            ip = _given(sandbox, spec, version) or next(free, None)
            if ip is None:
                key = "ip" if version == 4 else "ip6"
                raise Conflict("%s: host %s has no address left for sandbox %s in its slice %s of network %s; give it an %s,"
                               " or give the network a bigger subnet or a smaller max_hosts" % (where, host, sandbox.name,
                                                                                                block, spec.name, key), where)
            out[(host, sandbox.name)] = ip
    return out


def _check_static(spec, owner, reserved, statics, where):
    host, sandbox, ip = owner
    key = "ip" if ip.version == 4 else "ip6"
    subnet, gateway = spec.declared(ip.version)
    what = "%s: sandbox %s of host %s: %s %s" % (where, sandbox.name, host, key, ip)
    if subnet is None:
        raise InvalidInput("%s is an IPv%d address, but network %s has no IPv%d; %s" % (
            what, ip.version, spec.name, ip.version, "give the network ipv6: true or leave ip6 out" if ip.version == 6
            else "leave ip out (the network is IPv6-only)"), where)
    if ip not in subnet or ip in _unusable(spec, ip.version):
        raise InvalidInput("%s is not a host address of network %s (%s%s); pick one inside it"
                           % (what, spec.name, subnet, ", gateway %s" % gateway if gateway else ""), where)
    if ip in reserved:
        raise Conflict("%s is host %s's own address on network %s (the first of its slice); pick another"
                       % (what, reserved[ip], spec.name), where)
    if ip in statics:
        raise Conflict("%s is also the %s of sandbox %s of host %s; give one of them another"
                       % (what, key, statics[ip][1], statics[ip][0]), where)


def policy_subnets(addresses):
    """The subnets of a bridge's ADDRESSES that its firewall policy covers: IPv4 then IPv6 (not
    link-local), each sorted."""
    return tuple(sorted({a.network for a in addresses if not a.ip.is_link_local}, key=lambda n: (n.version, n)))
