# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks that span hosts (``driver: overlay | macvlan | ipvlan``): what every host of such a
network works out alike from the inventory alone, with no coordination server.

The inventory is the shared store. The roles hand every host the same ``fleet`` (each host's
index, underlay address and declared sandboxes, and the groups the networks name; the filter
``netmodes.linux.fleet`` builds it from hostvars), and everything here is a pure function of it,
so every host of a network derives the same host indexes, address slices, member addresses,
VNI and peers, without asking the others:

- A network's subnet (or its ``ip_range``) is cut into ``max_hosts`` equal slices; the host with
  index I owns slice I. A host's index is its ``netmodes_host_index``, or else its place in the
  naturally sorted list of the network's hosts (``sim2`` before ``sim10``), counting only the
  indexes no host claims explicitly.
- The first address of a host's slice is the host's own: its bridge's (the sandboxes' gateway)
  on an overlay network, its shim's on a macvlan or ipvlan network.
- A sandbox's address is its static ``ip``, or else the next address of its host's slice in
  the order the host declares its sandboxes on that network (static addresses of any host are
  skipped). An entry with ``state: absent`` keeps its place, so removing a sandbox that way
  moves no other.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _model
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput

MULTI_HOST = ("overlay", "macvlan", "ipvlan")
VNI_MAX = 2 ** 24 - 1
DEFAULT_MAX_HOSTS = 16
# The VXLAN headers, by the underlay's IP version: outer Ethernet 14 + IP (20 or 40) + UDP 8 + VXLAN 8.
VXLAN_OVERHEAD = {4: 50, 6: 70}
VXLAN_PORT = 4789    # IANA's, and Linux's and Docker's default


@dataclass(frozen=True)
class FleetHost:
    """One inventory host as the fleet describes it."""

    name: str
    index: int = None
    underlay: object = None  # ip_address, or None when the inventory gives none
    sandboxes: tuple = ()    # its netmodes_sandboxes, as declared (raw dicts)
    addresses: tuple = ()    # its addresses for allow-lists (ip_address, both families: the filter's host_addresses)


class Fleet:
    """The hosts a host's multi-host networks span: ``host`` is this one's inventory name."""

    def __init__(self, host=None, groups=None, hosts=None):
        self.host = host
        self.groups = dict(groups or {})
        self.hosts = dict(hosts or {})

    def __bool__(self):
        return bool(self.host)

    def group_addresses(self, group, where):
        """The addresses of GROUP's hosts (for an allow-list), or None when the fleet has no such
        group; a member without any address is refused."""
        if group not in self.groups:
            return None
        out = []
        for name in self.groups[group]:
            host = self.hosts.get(name)
            found = (host.addresses or ((host.underlay,) if host.underlay else ())) if host else ()
            if not found:
                raise InvalidInput("%s: host %s of group %s has no address in the inventory; set its netmodes_underlay_address"
                                   " (or ansible_host to an address), or gather its facts" % (where, name, group), where)
            out += found
        return out


def article(driver):
    """"an overlay", "a macvlan": a driver's name for messages."""
    return ("an " if driver[0] in "aeiou" else "a ") + driver


