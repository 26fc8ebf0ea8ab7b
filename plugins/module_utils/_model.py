# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canonical, normalized values: parsers from module options and the state records.

Everything compared by the planner passes through here first, so that ``10.0.0.1/24`` and
``10.0.0.1/255.255.255.0``, or ``AA:BB:..`` and ``aa:bb:..``, can never cause a false change.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass

from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput

# The kernel's IFNAMSIZ is 16 bytes including the terminating NUL.
IFNAME_MAX_BYTES = 15
# Every link the collection creates carries this tag as the first word of its alias
# (``ip -d link`` shows it), so that removal and garbage collection touch ours only.
OWNER_TAG = "netmodes.linux"

# Every pattern here is matched against the whole string (fullmatch): ``$`` also matches before a
# trailing newline, which would reach a file or a rule as a line of its own.
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
# What no value may carry into a file, a rule or a command line: C0 and C1 control characters
# (a newline ends a line of resolv.conf, hosts, a unit or iptables-save's output) and Unicode's
# line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The names of sandboxes, networks and interfaces: Docker's rule for container names
# (daemon/names). Whatever else the kernel and ip netns accept has a meaning somewhere a name goes:
# a trailing '+' is a wildcard to iptables and '*' to nftables (the rule then matches other
# interfaces), a leading '!' a negation to python-iptables, '@' and '$' a set or a variable to nft.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NAME_RULE = "use letters, digits, '_', '.' and '-', starting with a letter or digit"


def is_ours(alias):
    """True when a link alias marks the link as created by this collection."""
    return bool(alias) and alias.split()[0] == OWNER_TAG


# A link is created under a temporary name and renamed once it is tagged, since the kernel
# takes no alias at creation: a run killed in between leaves a link under this name, which is
# ours by its name alone, and the next creation of NAME removes it.
TEMP_PREFIX = "nmt"


def temp_name(name):
    """The temporary name (fixed for NAME, within 15 bytes) that link NAME is created under."""
    return TEMP_PREFIX + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]


def _name_problem(value):
    """Why VALUE is not a name of ours (see _NAME), in words; None when it is one."""
    if _NAME.fullmatch(value):
        return None
    control = _CONTROL.search(value)
    if control:
        return "it contains the control character %r" % control.group()
    if any(c.isspace() for c in value):
        return "it contains white space"
    if value.endswith("+") or "*" in value:
        return "firewall rules read %s as a wildcard that matches other interfaces" % ("'+'" if value.endswith("+") else "'*'")
    others = sorted(set(re.sub(r"[A-Za-z0-9_.-]", "", value)))
    return "it contains %s" % ", ".join(map(repr, others)) if others else "it starts with %r" % value[0]


def ifname(value, field_name, existing=False):
    """An interface name the kernel accepts (dev_valid_name) and no firewall reads as more, or InvalidInput.

    EXISTING: the name of a link to remove, held to the kernel's rules only (nothing is written
    with it), so that a link an older version made under a name refused now can still go."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("%s: an interface name is required" % field_name, field_name)
    size = len(value.encode("utf-8"))
    if size > IFNAME_MAX_BYTES:
        raise InvalidInput("%s: interface name %r is %d bytes; the kernel allows at most %d (IFNAMSIZ). Choose a shorter name."
                           % (field_name, value, size, IFNAME_MAX_BYTES), field_name)
    if existing and value not in (".", "..") and not re.search(r"[/:\s]", value):
        return value
    problem = _name_problem(value)
    if problem:
        raise InvalidInput("%s: interface name %r is not valid: %s; %s. Choose another name." % (field_name, value, problem, NAME_RULE),
                           field_name)
    return value


def name(value, field_name, what):
    """The name of a sandbox or a network (WHAT, for messages): Docker's rule, or InvalidInput."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("%s: a %s is required" % (field_name, what), field_name)
    problem = _name_problem(value)
    if problem:
        raise InvalidInput("%s: %s %r is not valid: %s; %s. Choose another name." % (field_name, what, value, problem, NAME_RULE),
                           field_name)
    return value


def netns_name(value, field_name, existing=False):
    """A sandbox name, also usable as /run/netns/NAME, or InvalidInput. EXISTING: the name of a
    sandbox to remove, held to the rules of a path only (see ifname)."""
    if isinstance(value, str) and len(value.encode("utf-8")) > 255:
        raise InvalidInput("%s: sandbox name %r is not valid: it becomes /run/netns/NAME, so it may not exceed 255 bytes."
                           " Choose another name." % (field_name, value), field_name)
    if existing and isinstance(value, str) and value not in ("", ".", "..") and "/" not in value and "\0" not in value:
        return value
    return name(value, field_name, "sandbox name")


