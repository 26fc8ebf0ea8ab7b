# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The networks of a declaration (``netmodes_networks``, Docker's ``docker network create``) as
NetworkSpec: every driver's keys, both address families, checked before anything is read."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _fleet, _gateway
from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils._declaration.common import (
    DEFAULT_BRIDGE,
    DEFAULT_NETWORK,
    boolean,
    name_of,
    no_duplicates,
    unknown_keys,
)
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._naming import entry

DRIVERS = ("bridge",) + _fleet.MULTI_HOST


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    bridge: str                      # None for macvlan and ipvlan networks (they have no bridge)
    subnet: object = None
    gateway: object = None
    internal: bool = False
    masquerade: bool = True
    icc: bool = True
    driver: str = "bridge"
    hosts: object = None             # multi-host: a group name (str) or a tuple of host names
    vni: int = None
    dstport: int = None
    mtu: int = None
    max_hosts: int = _fleet.DEFAULT_MAX_HOSTS
    ip_range: object = None
    parent: str = None
    mode: str = None                 # macvlan: bridge|private|vepa|passthru; ipvlan: l2|l3|l3s
    shim: bool = False
    ipv6: bool = False               # Docker's --ipv6: the network has an IPv6 subnet (given, or a ULA /64 picked)
    subnet6: object = None
    gateway6: object = None
    ipv4: bool = True                # Docker's --ipv4: false makes an IPv6-only network
    dns: bool = True                 # members resolve each other through the network's resolver (never Docker's default bridge)
    host_binding_ipv4: object = None  # Docker's com.docker.network.bridge.host_binding_ipv4: where -p without an address publishes
    gateway_policy: tuple = ()       # bridge: _gateway.gateway_policy's items, when any differs from the default

    @property
    def multi_host(self):
        return self.driver in _fleet.MULTI_HOST

    @property
    def docker_default(self):
        """This is Docker's default network (``DEFAULT_NETWORK``: no names, the first pool)."""
        return self.name == DEFAULT_NETWORK

    @property
    def families(self):
        """The IP versions the network's members have addresses of."""
        return tuple(v for v, on in ((4, self.ipv4), (6, self.ipv6)) if on)

    @property
    def routed(self):
        """The IP versions in which the network is in gateway mode routed: its published ports take no host port."""
        return _gateway.versions_in(dict(self.gateway_policy), "routed")

    @property
    def isolated(self):
        """The IP versions of its families in gateway mode isolated: its bridge has no address of them."""
        return tuple(v for v in _gateway.versions_in(dict(self.gateway_policy), "isolated") if v in self.families)

    @property
    def fully_isolated(self):
        """Gateway mode isolated in each of its families: the host has no way to its members at all."""
        return bool(self.isolated) and set(self.isolated) == set(self.families)

    def maps_host_port(self, mapping):
        """Whether MAPPING, published by a member, takes a host port: not when every IP version it publishes in is routed."""
        families = self.families if mapping.every_family else (mapping.host_ip.version,)
        return not set(families) <= set(self.routed)

    def declared(self, version):
        """(subnet, gateway) the network declares in IP VERSION, (None, None) where it declares none."""
        return (self.subnet, self.gateway) if version == 4 else (self.subnet6, self.gateway6)


_NETWORK_KEYS = ("name", "driver", "bridge_name", "subnet", "gateway", "internal", "ip_masquerade", "icc", "hosts", "vni",
                 "dstport", "mtu", "max_hosts", "ip_range", "parent", "mode", "shim", "ipv6", "ipv4", "dns", "host_binding_ipv4") + _gateway.KEYS
# The keys each driver takes besides name and driver; the others are refused, naming the drivers that take them.
_DRIVER_KEYS = {
    "bridge": ("bridge_name", "subnet", "gateway", "internal", "ip_masquerade", "icc", "ipv6", "ipv4", "dns", "host_binding_ipv4") + _gateway.KEYS,
    "overlay": ("bridge_name", "subnet", "internal", "ip_masquerade", "icc", "hosts", "vni", "dstport", "mtu", "max_hosts",
                "ip_range", "ipv6", "ipv4", "dns", "host_binding_ipv4"),
    "macvlan": ("subnet", "gateway", "hosts", "mtu", "max_hosts", "ip_range", "parent", "mode", "shim", "ipv6", "ipv4", "dns"),
    "ipvlan": ("subnet", "gateway", "hosts", "mtu", "max_hosts", "ip_range", "parent", "mode", "shim", "ipv6", "ipv4", "dns"),
}
MODES_OF = {"macvlan": ("bridge", "private", "vepa", "passthru"), "ipvlan": ("l2", "l3", "l3s")}
_WHY_NOT = {
    ("overlay", "gateway"): "each host's bridge is the gateway of its own sandboxes (the first address of its slice)",
}