def natural_key(name):
    """Sort key that puts ``sim2`` before ``sim10`` (digit runs compare as numbers)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part != ""]


def fleet_from(raw, where="fleet"):
    """A Fleet from the module option (a dict, as the filter netmodes.linux.fleet builds it)."""
    if not raw:
        return Fleet()
    if not isinstance(raw, dict):
        raise InvalidInput("%s: must be a dict with host, groups and hosts (the filter netmodes.linux.fleet builds it)" % where, where)
    unknown = set(raw) - {"host", "groups", "hosts"}
    if unknown:
        raise InvalidInput("%s: unknown keys %s (known: groups, host, hosts)" % (where, ", ".join(sorted(unknown))), where)
    groups = {}
    for group, names in (raw.get("groups") or {}).items():
        if not isinstance(names, list):
            raise InvalidInput("%s.groups.%s: must be a list of host names" % (where, group), where)
        groups[str(group)] = tuple(str(n) for n in names)
    hosts = {}
    for name, info in (raw.get("hosts") or {}).items():
        hosts[str(name)] = _fleet_host(str(name), info or {}, "%s.hosts.%s" % (where, name))
    return Fleet(str(raw["host"]) if raw.get("host") else None, groups, hosts)


def _fleet_host(name, info, where):
    if not isinstance(info, dict):
        raise InvalidInput("%s: must be a dict with index, underlay and sandboxes" % where, where)
    index = info.get("index")
    if index not in (None, ""):
        if isinstance(index, bool) or not str(index).isdigit():
            raise InvalidInput("%s.index: %r is not a whole number >= 0; set netmodes_host_index of %s to 0, 1, 2, ..."
                               % (where, index, name), where)
        index = int(index)
    else:
        index = None
    underlay = info.get("underlay")
    if underlay not in (None, ""):
        try:
            underlay = _model.address(underlay, "%s.underlay" % where)
        except InvalidInput as exc:
            raise InvalidInput("%s; set netmodes_underlay_address of %s to the address its peers reach it on"
                               % (exc.msg.partition("; ")[0], name), where)
    else:
        underlay = None
    sandboxes = info.get("sandboxes") or []
    if not isinstance(sandboxes, list):
        raise InvalidInput("%s.sandboxes: netmodes_sandboxes of %s must be a list" % (where, name), where)
    addresses = info.get("addresses") or []
    if not isinstance(addresses, list):
        raise InvalidInput("%s.addresses: must be a list of addresses of %s" % (where, name), where)
    addresses = tuple(_model.address(a, "%s.addresses" % where) for a in addresses)
    return FleetHost(name, index, underlay, tuple(sandboxes), addresses)


def span(spec, fleet, where):
    """The hosts SPEC (a NetworkSpec) spans, naturally sorted."""
    if not fleet:
        raise InvalidInput("%s: %s network spans hosts, so it needs the fleet option (the roles pass it; build it with the"
                           " filter netmodes.linux.fleet)" % (where, article(spec.driver)), where)
    if isinstance(spec.hosts, str):
        names = fleet.groups.get(spec.hosts)
        if not names:
            raise InvalidInput("%s: hosts: %r is no inventory group with hosts; name a group or list the hosts"
                               % (where, spec.hosts), where)
    else:
        names = spec.hosts
    missing = [n for n in names if n not in fleet.hosts]
    if missing:
        raise InvalidInput("%s: hosts: %s not in the inventory; list inventory hosts only" % (where, ", ".join(missing) + (
            " is" if len(missing) == 1 else " are")), where)
    return tuple(sorted(set(names), key=natural_key))


def host_indexes(names, fleet, max_hosts, where):
    """{host: index} for the hosts NAMES: netmodes_host_index where given, else the lowest index
    no host claims, in natural name order (appending hosts whose names sort last keeps every
    existing index)."""
    explicit, out = {}, {}
    for name in names:
        index = fleet.hosts[name].index
        if index is None:
            continue
        if index in explicit:
            raise InvalidInput("%s: %s and %s both have netmodes_host_index %d; give each host its own"
                               % (where, explicit[index], name, index), where)
        explicit[index] = name
        out[name] = index
    free = (i for i in range(len(names) + len(explicit) + 1) if i not in explicit)
    for name in names:
        if name not in out:
            out[name] = next(free)
    for name in names:
        if out[name] >= max_hosts:
            raise InvalidInput("%s: host %s has index %d, but the network is cut into max_hosts %d slices (indexes 0-%d);"
                               " set a free netmodes_host_index below %d for it, or raise max_hosts (which moves every"
                               " address)" % (where, name, out[name], max_hosts, max_hosts - 1, max_hosts), where)
    return out


@dataclass(frozen=True)
class Member:
    """A sandbox of some host on a multi-host network, with the address every host computes: its
    IPv4 one, or its IPv6 one on an IPv6-only network; ADDRESS6 its IPv6 one besides on a
    dual-stack network (a member of a bridge network has one Member per address)."""

    host: str
    sandbox: str
    address: object
    interface: int          # its link is eth<interface> inside the sandbox
    aliases: tuple = ()
    present: bool = True
    address6: object = None

    @property
    def addresses(self):
        """Its addresses, IPv4 first."""
        return (self.address,) + ((self.address6,) if self.address6 is not None else ())

    def address_of(self, version):
        """Its address of IP VERSION, or None."""
        return next((a for a in self.addresses if a.version == version), None)


def members(spec, declared, indexes, where):
    """Every sandbox on SPEC of every host, with its address.

    DECLARED is {host: [SandboxSpec]} for the hosts SPEC spans, INDEXES their host indexes.
    Addresses are computed the same way on every host, by the address plan
    (``_addresses.member_addresses``), the hosts in their natural order.
    """
    hosts = sorted(declared, key=natural_key)
    out = [Member(host, sandbox.name, ips.get(4, ips.get(6)), position, tuple(sandbox.aliases), sandbox.state == "present",
                  ips[6] if 4 in ips and 6 in ips else None)
           for host, sandbox, ips, position in _addresses.member_addresses(spec, hosts, declared, indexes, where)]
    names_unique(spec.name, out, where)
    return out


def names_unique(network, found, where):
    """A member's name is its own: no other member of NETWORK (a name) has it as its name or as an
    alias. An alias may be shared by several members: it then resolves to every one of them."""
    present = [m for m in found if m.present]
    named = {}
    for member in present:
        _clash(member.sandbox, (named.setdefault(member.sandbox, member), member), present, where, network)
    for member in present:
        for alias in member.aliases:
            _clash(alias, (named.get(alias), member), present, where, network)


def _clash(name, pair, present, where, network):
    """Refuse NAME when it is the name of one member of PAIR and the name or an alias of the other."""
    if pair[0] is not None and pair[0] is not pair[1]:
        first, second = sorted(pair, key=present.index)
        raise Conflict("%s: network %s: the name %s is both %s and %s; members of a network resolve each other by name (across its"
                       " hosts), so rename one (or drop the alias)" % (where, network, name, _describe(first), _describe(second)), where)


def _describe(member):
    return "sandbox %s of host %s" % (member.sandbox, member.host) if member.host else "sandbox %s" % member.sandbox


def hosts_entries(found, host, sandbox):
    """[(name, member, address)] for the hosts file of SANDBOX (on HOST), MEMBER being (host,
    sandbox): every present member of the network, on any host, in member order, under its name
    and then each of its aliases. SANDBOX's own name is left out (its own lines come from its host
    name), not its aliases: Docker's resolver answers an alias with every member that has it. A
    member with both families has a line for each, IPv4 first."""
    out = []
    for member in (m for m in found if m.present):
        own = (member.host, member.sandbox) == (host, sandbox)
        for name in (() if own else (member.sandbox,)) + member.aliases:
            out += [(name, (member.host, member.sandbox), str(address)) for address in member.addresses]
    return out


def peers_of(names, fleet, where):
    """The underlay addresses of hosts NAMES (the VXLAN peers), each required, all of one IP
    version (a VXLAN device has one local address: its remotes are of its family)."""
    out = []
    for name in names:
        underlay = fleet.hosts[name].underlay
        if underlay is None:
            raise InvalidInput("%s: host %s has no underlay address; set netmodes_underlay_address of %s (or ansible_host to"
                               " an IP address)" % (where, name, name), where)
        if out and underlay.version != out[0].version:
            raise InvalidInput("%s: the hosts of an overlay network reach each other over one IP version, but host %s has the"
                               " IPv%d underlay address %s and host %s the IPv%d one %s; set netmodes_underlay_address of"
                               " every host of the network to an address of the same IP version"
                               % (where, names[0], out[0].version, out[0], name, underlay.version, underlay), where)
        out.append(underlay)
    return out


def member_mac(member):
    """The MAC of MEMBER's link on an overlay network: 02:42 and its IPv4 address, as Docker
    derived containers' MACs, so that every host knows every member's MAC from the inventory
    alone and can give its VXLAN device the remote members' forwarding and neighbour entries.
    A member of an IPv6-only network: 02:42 and the last four bytes of sha256 of its IPv6
    address (its interface identifier may be anything, so its bytes are not taken as they are)."""
    ipv4 = member.address_of(4)
    packed = ipv4.packed if ipv4 is not None else hashlib.sha256(member.address_of(6).packed).digest()[-4:]
    return "02:42:" + ":".join("%02x" % byte for byte in packed)


def derived_vni(name):
    """A network's VXLAN id when it gives none: from sha256 of its name, in 1..2**24-1.

    The same on every host and across runs; two overlay networks of one host that happen to get
    the same one are refused (give one a ``vni``).
    """
    digest = hashlib.sha256(("netmodes.linux overlay %s" % name).encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % VNI_MAX


def _short_hash(kind, name):
    return hashlib.sha256(("%s\0%s" % (kind, name)).encode()).hexdigest()[:11]


def vxlan_name(network):
    """The VXLAN device of an overlay network on every host: ``nmx`` and a hash of its name."""
    return "nmx" + _short_hash("vxlan", network)


def shim_name(network):
    """The host-side shim of a macvlan or ipvlan network: ``nms`` and a hash of its name."""
    return "nms" + _short_hash("shim", network)


@dataclass(frozen=True)
class OverlayMtu:
    """An overlay network's MTU on one host, and the underlay link under it (None when no link
    has the underlay address: then ``mtu`` is the declared one)."""

    mtu: int                 # what its bridge, VXLAN device and members' links get
    declared: bool           # mtu is the network's ``mtu``
    link: str = None         # the link with the underlay address
    link_mtu: int = None
    overhead: int = VXLAN_OVERHEAD[4]   # the VXLAN headers over the underlay's IP version

    @property
    def carried(self):
        """The largest overlay MTU whose packets the underlay link carries whole (None: unknown)."""
        return self.link_mtu - self.overhead if self.link_mtu else None

    def report(self, where):
        """As the networks and sandboxes modules return it (``overlays``) for the fleet's comparison;
        WHERE: the network's entry in the variable that declares it."""
        return {"mtu": self.mtu, "declared": self.declared, "underlay": {"link": self.link, "mtu": self.link_mtu}, "carried": self.carried,
                "where": where}