# RFC 1123 host name: dot-separated labels of letters, digits and '-', not starting or ending
# with '-', each at most 63 characters, at most 253 in all.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def hostname(value, field_name):
    """A host or domain name valid under RFC 1123, or InvalidInput."""
    text = str(value).strip(" ") if value is not None else ""
    if not text or len(text) > 253 or not all(_LABEL.fullmatch(label) for label in text.split(".")):
        raise InvalidInput(
            "%s: %r is not a valid host name (RFC 1123): use labels of letters, digits and '-'"
            " separated by dots, each label 1-63 characters and not starting or ending with '-'"
            % (field_name, value),
            field_name,
        )
    return text


# A resolver option as glibc reads it from resolv.conf: a word such as ndots:2, edns0 or trust-ad.
_OPTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


def resolver_option(value, field_name):
    """One resolv.conf option (``ndots:2``, ``edns0``), or InvalidInput."""
    text = str(value).strip(" ")
    if not _OPTION.fullmatch(text):
        raise InvalidInput("%s: %r is not one resolver option; give each option as its own list item, a word of letters, digits,"
                           " '-', '_', '.' and ':', like ndots:2 or edns0" % (field_name, value), field_name)
    return text


# A path written into a systemd unit's command line, where white space separates words and '%',
# '$', quotes and backslashes are expanded.
_PATH = re.compile(r"(/[A-Za-z0-9_.@+-]+)+")


def unit_path(value, field_name):
    """An absolute path that a systemd unit can name as it is, or InvalidInput."""
    text = str(value)
    if not _PATH.fullmatch(text):
        raise InvalidInput("%s: %r is not a path a systemd unit can name as it is: give an absolute path of letters, digits,"
                           " '_', '.', '@', '+' and '-' between slashes" % (field_name, value), field_name)
    return text


def _unscoped(found, value, field_name):
    """FOUND (parsed from VALUE), refused when it carries an IPv6 scope id (``%eth0``)."""
    if getattr(found, "scope_id", None) is not None:
        raise InvalidInput("%s: %r carries a scope id, %r, which means nothing here; remove it" % (field_name, value, found.scope_id),
                           field_name)
    return found


def _scope_problem(found):
    """Why the scope id of FOUND (an IPv6Address) does not name an interface it applies to, or None."""
    scope = found.scope_id
    if not found.is_link_local:
        return "a scope id (%r) applies to link-local addresses (fe80::/10) only" % scope
    problem = _name_problem(scope)
    if problem:
        return "its scope id %r is not an interface name: %s" % (scope, problem)
    if len(scope.encode("utf-8")) > IFNAME_MAX_BYTES:
        return "its scope id %r is longer than an interface name (at most %d bytes)" % (scope, IFNAME_MAX_BYTES)
    return None


def interface(value, field_name):
    """An address with its prefix length (``10.0.0.1/24``) as an ip_interface."""
    text = str(value).strip(" ")
    if "/" not in text:
        raise InvalidInput(
            "%s: %r needs a prefix length, for example 172.18.0.1/16" % (field_name, value),
            field_name,
        )
    try:
        found = ipaddress.ip_interface(text)
    except ValueError:
        raise InvalidInput("%s: %r is not a valid address/prefix (CIDR); write it as ADDRESS/PREFIX, for example"
                           " 172.18.0.1/16" % (field_name, value), field_name)
    return _unscoped(found, value, field_name)


def address(value, field_name, version=None, scoped=False):
    """A single IP address as an ip_address, of IP VERSION when given (an underlay's).

    A scope id (``fe80::1%eth0``) only where SCOPED (a nameserver: glibc's resolver reads it),
    on a link-local address, and naming an interface."""
    try:
        found = ipaddress.ip_address(str(value).strip(" "))
    except ValueError:
        raise InvalidInput("%s: %r is not a valid IP address; write it like 172.18.0.1 or 2001:db8::1" % (field_name, value),
                           field_name)
    if getattr(found, "scope_id", None) is not None and scoped:
        problem = _scope_problem(found)
        if problem:
            raise InvalidInput("%s: %r: %s; write a link-local address and an interface, like fe80::1%%eth0" % (field_name, value, problem),
                               field_name)
    else:
        _unscoped(found, value, field_name)
    if version is not None and found.version != version:
        raise InvalidInput("%s: %s is IPv%d, the underlay is IPv%d; use addresses of one IP version"
                           % (field_name, found, found.version, version), field_name)
    return found