def _int(raw, key, low, high, where):
    value = raw.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not str(value).isdigit() or not low <= int(value) <= high:
        raise InvalidInput("%s: %s: %r is not a whole number in %d..%d; give a whole number from %d to %d"
                           % (where, key, value, low, high, low, high), where)
    return int(value)


def _refuse_foreign_keys(raw, driver, where):
    for key in _NETWORK_KEYS:
        if key in ("name", "driver") or raw.get(key) in (None, "") or key in _DRIVER_KEYS[driver]:
            continue
        takers = [d for d in DRIVERS if key in _DRIVER_KEYS[d]]
        why = _WHY_NOT.get((driver, key)) or "only %s networks take it" % " and ".join(takers)
        raise InvalidInput("%s: %s: %s network has no %s: %s; remove it" % (where, key, _fleet.article(driver), key, why), where)


def network_spec(raw, where):
    """A NetworkSpec from one entry of netmodes_networks, or InvalidInput."""
    if not isinstance(raw, dict) or not raw.get("name"):
        raise InvalidInput("%s: a network is a dict with at least a name" % where, where)
    unknown_keys(raw, _NETWORK_KEYS, where)
    name = m.name(str(raw["name"]), "%s: name" % where, "network name")
    driver = raw.get("driver") or "bridge"
    if driver not in DRIVERS:
        raise InvalidInput("%s: driver: %r is not a driver (choose one of %s)" % (where, driver, ", ".join(DRIVERS)), where)
    _refuse_foreign_keys(raw, driver, where)
    bridge = None
    if driver in ("bridge", "overlay"):
        bridge = raw.get("bridge_name") or (DEFAULT_BRIDGE if name == DEFAULT_NETWORK else name)
        if not raw.get("bridge_name") and len(bridge.encode("utf-8")) > m.IFNAME_MAX_BYTES:
            raise InvalidInput("%s: name: network name %r is %d bytes, too long to name its bridge (the kernel allows at most %d);"
                               " give a bridge_name of at most %d bytes, or a shorter name"
                               % (where, name, len(bridge.encode("utf-8")), m.IFNAME_MAX_BYTES, m.IFNAME_MAX_BYTES), where)
        m.ifname(bridge, "%s: bridge_name" % where if raw.get("bridge_name") else "%s: name" % where)
    subnets = _per_family(raw.get("subnet"), "subnet", m.network, where)
    gateways = _per_family(raw.get("gateway"), "gateway", m.address, where)
    ipv6, ipv4 = boolean(raw, "ipv6", False, where), boolean(raw, "ipv4", True, where)
    _check_families(name, subnets, gateways, ipv4=ipv4, ipv6=ipv6, where=where)
    spec = NetworkSpec(name, bridge, subnets.get(4), gateways.get(4), boolean(raw, "internal", False, where),
                       boolean(raw, "ip_masquerade", True, where), boolean(raw, "icc", True, where), driver,
                       ipv6=ipv6, subnet6=subnets.get(6), gateway6=gateways.get(6), ipv4=ipv4, dns=_dns(raw, name, where),
                       host_binding_ipv4=_host_binding(raw, where))
    if driver == "bridge":
        policy = _gateway.gateway_policy(raw, where, internal=spec.internal, masquerade=spec.masquerade)
        spec = replace(spec, gateway_policy=tuple(sorted(policy.items()))) if policy != _gateway.DEFAULT else spec
        _require_isolated_subnets(spec, where)
        return spec
    return _multi_host_spec(spec, raw, where)


def _require_isolated_subnets(spec, where):
    """A family in gateway mode isolated needs its subnet declared: a subnet picked for the network
    is kept as its bridge's address, which that family's bridge does not have."""
    for version in spec.isolated:
        if spec.declared(version)[0] is None:
            key = "gateway_mode_ipv%d" % version
            raise InvalidInput("%s: %s: isolated leaves the bridge without an IPv%d address, where a picked subnet is"
                               " remembered; declare the network's IPv%d subnet in subnet (a list takes one of each family)"
                               % (where, key, version, version), "%s: %s" % (where, key))


