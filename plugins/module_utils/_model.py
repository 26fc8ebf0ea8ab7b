# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canonical, normalized values: the parsers of module options (names, addresses, lists, routes).

Everything compared by the planner passes through here first, so that ``10.0.0.1/24`` and
``10.0.0.1/255.255.255.0``, or ``AA:BB:..`` and ``aa:bb:..``, can never cause a false change.
Published ports are parsed in ``_ports``; the state records read from the kernel are ``_records``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput

# The kernel's IFNAMSIZ is 16 bytes including the terminating NUL.
IFNAME_MAX_BYTES = 15

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


# The metric the kernel gives an IPv6 route added without one (IP6_RT_PRIO_USER).
IPV6_USER_METRIC = 1024


def route(spec, field_name):
    """A Route from a dict with ``dst`` and optional ``via`` and ``metric``."""
    if not isinstance(spec, dict) or "dst" not in spec:
        raise InvalidInput("%s: a route is a dict with 'dst' and optional 'via', 'metric'" % field_name, field_name)
    unknown = set(spec) - {"dst", "via", "metric"}
    if unknown:
        raise InvalidInput("%s: unknown route keys %s (known: dst, via, metric)" % (field_name, ", ".join(sorted(unknown))), field_name)
    dst = network(spec["dst"], field_name + ".dst")
    via = address(spec["via"], field_name + ".via") if spec.get("via") is not None else None
    if str(spec["dst"]).strip(" ") == "default" and via is not None and via.version == 6:
        dst = ipaddress.ip_network("::/0")
    if via is not None and via.version != dst.version:
        raise InvalidInput("%s: via %s and dst %s are of different IP versions; give a via of the same IP version as dst"
                           % (field_name, via, dst), field_name)
    try:
        metric = int(spec.get("metric") or 0)
    except (TypeError, ValueError):
        raise InvalidInput("%s.metric: %r is not a number; give a whole number (0 is the kernel's default)" % (field_name, spec.get("metric")),
                           field_name)
    if dst.version == 6 and metric == IPV6_USER_METRIC:
        metric = 0  # the kernel's own for an IPv6 route given none: read back as none
    return Route(dst, via, metric)


def default_route(gateway):
    """The default route through ``gateway`` (an ip_address), in its IP version."""
    dst = ipaddress.ip_network("0.0.0.0/0" if gateway.version == 4 else "::/0")
    return Route(dst, gateway, 0)


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
