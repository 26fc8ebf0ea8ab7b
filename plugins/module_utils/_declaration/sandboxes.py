# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandboxes of a declaration (``netmodes_sandboxes``, Docker's ``docker run --network … -p …
-h … --dns …``) as SandboxSpec, with Docker's rules, checked before anything is read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from ansible_collections.netmodes.linux.plugins.module_utils import _fleet
from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils import _resolvconf as rc
from ansible_collections.netmodes.linux.plugins.module_utils._declaration.common import DEFAULT_NETWORK, name_of, no_duplicates, unknown_keys
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._naming import entry
from ansible_collections.netmodes.linux.plugins.module_utils._ports import ANY4, PROTOCOL_WORDS, PROTOCOLS, port_mappings, resolve_allow


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
    unknown_keys(raw, _SANDBOX_KEYS, where)
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
    no_duplicates(networks, where + ": networks", "network")
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
            unknown_keys(item, ("name", "ip", "ip6"), at)
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
    specs = [sandbox_spec(raw, entry(where, i, name_of(raw))) for i, raw in enumerate(raws or [])]
    no_duplicates([s.name for s in specs], where, "sandbox name")
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


def with_host_binding(specs, networks):
    """SPECS with each port published without a host address (``-p 8080:80``) bound to the
    ``host_binding_ipv4`` of the sandbox's network (NETWORKS: {name: NetworkSpec}), as Docker's
    ``com.docker.network.bridge.host_binding_ipv4``: on that address alone (``::``: on every IPv6
    address alone; 0.0.0.0 is Docker's default, every address of each family)."""
    out = []
    for spec in specs:
        network = networks.get(spec.networks[0]) if spec.networks else None
        binding = getattr(network, "host_binding_ipv4", None)
        if binding is not None and binding != ANY4 and any(m.every_family for m in spec.publish):
            spec = replace(spec, publish=frozenset(replace(m, host_ip=binding, every_family=False) if m.every_family else m
                                                   for m in spec.publish))
        out.append(spec)
    return out


def with_allow_groups(specs, fleet, where):
    """SPECS with the inventory groups their published ports' ``allow`` names replaced by the
    addresses of those groups' hosts (FLEET: a _fleet.Fleet, as the filter netmodes.linux.fleet
    builds it with the sandboxes); WHERE names the declaration in messages."""
    out = []
    for i, spec in enumerate(specs):   # as sandbox_specs gives them: an entry each, in order
        if spec.state == "present" and any(mapping.groups() for mapping in spec.publish):
            at = "%s: publish" % entry(where, i, spec.name)
            spec = replace(spec, publish=frozenset(resolve_allow(mapping, lambda group, at=at: fleet.group_addresses(group, at), at)
                                                   for mapping in spec.publish))
        out.append(spec)
    return out


# The modes a run can be limited to: "bridge" is Docker's default network, "network" a user-defined one.
MODES = ("host", "bridge", "network", "none", "container")


def mode_of(spec):
    if spec.mode == "network":
        return "bridge" if spec.networks[0] == DEFAULT_NETWORK else "network"
    return spec.mode


def veth_name(sandbox, network):
    """The host end of SANDBOX's link to NETWORK: stable, unique, within 15 bytes (Docker: vethXXXXXXX)."""
    return "nmv" + hashlib.sha256(("%s\0%s" % (sandbox, network)).encode()).hexdigest()[:11]