def network(value, field_name):
    """A destination network (``default`` or a CIDR) as an ip_network, host bits rejected."""
    text = str(value).strip(" ")
    if text == "default":
        return ipaddress.ip_network("0.0.0.0/0")
    try:
        found = ipaddress.ip_network(text)
    except ValueError:
        raise InvalidInput(
            "%s: %r is not a valid network; write it as a CIDR with host bits zero"
            " (e.g. 10.231.0.0/16) or 'default'" % (field_name, value),
            field_name,
        )
    _unscoped(found.network_address, value, field_name)
    return found


def mac(value, field_name):
    """A unicast MAC address, lower case and colon separated."""
    text = str(value).strip(" ").lower().replace("-", ":")
    if not _MAC.fullmatch(text):
        raise InvalidInput("%s: %r is not a MAC address; write six hex pairs like 02:42:ac:12:00:0a" % (field_name, value), field_name)
    if int(text[:2], 16) & 1:
        raise InvalidInput("%s: %s is a multicast MAC address; use a unicast one" % (field_name, text), field_name)
    return text


def mtu(value, field_name):
    """An MTU in the range the kernel accepts for IPv4 links."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("%s: %r is not a number; give an MTU in 68..65535" % (field_name, value), field_name)
    if not 68 <= number <= 65535:
        raise InvalidInput("%s: MTU %d is outside what the kernel accepts; give an MTU in 68..65535" % (field_name, number), field_name)
    return number


def number(value, field_name, low, high, what):
    """An int in LOW..HIGH, or InvalidInput naming the field and the range."""
    try:
        found = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("%s: %r is not a number; give one in %d..%d (%s)" % (field_name, value, low, high, what), field_name)
    if not low <= found <= high:
        raise InvalidInput("%s: %d is outside %d..%d (%s); give one in %d..%d" % (field_name, found, low, high, what, low, high), field_name)
    return found


def kind(value):
    """What VALUE is, in YAML's words, for messages: 'a string', 'a number', 'a dict'..."""
    for types, words in ((bool, "a boolean"), (str, "a string"), ((int, float), "a number"), (dict, "a dict"),
                         ((list, tuple), "a list")):
        if isinstance(value, types):
            return words
    return "no value" if value is None else type(value).__name__


def listed(value, field_name, mapping=False, scalars=True):
    """The items of a list-valued field of a declaration (``publish``, ``ports``, ``aliases``...)
    as a tuple, or None when the field is not given.

    The one rule for such fields: they take a YAML list, even of one item. Anything else is
    refused naming the field (a string would be read as its characters, a number is not a list):
    a dict too unless MAPPING (the field's other form, as compose's extra_hosts). With SCALARS,
    each item is one value, a string or a whole number (a boolean is YAML's reading of yes/no/on/off)."""
    if value is None or (mapping and isinstance(value, dict)):
        return value
    if not isinstance(value, (list, tuple)):
        key = field_name.rpartition(".")[2].rpartition(" ")[2]  # config[0].publish, netmodes_sandboxes[0] (web): publish
        fix = "%s: [%r]" % (key, value) if isinstance(value, (str, int, dict)) and not isinstance(value, bool) else "%s: [...]" % key
        raise InvalidInput("%s: %r is %s, not a list; write a list, even of one item: %s%s"
                           % (field_name, value, kind(value), fix, " (or a dict)" if mapping else ""), field_name)
    for i, item in enumerate(value if scalars else ()):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise InvalidInput("%s[%d]: %r is %s; give each item as one value, a string or a number (quote yes, no, on and off)"
                               % (field_name, i, item, kind(item)), field_name)
    return tuple(value)


def addresses(values, field_name, version=None):
    """A list of IP addresses as a frozenset (None: not managed), all of IP VERSION when given."""
    if values is None:
        return None
    return frozenset(address(v, "%s[%d]" % (field_name, i), version) for i, v in enumerate(values))


def interfaces(values, field_name):
    """A list of CIDRs as a frozenset, or None when the option is not managed."""
    if values is None:
        return None
    return frozenset(interface(v, "%s[%d]" % (field_name, i)) for i, v in enumerate(values))


@dataclass(frozen=True, order=True)
class Route:
    """A route the collection manages: destination, optional next hop and metric."""

    dst: object
    via: object = None
    metric: int = 0

    def __str__(self):
        text = "default" if self.dst.prefixlen == 0 else str(self.dst)
        if self.via is not None:
            text += " via %s" % self.via
        if self.metric:
            text += " metric %d" % self.metric
        return text


