# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declaration: a host's ``netmodes_networks`` and ``netmodes_sandboxes``, in Docker's
vocabulary, parsed and validated into typed specs (NetworkSpec, SandboxSpec) before anything is
read from the host. Pure: no adapter, no host state; what depends on the host is checked by the
preflight.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _fleet
from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils import _resolvconf as rc
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._naming import entry
from ansible_collections.netmodes.linux.plugins.module_utils._ports import PROTOCOL_WORDS, PROTOCOLS, port_mappings

DEFAULT_NETWORK = "bridge"        # Docker's default network (docker0)
DEFAULT_BRIDGE = "netmodes0"
DRIVERS = ("bridge",) + _fleet.MULTI_HOST


def _name_of(raw):
    return raw.get("name") if isinstance(raw, dict) else None


def _unknown(raw, known, where):
    extra = set(raw) - set(known)
    if extra:
        raise InvalidInput("%s: unknown keys %s (known: %s)" % (where, ", ".join(sorted(extra)), ", ".join(sorted(known))), where)


def _bool(raw, key, default, where):
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput("%s: %s: %r is not a boolean; write true or false" % (where, key, value), where)
    return value


# -- networks -----------------------------------------------------------------------------------

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

    @property
    def multi_host(self):
        return self.driver in _fleet.MULTI_HOST

    @property
    def families(self):
        """The IP versions the network's members have addresses of."""
        return tuple(v for v, on in ((4, self.ipv4), (6, self.ipv6)) if on)

    def declared(self, version):
        """(subnet, gateway) the network declares in IP VERSION, (None, None) where it declares none."""
        return (self.subnet, self.gateway) if version == 4 else (self.subnet6, self.gateway6)


_NETWORK_KEYS = ("name", "driver", "bridge_name", "subnet", "gateway", "internal", "ip_masquerade", "icc", "hosts", "vni",
                 "dstport", "mtu", "max_hosts", "ip_range", "parent", "mode", "shim", "ipv6", "ipv4")
