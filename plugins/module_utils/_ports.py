# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published ports: Docker's ``-p`` (``[HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]``, or a dict)
parsed into PortMapping values, and the protocols a port is published for."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field, replace

from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._model import address

PROTOCOLS = ("tcp", "udp", "sctp")
PROTOCOL_WORDS = "%s or %s" % (", ".join(PROTOCOLS[:-1]), PROTOCOLS[-1])  # for messages: "tcp, udp or sctp"
_ANY4 = ipaddress.ip_address("0.0.0.0")
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
    host_ip: object = _ANY4
    every_family: bool = field(default=False, compare=False)

    def _key(self):
        return (self.protocol, self.host_port, self.host_port_end, self.container_port, self.host_ip.version, int(self.host_ip))

    def __lt__(self, other):
        return self._key() < other._key()

    def hosts(self):
        """The host addresses it may be published on: 0.0.0.0 and :: for every_family."""
        return (_ANY4, ANY6) if self.every_family else (self.host_ip,)

    def for_family(self, version):
        """This mapping as published on IP VERSION alone (``every_family`` resolved)."""
        if self.every_family:
            return replace(self, host_ip=_ANY4 if version == 4 else ANY6, every_family=False)
        return self

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
                     and any(_holds(host, held) for host in self.hosts() for held in _listening_on(addr))), None)

    def overlaps(self, other):
        """True when both claim a host port of the same protocol on a common local address."""
        return (self.protocol == other.protocol
                and self.host_port <= other.host_port_end and other.host_port <= self.host_port_end
                and any(_holds(one, two) for one in self.hosts() for two in other.hosts()))

    def __str__(self):
        if self.host_ip == _ANY4:
            ip = ""
        else:
            ip = "[%s]:" % self.host_ip if self.host_ip.version == 6 else "%s:" % self.host_ip
        container = "%d" % self.container_port if self.size == 1 else "%d-%d" % (self.container_port, self.container_port_end)
        return "%s%s:%s/%s" % (ip, self.host_ports(), container, self.protocol)


def _listening_on(addr):
    """The addresses a listener on ADDR receives connections for. One on :: gets IPv4 too unless
    it set IPV6_V6ONLY, which /proc/net does not tell: Linux's default (bindv6only 0) is assumed,
    so it holds the port on every address of both families. One on an IPv4-mapped address is an
    IPv4 listener."""
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return (addr.ipv4_mapped,)
    return (_ANY4, ANY6) if addr == ANY6 else (addr,)


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
    ranges and an IPv6 HOST_IP is in brackets (``[::]:8080:80``). Dict: ``host_ip`` (IPv6 with or
    without brackets), ``host_port``, ``container_port``, ``protocol``. A host port is required:
    Docker's random host ports (``-p 80``) are not idempotent, so they are refused.
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
        host_ip, bracketed = None, text.startswith("[") and "]:" in text
        if bracketed:
            host_ip, _sep, text = text[1:].partition("]:")
        parts = text.split(":")
        if bracketed and len(parts) == 2:
            host, container = parts
        elif not bracketed and len(parts) == 3:
            host_ip, host, container = parts
        elif len(parts) == 2:
            host_ip, (host, container) = None, parts
        else:
            raise InvalidInput("%s: %r: write it as Docker's -p, [HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL], an IPv6 HOST_IP"
                               " in brackets ([::]:8080:80); a host port is required (random host ports are not idempotent)"
                               % (field_name, spec), field_name)
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
    if host_ip in (None, ""):
        return PortMapping(protocol, host_start, host_end, c_start, _ANY4, every_family=True)
    host_ip = str(host_ip).strip()
    ip = address(host_ip[1:-1] if host_ip.startswith("[") and host_ip.endswith("]") else host_ip, field_name + ".host_ip")
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