def overlay_mtu(spec, net, underlay):
    """The MTU of an overlay network on this host (an OverlayMtu): ``mtu``, else the underlay
    link's less the VXLAN headers (50 over IPv4, 70 over IPv6), read from the link that has the
    underlay address."""
    overhead = VXLAN_OVERHEAD[underlay.version]
    for name, addrs in net.addresses_by_link().items():
        if any(a.ip == underlay for a in addrs):
            link = net.link(name, routes=False)
            if link is not None and link.mtu:
                return OverlayMtu(spec.mtu or link.mtu - overhead, bool(spec.mtu), name, link.mtu, overhead)
    if spec.mtu:
        return OverlayMtu(spec.mtu, True, overhead=overhead)
    raise InvalidInput("network %s: the underlay address %s is on no interface of this host; set netmodes_underlay_address"
                       " to one of its addresses (or give the network an mtu)" % (spec.name, underlay), "fleet")


# -- MTUs across the hosts of an overlay: each host reads its own underlay, the controller compares

def mtu_beyond_underlay(found, where):
    """The warning for a declared ``mtu`` (FOUND, an OverlayMtu of network WHERE on this host)
    larger than this host's underlay link carries whole, or None. The kernel takes such an MTU
    (the VXLAN device has no lower device to check it against): what is larger than the underlay
    link carries is fragmented by the sender (with DF, refused: the kernel answers "fragmentation
    needed" to the sandbox) and dropped by a receiver whose link is that small."""
    if not found.declared or found.carried is None or found.mtu <= found.carried:
        return None
    return ("%s: mtu %d is more than this host's underlay carries: %s has MTU %d, less %d for the VXLAN headers leaves %d;"
            " the kernel takes it, but larger packets are fragmented (or refused, with DF) on the way out and dropped coming in"
            " on %s; set mtu: %d (or less) on the network, or raise the MTU of %s (on every host of the network)"
            % (where, found.mtu, found.link, found.link_mtu, found.overhead, found.carried, found.link, found.carried, found.link))