def route(spec, field_name):
    """A Route from a dict with ``dst`` and optional ``via`` and ``metric``."""
    if not isinstance(spec, dict) or "dst" not in spec:
        raise InvalidInput("%s: a route is a dict with 'dst' and optional 'via', 'metric'" % field_name, field_name)
    unknown = set(spec) - {"dst", "via", "metric"}
    if unknown:
        raise InvalidInput("%s: unknown route keys %s (known: dst, via, metric)" % (field_name, ", ".join(sorted(unknown))), field_name)
    dst = network(spec["dst"], field_name + ".dst")
    via = address(spec["via"], field_name + ".via") if spec.get("via") is not None else None
    if via is not None and via.version != dst.version:
        raise InvalidInput("%s: via %s and dst %s are of different IP versions; give a via of the same IP version as dst"
                           % (field_name, via, dst), field_name)
    try:
        metric = int(spec.get("metric") or 0)
    except (TypeError, ValueError):
        raise InvalidInput("%s.metric: %r is not a number; give a whole number (0 is the kernel's default)" % (field_name, spec.get("metric")),
                           field_name)
    return Route(dst, via, metric)


def default_route(gateway):
    """The default route through ``gateway`` (an ip_address), in its IP version."""
    dst = ipaddress.ip_network("0.0.0.0/0" if gateway.version == 4 else "::/0")
    return Route(dst, gateway, 0)


@dataclass
class Link:
    """What the kernel says about one link (read through the netlink adapter)."""

    name: str
    index: int
    kind: str
    mtu: int
    mac: str
    up: bool
    alias: str = ""
    master: str = None
    peer_index: int = None
    # Inode of the named namespace (sandbox) holding a veth's peer, when it is not the link's own.
    peer_netns: int = None
    stp: bool = None
    nf_call_iptables: bool = None
    # As a bridge port: whether the bridge sends a frame back out of the port it came in on.
    hairpin: bool = None
    addresses: frozenset = frozenset()
    routes: frozenset = frozenset()
    # What the kind adds (vxlan: vni, local, dstport, learning, proxy; macvlan/ipvlan: mode).
    info: dict = None

    @property
    def ours(self):
        return is_ours(self.alias)


@dataclass(frozen=True)
class RouteEntry:
    """Any route of a namespace's main table as read, for reports (``Route`` is what modules manage)."""

    route: Route
    dev: str = None
    protocol: str = "static"

    def sort_key(self):
        return (self.route.dst.version, self.route.dst, self.route.metric, self.dev or "")

    def describe(self):
        """As ``ip -j route`` words it: ``default`` for a default route, ``via`` its gateway."""
        dst = self.route.dst
        return {"dst": "default" if dst.prefixlen == 0 else str(dst), "via": jsonable(self.route.via),
                "dev": self.dev, "metric": self.route.metric, "protocol": self.protocol}