def _host_binding(raw, where):
    """Docker's ``com.docker.network.bridge.host_binding_ipv4``: the address the network's members
    publish ``-p`` on when the entry gives none, or None. Despite its name it may be an IPv6
    address, as in Docker: ``::`` is every IPv6 address alone, 0.0.0.0 every address of each
    family (as without it)."""
    value = raw.get("host_binding_ipv4")
    if value in (None, ""):
        return None
    at = "%s: host_binding_ipv4" % where
    if isinstance(value, bool) or not isinstance(value, str):
        raise InvalidInput("%s: %r is not an address; give one address of the host, like 10.231.1.11 or fd31::11" % (at, value), where)
    return m.address(value, at)


def _dns(raw, name, where):
    """Whether network NAME has a resolver: by default every user-defined network has one; Docker's
    default ``bridge`` network never does (its members do not resolve each other by name)."""
    dns = boolean(raw, "dns", name != DEFAULT_NETWORK, where)
    if dns and name == DEFAULT_NETWORK:
        raise InvalidInput("%s: dns: Docker's default network %s has no resolver (its members do not resolve each other by"
                           " name); declare a network of your own for names, or remove dns" % (where, name), where)
    return dns


def _per_family(value, key, parse, where):
    """{IP version: value} of KEY (subnet or gateway): one, or a list with at most one of each
    family (Docker's --subnet and --gateway, given once per family)."""
    if value in (None, "", []):
        return {}
    items = (value,) if isinstance(value, str) else m.listed(value, "%s: %s" % (where, key))
    out = {}
    for i, item in enumerate(items):
        found = parse(item, "%s: %s" % (where, key) if len(items) == 1 else "%s: %s[%d]" % (where, key, i))
        if found.version in out:
            raise InvalidInput("%s: %s: %s and %s are both IPv%d; give at most one %s of each IP version"
                               % (where, key, out[found.version], found, found.version, key), where)
        out[found.version] = found
    return out


def _check_families(name, subnets, gateways, *, ipv4, ipv6, where):
    """Docker's rules for a network's address families: an IPv6 subnet needs ipv6: true, an
    IPv6-only network (ipv4: false) needs ipv6 and has no IPv4 subnet, a gateway is a host
    address of its family's subnet."""
    if 6 in subnets and not ipv6:
        raise InvalidInput("%s: subnet: %s is an IPv6 subnet but the network has no IPv6; add ipv6: true" % (where, subnets[6]), where)
    if not ipv4 and not ipv6:
        raise InvalidInput("%s: ipv4: a network without IPv4 needs IPv6 (an IPv6-only network); add ipv6: true" % where, where)
    if not ipv4 and name == DEFAULT_NETWORK:
        raise InvalidInput("%s: ipv4: Docker's default network %s always has IPv4; remove ipv4: false" % (where, name), where)
    if not ipv4 and 4 in subnets:
        raise InvalidInput("%s: subnet: %s is an IPv4 subnet but the network has ipv4: false; remove it or the ipv4 key"
                           % (where, subnets[4]), where)
    for version, gateway in sorted(gateways.items()):
        subnet = subnets.get(version)
        if subnet is None:
            raise InvalidInput("%s: gateway: %s needs %s subnet; give a subnet and a gateway inside it"
                               % (where, gateway, "a" if version == 4 else "an IPv6"), where)
        if gateway not in subnet or gateway == subnet.network_address or (version == 4 and gateway == subnet.broadcast_address):
            raise InvalidInput("%s: gateway: %s is not a host address of subnet %s; give a subnet and a gateway inside it"
                               % (where, gateway, subnet), where)
    if 6 in subnets and subnets[6].prefixlen > 126:
        raise InvalidInput("%s: subnet: %s leaves no address for members (an IPv6 subnet needs a prefix of at most /126; Docker"
                           " uses /64)" % (where, subnets[6]), where)


