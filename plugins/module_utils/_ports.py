# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published ports: Docker's ``-p`` (``[HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]``, or a dict)
parsed into PortMapping values, the protocols a port is published for, and the one place that
picks a random host port (``-p 80``, ``-p 8000-8100:80``) and keeps it."""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re
from dataclasses import dataclass, field, replace

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._model import address

PROTOCOLS = ("tcp", "udp", "sctp")
PROTOCOL_WORDS = "%s or %s" % (", ".join(PROTOCOLS[:-1]), PROTOCOLS[-1])  # for messages: "tcp, udp or sctp"
ANY4 = ipaddress.ip_address("0.0.0.0")
ANY6 = ipaddress.ip_address("::")


def _holds(one, other):
    """Host addresses ONE and OTHER have one in common: of one family, equal or one of them every
    address. 0.0.0.0 and :: are different addresses (the firewall tells the families apart)."""
    return one.version == other.version and (one == other or one.is_unspecified or other.is_unspecified)


@functools.total_ordering
@dataclass(frozen=True)
class PortMapping:
    """One published port or port range (Docker's ``-p``), host side and sandbox side.

    ``host_ip`` 0.0.0.0 means every local IPv4 address, :: every IPv6 one. ``every_family``: no
    host address was given (``-p 8080:80``), so the port is published on every address of each
    family the sandbox has an address of (as Docker does on a dual-stack network); ``for_family``
    makes the mapping of one family, which is what the firewall holds and reads back. A range maps
    port for port, so only the first sandbox port is kept.
    """

    protocol: str
    host_port: int
    host_port_end: int
    container_port: int
    host_ip: object = ANY4
    every_family: bool = field(default=False, compare=False)
    # A random host port (Docker's ``-p 80``, ``-p 8000-8100:80``): the (first, last) host ports
    # to pick one of, () for any free port outside the ephemeral range; None when the host port is
    # given. Until picked (``pick_ports``) host_port and host_port_end are 0, which no port overlaps.
    pick: tuple = None
    # The sources the port admits (``allow``): a sorted tuple of networks (ipaddress, both
    # families) and inventory group names (text, until the sandboxes batch resolves them from
    # the fleet: ``resolve_allow``); None when it is open to every source (Docker's -p). Not
    # compared: the firewall's published ports are read back without it (it is a filter's, not
    # the port's); ``port_mappings`` refuses one port with two allow-lists.
    allow: tuple = field(default=None, compare=False)

    def _key(self):
        return (self.protocol, self.host_port, self.host_port_end, self.container_port, self.host_ip.version, int(self.host_ip),
                self.pick or ())

    def __lt__(self, other):
        return self._key() < other._key()

    def hosts(self):
        """The host addresses it may be published on: 0.0.0.0 and :: for every_family."""
        return (ANY4, ANY6) if self.every_family else (self.host_ip,)

    def for_family(self, version):
        """This mapping as published on IP VERSION alone (``every_family`` resolved)."""
        if self.every_family:
            return replace(self, host_ip=ANY4 if version == 4 else ANY6, every_family=False)
        return self

    @property
    def size(self):
        return self.host_port_end - self.host_port + 1

    @property
    def container_port_end(self):
        return self.container_port + self.size - 1

    def host_ports(self):
        if self.pick is not None:
            return "%d-%d" % self.pick if self.pick else ""
        return "%d" % self.host_port if self.size == 1 else "%d-%d" % (self.host_port, self.host_port_end)

    def picked(self, port):
        """This random mapping with host port PORT."""
        return replace(self, host_port=port, host_port_end=port, pick=None)

    def option(self):
        """This mapping as an entry of the portmap module's ``ports``: Docker's -p text, a dict
        with ``allow`` when it admits only some sources. 0.0.0.0 is written out when given
        (``-p 0.0.0.0:8080:80`` is IPv4 alone; ``-p 8080:80`` each family)."""
        text = self.text(explicit=not self.every_family)
        if self.allow is None:
            return text
        return {"port": text, "allow": [str(a) for a in self.allow]}

    def groups(self):
        """The inventory group names of its allow-list."""
        return [a for a in self.allow or () if isinstance(a, str)]

    def keeps(self, other):
        """True when OTHER (a published mapping of one family) is what this random mapping picked
        on an earlier run: the same protocol, container port and host address (every address of
        its family for every_family), one host port, inside the range to pick from if any."""
        return (self.pick is not None and other.pick is None and other.size == 1
                and (other.protocol, other.container_port) == (self.protocol, self.container_port)
                and (other.host_ip.is_unspecified if self.every_family else other.host_ip == self.host_ip)
                and (not self.pick or self.pick[0] <= other.host_port <= self.pick[1]))

    def covers(self, port, protocol):
        """True when host port PORT/PROTOCOL is one of this mapping's (on whichever address)."""
        return protocol == self.protocol and self.host_port <= port <= self.host_port_end

    def listener(self, listeners):
        """The first of LISTENERS ((protocol, address, port, inode), as the sockets adapter lists
        them) that holds one of this mapping's host ports on an address it publishes on, or None."""
        return next(((protocol, addr, port, inode) for protocol, addr, port, inode in listeners if self.covers(port, protocol)
                     and any(_holds(host, held) for host in self.hosts() for held in _listening_on(addr))), None)

    def overlaps(self, other):
        """True when both claim a host port of the same protocol on a common local address (a
        random port not picked yet claims none)."""
        return (self.protocol == other.protocol and self.pick is None and other.pick is None
                and self.host_port <= other.host_port_end and other.host_port <= self.host_port_end
                and any(_holds(one, two) for one in self.hosts() for two in other.hosts()))

    def __str__(self):
        return self.text()

    def text(self, explicit=False):
        """Docker's -p text of this mapping; 0.0.0.0 left out unless EXPLICIT."""
        if self.host_ip == ANY4 and not explicit:
            ip = ""
        else:
            ip = "[%s]:" % self.host_ip if self.host_ip.version == 6 else "%s:" % self.host_ip
        container = "%d" % self.container_port if self.size == 1 else "%d-%d" % (self.container_port, self.container_port_end)
        if self.pick == () and not ip:
            return "%d/%s" % (self.container_port, self.protocol)  # Docker's -p 80
        return "%s%s:%s/%s" % (ip, self.host_ports(), container, self.protocol)


def _listening_on(addr):
    """The addresses a listener on ADDR receives connections for. One on :: gets IPv4 too unless
    it set IPV6_V6ONLY, which /proc/net does not tell: Linux's default (bindv6only 0) is assumed,
    so it holds the port on every address of both families. One on an IPv4-mapped address is an
    IPv4 listener."""
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return (addr.ipv4_mapped,)
    return (ANY4, ANY6) if addr == ANY6 else (addr,)


class Held:
    """Published host ports of many owners, found by protocol and port: which of them a mapping
    overlaps, without comparing it with every other (a host publishing a thousand ports)."""

    # A range this long or longer is compared with every single port of its protocol, not looked
    # up port by port.
    LOOKUP = 64

    def __init__(self, pairs=()):
        self._ports, self._ranges, self._count = {}, [], 0
        for who, mapping in pairs:
            self.add(who, mapping)

    def add(self, who, mapping):
        entry = (self._count, who, mapping)
        self._count += 1
        if mapping.size == 1:
            self._ports.setdefault((mapping.protocol, mapping.host_port), []).append(entry)
        else:
            self._ranges.append(entry)

    def overlapping(self, mapping, skip=()):
        """The first held (owner, mapping), in the order they were added, that MAPPING overlaps,
        but of the owners in SKIP; None."""
        if mapping.size < self.LOOKUP:
            singles = [e for port in range(mapping.host_port, mapping.host_port_end + 1)
                       for e in self._ports.get((mapping.protocol, port), ())]
        else:
            singles = [e for (protocol, _port), entries in self._ports.items() if protocol == mapping.protocol for e in entries]
        found = min((e for e in singles + self._ranges if e[1] not in skip and mapping.overlaps(e[2])), default=None, key=lambda e: e[0])
        return found[1:] if found is not None else None

    def ports(self, skip=()):
        """{(protocol, port)} of every host port held, on any address, but by the owners in SKIP."""
        out = {key for key, entries in self._ports.items() if any(e[1] not in skip for e in entries)}
        for _count, who, mapping in self._ranges:
            if who not in skip:
                out.update((mapping.protocol, port) for port in range(mapping.host_port, mapping.host_port_end + 1))
        return out


# -- random host ports -----------------------------------------------------------------------------
# Docker picks a random host port inside the host's ephemeral range (net.ipv4.ip_local_port_range),
# where its userland proxy then binds it, so that the kernel gives that port to no other socket.
# netmodes.linux runs no proxy (the firewall's DNAT alone carries a published port), so a port
# inside the range could be handed by the kernel to any program binding port 0 or connecting out,
# and the DNAT would shadow that program's port from the outside. Random host ports are therefore
# picked outside the ephemeral range (as the issue asked), never under 1024.

EPHEMERAL_KEY = "net/ipv4/ip_local_port_range"
EPHEMERAL = (32768, 60999)   # Linux's default, when the host's cannot be read
UNPRIVILEGED = 1024


def ephemeral_range(value):
    """(first, last) of net.ipv4.ip_local_port_range's VALUE ("32768\t60999"), Linux's default when unreadable."""
    try:
        first, last = (int(x) for x in str(value).split())
    except (TypeError, ValueError):
        return EPHEMERAL
    return (first, last) if 1 <= first <= last <= 65535 else EPHEMERAL


RESERVED_KEY = "net/ipv4/ip_local_reserved_ports"   # ports the kernel never hands out itself


def reserved_ports(value):
    """[(first, last)] of net.ipv4.ip_local_reserved_ports's VALUE ("8080,9000-9100"); [] when unreadable."""
    out = []
    for part in str(value or "").replace(" ", "").split(","):
        first, _dash, last = part.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            out.append((int(first), int(last or first)))
    return out


def inside_ephemeral(mapping, ephemeral, reserved):
    """The host ports of fixed MAPPING that the kernel may hand to a program binding port 0: those
    inside the EPHEMERAL range and not RESERVED (``reserved_ports``), as a sorted list."""
    first, last = ephemeral
    return [port for port in range(max(mapping.host_port, first), min(mapping.host_port_end, last) + 1)
            if not any(a <= port <= b for a, b in reserved)]


def ephemeral_warning(where, mapping, ports, ephemeral):
    """The warning for fixed MAPPING whose host PORTS (``inside_ephemeral``) lie in the EPHEMERAL range."""
    span = "%d" % ports[0] if len(ports) == 1 else "%d-%d" % (ports[0], ports[-1])
    shown = span if len(ports) == 1 or ports[-1] - ports[0] + 1 == len(ports) else "%d ports" % len(ports)
    return ("%s: host port %s of %s is inside net.ipv4.ip_local_port_range (%d-%d): the kernel may give it to a program that"
            " binds port 0, whose connections the published port then takes; publish outside the range, or reserve it with"
            " net.ipv4.ip_local_reserved_ports=%s" % (where, shown, mapping, ephemeral[0], ephemeral[1], span))


def candidates(mapping, ephemeral):
    """The host ports random MAPPING may get, in the order they are tried: those of its range,
    upwards; else those above the EPHEMERAL range upwards, then those below it downwards to 1024."""
    if mapping.pick:
        return range(mapping.pick[0], mapping.pick[1] + 1)
    first, last = ephemeral
    return itertools.chain(range(max(last + 1, UNPRIVILEGED), 65536), range(min(first, 65536) - 1, UNPRIVILEGED - 1, -1))


def pick_ports(wanted, published, busy, ephemeral, field_name="ports"):
    """{random mapping of WANTED: the mapping with its host port} for a sandbox: the port it got on
    an earlier run, kept (one of PUBLISHED, the sandbox's own mappings in the firewall, that it
    ``keeps`` and no fixed mapping of WANTED claims), else the first free one of its candidates
    in EPHEMERAL (the host's range). BUSY: {(protocol, port)} held by others (listeners, other
    sandboxes' published ports, host-mode claims, ports others declare); the sandbox's own fixed
    ports and picks join it. One every_family mapping gets one port for both families, as in
    Docker. Conflict when no free port is left."""
    busy = set(busy) | {(m.protocol, port) for m in wanted if m.pick is None for port in range(m.host_port, m.host_port_end + 1)}
    fixed = Held(("", m) for m in wanted if m.pick is None)
    mine = {}   # {(protocol, container port): [published mapping]}: looked up, not scanned (a thousand random ports)
    for m in sorted(published):
        if m.pick is None and fixed.overlapping(m) is None:
            mine.setdefault((m.protocol, m.container_port), []).append(m)
    out, used, cursor = {}, set(), {}
    # a range first: the narrower choice, so that -p 80 beside -p 8000-8100:80 does not keep its port
    for mapping in sorted((m for m in wanted if m.pick is not None), key=lambda m: (not m.pick, m)):
        theirs = mine.get((mapping.protocol, mapping.container_port), ())
        kept = next((p for p in theirs if p not in used and mapping.keeps(p)), None)
        if kept is not None:
            used.update(p for p in theirs if p.host_port == kept.host_port and mapping.keeps(p))
            port = kept.host_port
        else:
            port = _first_free(mapping, ephemeral, busy, cursor)
            if port is None:
                where = ("in %s" % mapping.host_ports() if mapping.pick
                         else "from 1024 to 65535 outside the ephemeral range %d-%d (net.ipv4.ip_local_port_range)" % ephemeral)
                raise Conflict("%s: %s: no free host port for %s is left %s; free one, or give a host port"
                               % (field_name, mapping, mapping.protocol, where), field_name)
        busy.add((mapping.protocol, port))
        out[mapping] = mapping.picked(port)
    return out


def _first_free(mapping, ephemeral, busy, cursor):
    """The first of MAPPING's candidates not in BUSY, or None. CURSOR ({protocol: (candidates,
    index)}) remembers where the last search outside the ephemeral range stopped: BUSY only grows
    during a pick, so no earlier candidate has become free."""
    if mapping.pick:
        return next((p for p in candidates(mapping, ephemeral) if (mapping.protocol, p) not in busy), None)
    ports, start = cursor.get(mapping.protocol) or (list(candidates(mapping, ephemeral)), 0)
    index = next((i for i in range(start, len(ports)) if (mapping.protocol, ports[i]) not in busy), len(ports))
    cursor[mapping.protocol] = (ports, index)
    return ports[index] if index < len(ports) else None


def docker_ports(mappings):
    """``docker port``'s answer for MAPPINGS (published, of one family each): {"80/tcp":
    ["0.0.0.0:32768", "[::]:32768"]}, a range's ports one by one."""
    out = {}
    for m in sorted(mappings):
        for offset in range(m.size):
            host = "[%s]" % m.host_ip if m.host_ip.version == 6 else str(m.host_ip)
            out.setdefault("%d/%s" % (m.container_port + offset, m.protocol), []).append("%s:%d" % (host, m.host_port + offset))
    return out


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
    """The one PortMapping of Docker's ``-p`` text or dict SPEC (``published`` for the text that
    may stand for several)."""
    (mapping,) = published(spec, field_name)
    return mapping


def published(spec, field_name):
    """The PortMappings of Docker's ``-p`` text or of a dict: one, or one per container port of a
    range published on random host ports (``-p 80-82``, Docker's: each port gets one of its own).

    Text: ``[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]``, where ports may be equal-length
    ranges and an IPv6 HOST_IP is in brackets (``[::]:8080:80``). Dict: ``port`` (that text), or
    ``host_ip`` (IPv6 with or without brackets), ``host_port``, ``container_port``, ``protocol``;
    and ``allow``, the sources it admits (``allow_list``). Without a host port
    (``-p 80``, ``-p 127.0.0.1::80``), or with a host range for one container port (``-p
    8000-8100:80``), the host port is random: picked by ``pick_ports`` and kept.
    """
    allow = None
    if isinstance(spec, dict):
        known = ("allow", "container_port", "host_ip", "host_port", "port", "protocol")
        unknown = set(spec) - set(known)
        if unknown:
            raise InvalidInput("%s: unknown keys %s (known: %s)" % (field_name, ", ".join(sorted(unknown)), ", ".join(known)), field_name)
        if "allow" in spec:
            allow = allow_list(spec["allow"], field_name + ".allow")
        if "port" in spec:
            given = sorted(set(spec) & {"container_port", "host_ip", "host_port", "protocol"})
            if given:
                raise InvalidInput("%s: give either port (Docker's -p text) or %s, not both" % (field_name, ", ".join(given)), field_name)
            return [replace(m, allow=allow) for m in published(spec["port"], field_name + ".port")]
        host_ip, host, container = spec.get("host_ip"), spec.get("host_port"), spec.get("container_port")
        protocol = spec.get("protocol") or "tcp"
    else:
        host_ip, host, container, protocol = _split(spec, field_name)
    if container in (None, ""):
        raise InvalidInput("%s: %r needs a container port" % (field_name, spec), field_name)
    protocol = str(protocol).lower()
    if protocol not in PROTOCOLS:
        raise InvalidInput("%s: protocol %r is not supported; use %s" % (field_name, protocol, PROTOCOL_WORDS), field_name)
    c_start, c_end = _port_range(container, field_name, "container port")
    pick = None
    if host in (None, ""):
        host_start = host_end = 0
        pick = ()
    else:
        host_start, host_end = _port_range(host, field_name, "host port")
        if c_end == c_start and host_end != host_start:
            host_start, host_end, pick = 0, 0, (host_start, host_end)   # Docker: one free port of the range
    if pick is None and c_end - c_start != host_end - host_start:
        raise InvalidInput("%s: %r: host range %d-%d and container range %d-%d differ in length; give ranges of the same"
                           " length (a range maps port for port), or one container port to publish on one free port of the"
                           " host range" % (field_name, spec, host_start, host_end, c_start, c_end), field_name)
    # a random host port per container port of a range (Docker's -p 80-82), a fixed range as one mapping
    firsts = range(c_start, c_end + 1) if pick is not None else (c_start,)
    if host_ip in (None, ""):
        return [PortMapping(protocol, host_start, host_end, c, ANY4, every_family=True, pick=pick, allow=allow) for c in firsts]
    host_ip = str(host_ip).strip()
    ip = address(host_ip[1:-1] if host_ip.startswith("[") and host_ip.endswith("]") else host_ip, field_name + ".host_ip")
    return [PortMapping(protocol, host_start, host_end, c, ip, pick=pick, allow=allow) for c in firsts]


# An inventory group's name as Ansible accepts it (letters, digits, underscores; not a digit first).
_GROUP = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def allow_list(values, field_name):
    """The sorted tuple of an ``allow``: CIDRs or addresses of either family (as networks, host
    bits refused) and inventory group names; [] admits no source but the host itself."""
    if not isinstance(values, (list, tuple)):
        raise InvalidInput("%s: must be a list of CIDRs (10.231.1.0/24, fd31::/64) and inventory group names, not %r"
                           % (field_name, values), field_name)
    out = set()
    for i, value in enumerate(values):
        text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
        if text and _GROUP.match(text):
            out.add(text)
            continue
        try:
            out.add(ipaddress.ip_network(text))
        except (TypeError, ValueError) as exc:
            why = ("has host bits set; give the network (%s)" % ipaddress.ip_network(text, strict=False)
                   if text and "host bits" in str(exc) else "is neither a CIDR (10.231.1.0/24, fd31::/64, an address) nor an"
                   " inventory group name (letters, digits and _)")
            raise InvalidInput("%s[%d]: %r %s" % (field_name, i, value, why), field_name)
    return tuple(sorted(out, key=lambda a: (isinstance(a, str), str(a) if isinstance(a, str) else (a.version, int(a.network_address), a.prefixlen))))


def resolve_allow(mapping, addresses, field_name):
    """MAPPING with the group names of its allow-list replaced by their hosts' addresses
    (ADDRESSES: group -> [ip_address], or None for a group the fleet lacks: _fleet.Fleet's
    group_addresses); an unknown group is refused."""
    if not mapping.groups():
        return mapping
    out = set(a for a in mapping.allow if not isinstance(a, str))
    for group in mapping.groups():
        found = addresses(group)
        if found is None:
            raise InvalidInput("%s: %s: allow names the group %r, which the inventory does not have (or the fleet was built"
                               " without it: pass the sandboxes to netmodes.linux.fleet)" % (field_name, mapping, group), field_name)
        out.update(ipaddress.ip_network(a) for a in found)
    return replace(mapping, allow=tuple(sorted(out, key=lambda a: (a.version, int(a.network_address), a.prefixlen))))


def _split(spec, field_name):
    """(host_ip, host port, container port, protocol) of Docker's -p text SPEC; absent parts None."""
    text = str(spec).strip()
    text, _sep, protocol = text.partition("/")
    protocol = protocol or "tcp"
    host_ip, bracketed = None, text.startswith("[") and "]:" in text
    if bracketed:
        host_ip, _sep, text = text[1:].partition("]:")
    parts = text.split(":")
    if bracketed and len(parts) == 2:
        return host_ip, parts[0], parts[1], protocol
    if not bracketed and len(parts) == 3:
        return parts[0], parts[1], parts[2], protocol
    if not bracketed and len(parts) <= 2:
        return None, parts[0] if len(parts) == 2 else None, parts[-1], protocol
    raise InvalidInput("%s: %r: write it as Docker's -p, [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], an IPv6 HOST_IP"
                       " in brackets ([::]:8080:80, or [::]::80 for a random host port)" % (field_name, spec), field_name)


def port_mappings(values, field_name):
    """The complete set of a sandbox's published ports; overlapping entries are refused."""
    mappings = [m for i, v in enumerate(values or []) for m in published(v, "%s[%d]" % (field_name, i))]
    for i, one in enumerate(mappings):
        for other in mappings[:i]:
            if one == other and one.pick is not None and one.allow != other.allow:   # the same random port: one kept
                raise InvalidInput("%s: %s is published twice with different allow lists; give it once, with the sources"
                                   " of both" % (field_name, one), field_name)
            if one.overlaps(other) and (one != other or one.allow != other.allow):
                raise InvalidInput("%s: %s and %s publish the same host port %s/%s twice; publish each host port once" % (
                    field_name, other, one, one.host_ports(), one.protocol), field_name)
    return frozenset(mappings)