def mtu_mismatches(reports):
    """The warnings for overlay networks whose hosts have different MTUs (REPORTS: {host: {network:
    OverlayMtu.report()}} of the hosts that ran). A packet that fits the larger MTU leaves its host
    whole, and the smaller one's link drops it without telling the sender (no ICMP comes back: a
    path MTU black hole); the fix is one ``mtu`` for the network, the smallest."""
    by_network = {}
    for host, overlays in reports.items():
        for network, found in (overlays or {}).items():
            by_network.setdefault(network, {})[host] = found
    out = []
    for _network, found in sorted(by_network.items()):
        if len({f["mtu"] for f in found.values()}) < 2:
            continue
        hosts = sorted(found, key=natural_key)
        smallest = min(min(f["mtu"], f["carried"] or f["mtu"]) for f in found.values())
        alike = {}   # hosts with the same MTU from the same source, in one group (a fleet of 20 reads as two)
        for host in hosts:
            alike.setdefault((found[host]["mtu"], _mtu_source(found[host])), []).append(host)
        said = ", ".join("%d on %s (%s)" % (mtu, ", ".join(names), source) for (mtu, source), names in alike.items())
        big, small = max(hosts, key=lambda h: found[h]["mtu"]), min(hosts, key=lambda h: found[h]["mtu"])
        out.append("%s: the hosts of this overlay have different MTUs: %s; a packet larger than %d that %s sends (up to %d) is"
                   " dropped without an error on its way to %s (a path MTU black hole); set mtu: %d on the network, the smallest"
                   " its hosts' underlays carry" % (found[hosts[0]]["where"], said, found[small]["mtu"],
                                                    big, found[big]["mtu"], small, smallest))
    return out


def _mtu_source(found):
    """Where a host's overlay MTU comes from, in words."""
    underlay = found["underlay"]
    return "its mtu" if found["declared"] else "%s %d less %d" % (underlay["link"], underlay["mtu"], underlay["mtu"] - found["mtu"])