def jsonable(value):
    """Render model values (ip objects, sets, routes) as plain JSON data for results and diffs."""
    if isinstance(value, (frozenset, set)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


PROTOCOLS = ("tcp", "udp", "sctp")
PROTOCOL_WORDS = "%s or %s" % (", ".join(PROTOCOLS[:-1]), PROTOCOLS[-1])  # for messages: "tcp, udp or sctp"
_ANY4 = ipaddress.ip_address("0.0.0.0")


@dataclass(frozen=True, order=True)
class PortMapping:
    """One published port or port range (Docker's ``-p``), host side and sandbox side.

    ``host_ip`` 0.0.0.0 means every local address. A range maps port for port, so only the
    first sandbox port is kept.
    """

    protocol: str
    host_port: int
    host_port_end: int
    container_port: int
    host_ip: object = _ANY4

    @property
    def size(self):
        return self.host_port_end - self.host_port + 1

    @property
    def container_port_end(self):
        return self.container_port + self.size - 1

    def host_ports(self):
        return "%d" % self.host_port if self.size == 1 else "%d-%d" % (self.host_port, self.host_port_end)

    def covers(self, port, protocol):
        """True when host port PORT/PROTOCOL is one of this mapping's (on whichever address)."""
        return protocol == self.protocol and self.host_port <= port <= self.host_port_end

    def listener(self, listeners):
        """The first of LISTENERS ((protocol, address, port, inode), as the sockets adapter lists
        them) that holds one of this mapping's host ports on an address it publishes on, or None."""
        return next(((protocol, addr, port, inode) for protocol, addr, port, inode in listeners if self.covers(port, protocol)
                     and (addr.is_unspecified or self.host_ip.is_unspecified or addr == self.host_ip)), None)

    def overlaps(self, other):
        """True when both claim a host port of the same protocol on a common local address."""
        return (self.protocol == other.protocol
                and self.host_port <= other.host_port_end and other.host_port <= self.host_port_end
                and (self.host_ip == other.host_ip or _ANY4 in (self.host_ip, other.host_ip)))

    def __str__(self):
        ip = "" if self.host_ip == _ANY4 else "%s:" % self.host_ip
        container = "%d" % self.container_port if self.size == 1 else "%d-%d" % (self.container_port, self.container_port_end)
        return "%s%s:%s/%s" % (ip, self.host_ports(), container, self.protocol)


def _port_range(text, field_name, what):
    first, _sep, last = str(text).strip().partition("-")
    try:
        start, end = int(first), int(last or first)
    except ValueError:
        raise InvalidInput("%s: %s %r is not a port or a port range; write it like 8080 or 5000-5010" % (field_name, what, text),
                           field_name)
    if not (1 <= start <= 65535 and 1 <= end <= 65535):
        raise InvalidInput("%s: %s %r is outside 1-65535; give ports from 1 to 65535" % (field_name, what, text), field_name)
    if start > end:
        raise InvalidInput("%s: %s %r runs backwards; write the lower port first (%d-%d)" % (field_name, what, text, end, start),
                           field_name)
    return start, end


def port_mapping(spec, field_name):
    """A PortMapping from Docker's ``-p`` text or from a dict.

    Text: ``[HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]``, where ports may be equal-length
    ranges. Dict: ``host_ip``, ``host_port``, ``container_port``, ``protocol``. A host port is
    required: Docker's random host ports (``-p 80``) are not idempotent, so they are refused.
    """
    if isinstance(spec, dict):
        known = ("container_port", "host_ip", "host_port", "protocol")
        unknown = set(spec) - set(known)
        if unknown:
            raise InvalidInput("%s: unknown keys %s (known: %s)" % (field_name, ", ".join(sorted(unknown)), ", ".join(known)), field_name)
        host_ip, host, container = spec.get("host_ip"), spec.get("host_port"), spec.get("container_port")
        protocol = spec.get("protocol") or "tcp"
    else:
        text = str(spec).strip()
        text, _sep, protocol = text.partition("/")
        protocol = protocol or "tcp"
        if text.startswith("["):
            raise InvalidInput("%s: %r: publishing on IPv6 host addresses is not supported yet" % (field_name, spec), field_name)
        parts = text.split(":")
        if len(parts) == 3:
            host_ip, host, container = parts
        elif len(parts) == 2:
            host_ip, (host, container) = None, parts
        else:
            raise InvalidInput("%s: %r: write it as Docker's -p, [HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]; a host port is"
                               " required (random host ports are not idempotent)" % (field_name, spec), field_name)
    if host in (None, "") or container in (None, ""):
        raise InvalidInput("%s: %r needs both a host port and a container port" % (field_name, spec), field_name)
    protocol = str(protocol).lower()
    if protocol not in PROTOCOLS:
        raise InvalidInput("%s: protocol %r is not supported; use %s" % (field_name, protocol, PROTOCOL_WORDS), field_name)
    host_start, host_end = _port_range(host, field_name, "host port")
    c_start, c_end = _port_range(container, field_name, "container port")
    if c_end - c_start != host_end - host_start:
        raise InvalidInput("%s: %r: host range %d-%d and container range %d-%d differ in length; give ranges of the same"
                           " length (a range maps port for port)" % (field_name, spec, host_start, host_end, c_start, c_end), field_name)
    ip = address(host_ip, field_name + ".host_ip") if host_ip not in (None, "") else _ANY4
    if ip.version != 4:
        raise InvalidInput("%s: %r: publishing on IPv6 host addresses is not supported yet" % (field_name, spec), field_name)
    return PortMapping(protocol, host_start, host_end, c_start, ip)


def port_mappings(values, field_name):
    """The complete set of a sandbox's published ports; overlapping entries are refused."""
    mappings = [port_mapping(v, "%s[%d]" % (field_name, i)) for i, v in enumerate(values or [])]
    for i, one in enumerate(mappings):
        for other in mappings[:i]:
            if one.overlaps(other) and one != other:
                raise InvalidInput("%s: %s and %s publish the same host port %s/%s twice; publish each host port once" % (
                    field_name, other, one, one.host_ports(), one.protocol), field_name)
    return frozenset(mappings)