def _multi_host_spec(spec, raw, where):
    """The options of an overlay, macvlan or ipvlan network, checked."""
    driver = spec.driver
    if spec.ipv4 and spec.subnet is None:
        raise InvalidInput("%s: subnet: %s network needs a subnet, the same on every host it spans (it cannot be picked"
                           " per host); give one, like 10.10.0.0/24" % (where, _fleet.article(driver)), where)
    if spec.ipv6 and spec.subnet6 is None:
        if driver != "overlay":
            raise InvalidInput("%s: subnet: %s network with ipv6 needs the IPv6 subnet of its segment (it cannot be picked);"
                               " give it beside the IPv4 one, like subnet: [10.10.0.0/24, fd31:10::/64]" % (where, _fleet.article(driver)),
                               where)
        # An overlay's own: the first /64 of the ULA its name gives, alike on every host (no host's
        # routes are asked, or hosts with different routes would pick different ones).
        spec = replace(spec, subnet6=_addresses.ipv6_subnet(spec.name, set()))
    hosts = raw.get("hosts")
    if isinstance(hosts, list) and hosts and all(isinstance(h, str) and h for h in hosts):
        hosts = tuple(hosts)
    elif not isinstance(hosts, str) or not hosts:
        raise InvalidInput("%s: hosts: %s network needs the hosts it spans: an inventory group name or a list of inventory"
                           " hosts" % (where, _fleet.article(driver)), where)
    ip_range = m.network(raw["ip_range"], "%s: ip_range" % where) if raw.get("ip_range") else None
    if ip_range is not None and (ip_range.version != 4 or spec.subnet is None):
        raise InvalidInput("%s: ip_range: %s: a range is taken of the IPv4 subnet only (the IPv6 subnet is cut into slices as a"
                           " whole); give a part of the IPv4 subnet, or leave ip_range out" % (where, ip_range), where)
    if ip_range is not None and not ip_range.subnet_of(spec.subnet):
        raise InvalidInput("%s: ip_range: %s is not inside subnet %s; give a part of the subnet" % (where, ip_range, spec.subnet), where)
    mode = raw.get("mode")
    if driver in MODES_OF:
        mode = mode or MODES_OF[driver][0]
        if mode not in MODES_OF[driver]:
            raise InvalidInput("%s: mode: %r is not %s mode (choose one of %s)" % (where, mode, _fleet.article(driver), ", ".join(MODES_OF[driver])),
                               where)
        if not raw.get("parent"):
            raise InvalidInput("%s: parent: %s network needs the host interface on the segment (parent: eth0)" % (where, _fleet.article(driver)),
                               where)
        m.ifname(str(raw["parent"]), "%s: parent" % where)
    shim = boolean(raw, "shim", False, where)
    if shim and driver == "macvlan" and mode != "bridge":
        raise InvalidInput("%s: shim: the host reaches its sandboxes through the shim only in mode bridge (a macvlan in mode %s"
                           " does not pass traffic between its siblings); use mode bridge or no shim" % (where, mode), where)
    vni = _int(raw, "vni", 1, _fleet.VNI_MAX, where)
    max_hosts = _int(raw, "max_hosts", 1, 2 ** 24, where) or _fleet.DEFAULT_MAX_HOSTS
    overlay = driver == "overlay"
    spec = replace(spec, hosts=hosts, vni=vni or (_fleet.derived_vni(spec.name) if overlay else None),
                   dstport=_int(raw, "dstport", 1, 65535, where) or (_fleet.VXLAN_PORT if overlay else None),
                   mtu=m.mtu(raw.get("mtu"), "%s: mtu" % where),
                   max_hosts=max_hosts, ip_range=ip_range, parent=str(raw["parent"]) if raw.get("parent") else None, mode=mode,
                   shim=shim)
    _addresses.check_slices(spec, where)
    return spec


def network_specs(raws, where="config"):
    specs = [network_spec(raw, entry(where, i, name_of(raw))) for i, raw in enumerate(raws or [])]
    no_duplicates([s.name for s in specs], where, "network name")
    no_duplicates([s.bridge for s in specs if s.bridge], where, "bridge name")
    vnis = {}
    for spec in (s for s in specs if s.driver == "overlay"):
        if spec.vni in vnis:
            raise InvalidInput("%s: overlay networks %s and %s have the same VXLAN id %d; give one of them another vni"
                               % (where, vnis[spec.vni], spec.name, spec.vni), where)
        vnis[spec.vni] = spec.name
    explicit = [(s, subnet) for s in specs for subnet in (s.subnet, s.subnet6) if subnet]
    for i, (a, one) in enumerate(explicit):
        for b, other in explicit[i + 1:]:
            if a is not b and one.version == other.version and one.overlaps(other):
                raise InvalidInput("%s: the subnets of %s (%s) and %s (%s) overlap; give %s a subnet of its own"
                                   % (where, a.name, one, b.name, other, b.name), where)
    return specs


def bridge_of(name, networks):
    """The bridge of network NAME (NETWORKS: {name: NetworkSpec} declared): its own, Docker's
    default network's, or (a network made by hand) the bridge of that name."""
    if name in networks:
        return networks[name].bridge
    return DEFAULT_BRIDGE if name == DEFAULT_NETWORK else name