# The keys each driver takes besides name and driver; the others are refused, naming the drivers that take them.
_DRIVER_KEYS = {
    "bridge": ("bridge_name", "subnet", "gateway", "internal", "ip_masquerade", "icc", "ipv6", "ipv4"),
    "overlay": ("bridge_name", "subnet", "internal", "ip_masquerade", "icc", "hosts", "vni", "dstport", "mtu", "max_hosts",
                "ip_range"),
    "macvlan": ("subnet", "gateway", "hosts", "mtu", "max_hosts", "ip_range", "parent", "mode", "shim"),
    "ipvlan": ("subnet", "gateway", "hosts", "mtu", "max_hosts", "ip_range", "parent", "mode", "shim"),
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
    _unknown(raw, _NETWORK_KEYS, where)
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
    ipv6, ipv4 = _bool(raw, "ipv6", False, where), _bool(raw, "ipv4", True, where)
    _check_families(name, subnets, gateways, ipv4=ipv4, ipv6=ipv6, where=where)
    spec = NetworkSpec(name, bridge, subnets.get(4), gateways.get(4), _bool(raw, "internal", False, where),
                       _bool(raw, "ip_masquerade", True, where), _bool(raw, "icc", True, where), driver,
                       ipv6=ipv6, subnet6=subnets.get(6), gateway6=gateways.get(6), ipv4=ipv4)
    if driver == "bridge":
        return spec
    return _multi_host_spec(spec, raw, where)


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
    if spec.subnet is None:
        raise InvalidInput("%s: subnet: %s network needs a subnet, the same on every host it spans (it cannot be picked"
                           " per host); give one, like 10.10.0.0/24" % (where, _fleet.article(driver)), where)
    hosts = raw.get("hosts")
    if isinstance(hosts, list) and hosts and all(isinstance(h, str) and h for h in hosts):
        hosts = tuple(hosts)
    elif not isinstance(hosts, str) or not hosts:
        raise InvalidInput("%s: hosts: %s network needs the hosts it spans: an inventory group name or a list of inventory"
                           " hosts" % (where, _fleet.article(driver)), where)
    ip_range = m.network(raw["ip_range"], "%s: ip_range" % where) if raw.get("ip_range") else None
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
    shim = _bool(raw, "shim", False, where)
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
    specs = [network_spec(raw, entry(where, i, _name_of(raw))) for i, raw in enumerate(raws or [])]
    _no_duplicates([s.name for s in specs], where, "network name")
    _no_duplicates([s.bridge for s in specs if s.bridge], where, "bridge name")
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


def _no_duplicates(names, where, what):
    seen = set()
    for name in names:
        if name in seen:
            raise InvalidInput("%s: %s %r is declared twice; declare each once" % (where, what, name), where)
        seen.add(name)


# -- sandboxes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SandboxSpec:
    name: str
    mode: str                        # host | none | container | network
    networks: tuple = ()             # network names, the first is network_mode's
    share_with: str = None
    ip: object = None
    publish: frozenset = frozenset()
    ports: tuple = ()                # host mode: (port, protocol)
    hostname: str = None
    dns: tuple = None
    dns_search: tuple = None
    dns_options: tuple = None
    extra_hosts: object = None
    aliases: tuple = ()
    state: str = "present"
    raw: dict = field(default=None, compare=False, hash=False)
    ips: tuple = ()                  # (network, address) given for further networks, both families
    ip6: object = None               # Docker's --ip6

    def ip_on(self, index, network, version=4):
        """The address of IP VERSION given for NETWORK, the sandbox's INDEXth (ip or ip6 for the
        first), or None."""
        if index == 0:
            return self.ip if version == 4 else self.ip6
        return next((ip for name, ip in self.ips if name == network and ip.version == version), None)

    def given(self):
        """Every address the declaration gives the sandbox."""
        return [ip for ip in (self.ip, self.ip6) if ip] + [ip for _network, ip in self.ips]


_SANDBOX_KEYS = ("name", "network_mode", "networks", "ip", "ip6", "publish", "ports", "hostname", "dns", "dns_search", "dns_options",
                 "extra_hosts", "aliases", "state")
_NOT_WITH_CONTAINER = ("publish", "hostname", "dns", "dns_search", "dns_options", "extra_hosts", "networks", "ip", "ip6", "aliases")


# The list-valued keys of a sandbox: {key: (a dict is its other form, each item is one value)}.
_LIST_KEYS = {"networks": (False, False), "publish": (False, False), "ports": (False, True), "dns": (False, True),
              "dns_search": (False, True), "dns_options": (False, True), "extra_hosts": (True, False), "aliases": (False, True)}


def _lists(raw, where):
    """{key: its items (None: not given)} of the list-valued keys of sandbox RAW, each checked to
    be a list (m.listed: the one rule), before anything else reads them."""
    return {key: m.listed(raw.get(key), "%s: %s" % (where, key), mapping, scalars) for key, (mapping, scalars) in _LIST_KEYS.items()}


def _strings(items):
    return None if items is None else tuple(str(v) for v in items)


def _host_port(value, where):
    text = str(value)
    port, _sep, proto = text.partition("/")
    proto = proto or "tcp"
    if not port.isdigit() or not 1 <= int(port) <= 65535 or proto not in PROTOCOLS:
        raise InvalidInput("%s: ports: %r is not a port; give a port from 1 to 65535, with a protocol %s after a slash"
                           " if not tcp (80, 53/udp)" % (where, value, PROTOCOL_WORDS), where)
    return int(port), proto


def sandbox_spec(raw, where):
    """A SandboxSpec from one entry of netmodes_sandboxes, or InvalidInput (Docker's rules)."""
    if not isinstance(raw, dict) or not raw.get("name"):
        raise InvalidInput("%s: a sandbox is a dict with at least a name" % where, where)
    _unknown(raw, _SANDBOX_KEYS, where)
    lists = _lists(raw, where)
    name = m.netns_name(str(raw["name"]), "%s: name" % where)
    state = raw.get("state") or "present"
    if state not in ("present", "absent"):
        raise InvalidInput("%s: state: %r is not a state of a sandbox; use present or absent" % (where, state), where)
    mode = str(raw.get("network_mode") or DEFAULT_NETWORK)
    given = [k for k in _SANDBOX_KEYS if raw.get(k) not in (None, [], "")]
    if mode.startswith("container:"):
        target = m.netns_name(mode.partition(":")[2], "%s: network_mode" % where)
        if target == name:
            raise InvalidInput("%s: network_mode: container:%s names the sandbox itself; name another sandbox" % (where, name), where)
        bad = [k for k in _NOT_WITH_CONTAINER if k in given]
        if bad:
            raise InvalidInput("%s: %s cannot be used with network_mode container:%s (it shares that sandbox's network, as"
                               " in Docker); set them on %s" % (where, ", ".join(bad), target, target), where)
        return SandboxSpec(name, "container", share_with=target, state=state, raw=raw)
    ports = tuple(_host_port(p, where) for p in lists["ports"] or ())
    if mode in ("host", "none"):
        refused = ("publish", "networks", "ip", "ip6", "aliases")
        if mode == "host":
            refused += ("hostname", "dns", "dns_search", "dns_options", "extra_hosts")
        bad = [k for k in refused if k in given]
        if bad:
            why = ("a host-mode service uses the host's own network, names and ports: list the ports it binds in ports"
                   if mode == "host" else "a none-mode sandbox has only lo: to use them, join a network (network_mode: NAME)")
            raise InvalidInput("%s: %s cannot be used with network_mode %s; %s" % (where, ", ".join(bad), mode, why), where)
    elif ports:
        raise InvalidInput("%s: ports: only host-mode sandboxes declare ports; publish with publish: [\"8080:80\"]" % where, where)
    further, ips = _further_networks(lists["networks"], where)
    networks = () if mode in ("host", "none") else (mode,) + further
    if mode == DEFAULT_NETWORK and len(networks) > 1:
        raise InvalidInput("%s: networks: further networks need a user-defined network_mode (Docker's default bridge"
                           " network cannot be combined)" % where, where)
    _no_duplicates(networks, where + ": networks", "network")
    ip, ip6 = (_given_ip(raw.get(key), version, "%s: %s" % (where, key)) for key, version in (("ip", 4), ("ip6", 6)))
    if state == "present" and mode != "host" and (not raw.get("hostname") or any(n != DEFAULT_NETWORK for n in networks)):
        _check_dns_name(name, where)
    dns = {key: _strings(lists[key]) for key in ("dns", "dns_search", "dns_options", "aliases")}
    _check_dns(dns, lists["extra_hosts"], where)
    return SandboxSpec(
        name, "network" if networks else mode, networks, None, ip,
        port_mappings(lists["publish"] or [], "%s: publish" % where), ports,
        m.hostname(raw["hostname"], "%s: hostname" % where) if raw.get("hostname") else None,
        dns["dns"], dns["dns_search"], dns["dns_options"], lists["extra_hosts"], dns["aliases"] or (), state, raw, ips, ip6)


def _given_ip(value, version, field_name):
    """A sandbox's address of IP VERSION (ip is IPv4, ip6 IPv6, as Docker's --ip and --ip6), or None."""
    if not value:
        return None
    found = m.address(value, field_name)
    if found.version != version:
        key = field_name.rpartition(" ")[2].rpartition(".")[2]
        raise InvalidInput("%s: %s is an IPv%d address; %s takes IPv%d (give IPv%d addresses in %s)"
                           % (field_name, found, found.version, key, version, found.version,
                              key[:-1] if key.endswith("6") else key + "6"), field_name)
    return found


def _further_networks(items, where):
    """The names in ITEMS (a sandbox's networks, checked to be a list), and the (name, address) of
    those given as {name, ip} (compose's ipv4_address; the boot-time restore pins addresses this way)."""
    names, ips = [], []
    for i, item in enumerate(items or ()):
        at = "%s: networks[%d]" % (where, i)
        if isinstance(item, dict):
            _unknown(item, ("name", "ip", "ip6"), at)
            if not item.get("name"):
                raise InvalidInput("%s: a network given as a dict needs a name ({name: back, ip: 172.30.0.5})" % at, where)
            for key, version in (("ip", 4), ("ip6", 6)):
                if item.get(key):
                    ips.append((str(item["name"]), _given_ip(item[key], version, "%s.%s" % (at, key))))
            item = item["name"]
        elif isinstance(item, bool) or not isinstance(item, str):
            raise InvalidInput("%s: %r is %s; give a network's name, or {name: NAME, ip: ADDRESS}" % (at, item, m.kind(item)), where)
        names.append(str(item))
    return tuple(names), tuple(ips)


def _check_dns_name(name, where):
    """A sandbox's name is its host name unless it has one, and its name in its networks' hosts files."""
    try:
        m.hostname(name, "%s: name" % where)
    except InvalidInput:
        raise InvalidInput("%s: name: %r is the sandbox's default host name and its name in the hosts files of its networks,"
                           " but is not a valid host name (RFC 1123); rename it with letters, digits and '-'" % (where, name), where)


def _check_dns(dns, extra_hosts, where):
    """The DNS options are used last in a run (dns_config), so they are checked here, before any change."""
    for i, value in enumerate(dns["dns"] or ()):
        m.address(value, "%s: dns[%d]" % (where, i), scoped=True)
    rc.search_domains(dns["dns_search"], "%s: dns_search" % where)
    rc.resolver_options(dns["dns_options"], "%s: dns_options" % where)
    rc.host_entries(extra_hosts, "%s: extra_hosts" % where)
    for i, alias in enumerate(dns["aliases"] or ()):
        m.hostname(alias, "%s: aliases[%d]" % (where, i))


def sandbox_specs(raws, where="config"):
    specs = [sandbox_spec(raw, entry(where, i, _name_of(raw))) for i, raw in enumerate(raws or [])]
    _no_duplicates([s.name for s in specs], where, "sandbox name")
    by_name = {s.name: s for s in specs}
    for spec in specs:
        target = by_name.get(spec.share_with)
        if target is not None and target.mode == "container":
            raise InvalidInput("%s: %s: network_mode container:%s points at a sandbox that is itself in container mode; point"
                               " at %s" % (where, spec.name, target.name, target.share_with), where)
        if target is not None and target.mode == "host":
            raise InvalidInput("%s: %s: network_mode container:%s points at a host-mode sandbox, which has no namespace;"
                               " use network_mode host for %s too" % (where, spec.name, target.name, spec.name), where)
    present = [s for s in specs if s.state == "present"]
    for network in sorted({n for s in present for n in s.networks if n != DEFAULT_NETWORK}):
        _fleet.names_unique(network, [_fleet.Member(None, s.name, None, 0, s.aliases) for s in present if network in s.networks], where)
    return specs


# The modes a run can be limited to: "bridge" is Docker's default network, "network" a user-defined one.
MODES = ("host", "bridge", "network", "none", "container")


def bridge_of(name, networks):
    """The bridge of network NAME (NETWORKS: {name: NetworkSpec} declared): its own, Docker's
    default network's, or (a network made by hand) the bridge of that name."""
    if name in networks:
        return networks[name].bridge
    return DEFAULT_BRIDGE if name == DEFAULT_NETWORK else name


def mode_of(spec):
    if spec.mode == "network":
        return "bridge" if spec.networks[0] == DEFAULT_NETWORK else "network"
    return spec.mode


def veth_name(sandbox, network):
    """The host end of SANDBOX's link to NETWORK: stable, unique, within 15 bytes (Docker: vethXXXXXXX)."""
    return "nmv" + hashlib.sha256(("%s\0%s" % (sandbox, network)).encode()).hexdigest()[:11]
