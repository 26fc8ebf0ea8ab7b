# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rtnetlink on the wire, for what a run does by the thousand: reading links, addresses and
routes, and the writes every sandbox makes (a veth, its attributes and bridge port flag, its
addresses and routes, a link's removal), over a plain synchronous socket, decoded only as far as
the adapter looks.

pyroute2 encodes and decodes every message through its asyncio core and its attribute classes:
about half a millisecond per request, and a dump of a host with hundreds of veths costs tens of
milliseconds. Here a request is one ``send`` and its answer a walk over the attributes' headers,
with the statistics left out by the kernel (``RTEXT_FILTER_SKIP_STATS``): a few microseconds.
The reads of a vxlan device's forwarding database and of neighbour entries are here too: an
overlay host reads them on every run, and importing and driving pyroute2 for them took 0.25 s of
such a host's 0.4 s no-op (10 sandboxes, 20 hosts). pyroute2 keeps what is made once per network, not per sandbox: bridges, vxlan, macvlan and ipvlan links
and their kind's attributes, fdb and neighbour entries, namespace ids.

Layouts and numbers are the kernel's uapi (``linux/netlink.h``, ``rtnetlink.h``, ``if_link.h``,
``if_addr.h``).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12

NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP_INTR, NLM_F_DUMP = 0x1, 0x2, 0x4, 0x10, 0x300
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLMSGERR_ATTR_MSG = 1
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_GETNEIGH = 30
RTM_GETNSID = 90
NETNSA_NSID, NETNSA_FD = 1, 3
NLA_F_NESTED = 0x8000
AF_BRIDGE = 7
IFF_UP = 1

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
_ATTR = struct.Struct("=HH")  # rtattr / nlattr: length, type
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBi")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
_RTGEN = struct.Struct("=Bxxx")  # rtgenmsg: family (padded to four bytes)
_NDMSG = struct.Struct("=BxxxiHBB")  # ndmsg: family, index, state, flags, type
_U32, _S32, _U16, _BE16 = struct.Struct("=I"), struct.Struct("=i"), struct.Struct("=H"), struct.Struct("!H")
NLA_TYPE_MASK = 0x3FFF  # the type without the nested / byte-order flags

# Link attributes (IFLA_*), and those nested in IFLA_LINKINFO (IFLA_INFO_*).
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 1, 3, 4, 5, 10
IFLA_PROTINFO, IFLA_LINKINFO, IFLA_IFALIAS, IFLA_NET_NS_FD, IFLA_EXT_MASK, IFLA_LINK_NETNSID = 12, 18, 20, 28, 29, 37
VETH_INFO_PEER = 1
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
RTEXT_FILTER_SKIP_STATS = 1 << 3
# Per-kind data: a bridge's, a bridge port's, a vxlan's, a macvlan's and an ipvlan's.
IFLA_BR_STP_STATE, IFLA_BR_NF_CALL_IPTABLES, IFLA_BR_NF_CALL_IP6TABLES = 5, 36, 37
IFLA_BRPORT_MODE = 4
IFLA_VXLAN_ID, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LEARNING, IFLA_VXLAN_PROXY, IFLA_VXLAN_PORT, IFLA_VXLAN_LOCAL6 = 1, 4, 7, 11, 15, 17
IFLA_MACVLAN_MODE = 1
# A link's per-family settings: IPv6's devconf array (the sysctls of net/ipv6/conf/LINK, by index).
IFLA_AF_SPEC, IFLA_INET6_CONF = 26, 2
DEVCONF_ACCEPT_RA, DEVCONF_DISABLE_IPV6 = 3, 26
IFA_F_NODAD = 0x02
IFLA_IPVLAN_MODE = 1
# Address and route attributes; the route type of an ordinary route (RTN_UNICAST).
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE = 1, 4, 5, 6, 15
RTN_UNICAST = 1
# Neighbour (and forwarding database) attributes.
NDA_DST, NDA_LLADDR, NDA_IFINDEX = 1, 2, 8

_FAMILIES = {4: socket.AF_INET, 16: socket.AF_INET6}
# Addresses made from their bytes, by length: parsing their text costs six times as much, and a
# dump of a host with hundreds of sandboxes holds hundreds of them.
_ADDRESSES = {4: ipaddress.IPv4Address, 16: ipaddress.IPv6Address}
_INTERFACES = {4: ipaddress.IPv4Interface, 16: ipaddress.IPv6Interface}
_NETWORKS = {4: ipaddress.IPv4Network, 16: ipaddress.IPv6Network}
_UNSPECIFIED = {socket.AF_INET: bytes(4), socket.AF_INET6: bytes(16)}  # a route's destination when it has none: the default


class WireError(OSError):
    """The kernel refused a request: its errno, and its own words (extended ack) when it said any."""

    def __init__(self, code, said=None):
        super().__init__(code, said or os.strerror(code))
        self.code = code


def attrs(data, start=0, end=None):
    """{type: payload} of the attributes in DATA[START:END] (a repeated type: the last)."""
    out, end = {}, len(data) if end is None else end
    while start + 4 <= end:
        length, kind = _ATTR.unpack_from(data, start)
        if length < 4:
            break
        out[kind & NLA_TYPE_MASK] = data[start + 4:start + length]
        start += (length + 3) & ~3
    return out


def attr(kind, payload):
    """One attribute, padded to four bytes."""
    head = _ATTR.pack(4 + len(payload), kind)
    return head + payload + b"\0" * (-len(payload) % 4)


def nested(kind, *parts):
    return attr(kind | NLA_F_NESTED, b"".join(parts))


def name_attr(kind, name):
    """A NUL-terminated string attribute (a link's name)."""
    return attr(kind, name.encode("utf-8", "surrogateescape") + b"\0")


def text(payload):
    return payload.split(b"\0", 1)[0].decode("utf-8", "surrogateescape") if payload is not None else None


def u32(payload):
    return _U32.unpack_from(payload)[0] if payload is not None else None


def s32(payload):
    return _S32.unpack_from(payload)[0] if payload is not None else None


def number(payload):
    """An unsigned attribute of 1, 2 or 4 bytes (host order)."""
    if payload is None:
        return None
    return {1: lambda p: p[0], 2: lambda p: _U16.unpack_from(p)[0]}.get(len(payload), u32)(payload)


def port(payload):
    return _BE16.unpack_from(payload)[0] if payload is not None else None


def ip(payload):
    """An IPv4 or IPv6 address attribute as text (None when absent, or of another family's length)."""
    if payload is None or len(payload) not in _FAMILIES:
        return None
    return socket.inet_ntop(_FAMILIES[len(payload)], payload)


def address(payload):
    """An IPv4 or IPv6 address attribute as an ipaddress address (None: absent, or of another family's length)."""
    return _ADDRESSES[len(payload)](payload) if payload is not None and len(payload) in _ADDRESSES else None


def interface(payload, prefixlen):
    """An address attribute with its prefix length as an ipaddress interface (None as ``address``)."""
    return _INTERFACES[len(payload)]((payload, prefixlen)) if payload is not None and len(payload) in _INTERFACES else None


def network(payload, prefixlen):
    """A destination attribute with its prefix length as an ipaddress network (None as ``address``)."""
    return _NETWORKS[len(payload)]((payload, prefixlen)) if payload is not None and len(payload) in _NETWORKS else None


def mac(payload):
    return ":".join("%02x" % byte for byte in payload) if payload is not None else None


class LinkMessage:
    """One RTM_NEWLINK answer: the ifinfomsg fields and the attributes, decoded on demand."""

    __slots__ = ("index", "flags", "attrs", "_info")

    def __init__(self, data, start, end):
        _family, _type, self.index, self.flags, _change = _IFINFO.unpack_from(data, start)
        self.attrs = attrs(data, start + _IFINFO.size, end)
        self._info = None

    def info(self, key):
        """An attribute nested in IFLA_LINKINFO."""
        if self._info is None:
            found = self.attrs.get(IFLA_LINKINFO)
            self._info = attrs(found) if found is not None else {}
        return self._info.get(key)

    def data(self, key, slave=False):
        """An attribute of the kind's data (or, SLAVE, of the link's data as its master's port)."""
        found = self.info(IFLA_INFO_SLAVE_DATA if slave else IFLA_INFO_DATA)
        return attrs(found).get(key) if found is not None else None

    @property
    def name(self):
        return text(self.attrs.get(IFLA_IFNAME))

    def ipv6_conf(self, index):
        """The link's IPv6 sysctl number INDEX (a DEVCONF_*), or None when it has no IPv6 state."""
        spec = self.attrs.get(IFLA_AF_SPEC)
        inet6 = attrs(spec).get(socket.AF_INET6) if spec is not None else None
        conf = attrs(inet6).get(IFLA_INET6_CONF) if inet6 is not None else None
        if conf is None or len(conf) < 4 * (index + 1):
            return None
        return _S32.unpack_from(conf, 4 * index)[0]

    @property
    def kind(self):
        return text(self.info(IFLA_INFO_KIND)) or ""

    @property
    def slave_kind(self):
        return text(self.info(IFLA_INFO_SLAVE_KIND))


class AddressMessage:
    """One RTM_NEWADDR answer: the link's index and the address (an ipaddress interface; None
    when the kernel sent none)."""

    __slots__ = ("index", "address")

    def __init__(self, data, start, end):
        _family, prefixlen, _flags, _scope, self.index = _IFADDR.unpack_from(data, start)
        self.address = interface(attrs(data, start + _IFADDR.size, end).get(IFA_ADDRESS), prefixlen)


class RouteMessage:
    """One RTM_NEWROUTE answer, in the words of the adapter's routes: the destination an
    ipaddress network (the default one when the kernel names none), the gateway an address."""

    __slots__ = ("family", "dst_len", "table", "proto", "dst", "gateway", "oif", "priority")

    def __init__(self, data, start, end):
        self.family, self.dst_len, _src, _tos, table, self.proto, _scope, _type, _flags = _RTMSG.unpack_from(data, start)
        found = attrs(data, start + _RTMSG.size, end)
        self.table = u32(found[RTA_TABLE]) if RTA_TABLE in found else table
        self.dst = network(found.get(RTA_DST, _UNSPECIFIED.get(self.family)), self.dst_len)
        self.gateway = address(found.get(RTA_GATEWAY))
        self.oif, self.priority = u32(found.get(RTA_OIF)), u32(found.get(RTA_PRIORITY))


class NeighbourMessage:
    """One RTM_NEWNEIGH answer: a neighbour entry, or (family AF_BRIDGE) a forwarding database
    entry; its address an ipaddress address, its link-layer address text (None when absent)."""

    __slots__ = ("family", "index", "state", "flags", "dst", "lladdr")

    def __init__(self, data, start, end):
        self.family, self.index, self.state, self.flags, _type = _NDMSG.unpack_from(data, start)
        found = attrs(data, start + _NDMSG.size, end)
        self.dst, self.lladdr = address(found.get(NDA_DST)), mac(found.get(NDA_LLADDR))


class NsidMessage:
    """One RTM_NEWNSID answer: the id this namespace gives another (-1: none given yet)."""

    __slots__ = ("nsid",)

    def __init__(self, data, start, end):
        found = s32(attrs(data, start + _RTGEN.size, end).get(NETNSA_NSID))
        self.nsid = found if found is not None else -1


class Wire:
    """A synchronous rtnetlink socket in the namespace it was opened in (strict checks, the
    kernel's own words on errors), for link, address and route reads and the writes of a
    sandbox. Every write is one ``change``."""

    def __init__(self, where=None):
        self.where = where  # the namespace's name (None: the host), for what names a request
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            self.sock.bind((0, 0))
        except OSError:
            self.sock.close()
            raise
        self.sequence = 0

    def close(self):
        self.sock.close()

    def link(self, name=None, index=0):
        """The link called NAME (or with INDEX); None when there is none."""
        body = _IFINFO.pack(0, 0, index, 0, 0) + attr(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS))
        if name is not None:
            body += name_attr(IFLA_IFNAME, name)
        try:
            found = self._ask(RTM_GETLINK, NLM_F_REQUEST, body, LinkMessage)
        except WireError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise
        return found[0] if found else None

    def links(self, master=0):
        """Every link (with MASTER: the ports of that bridge, filtered by the kernel)."""
        body = _IFINFO.pack(0, 0, 0, 0, 0) + attr(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS))
        if master:
            body += attr(IFLA_MASTER, _U32.pack(master))
        return self._ask(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, body, LinkMessage)

    def addresses(self, index=0):
        """Every address (of both families); with INDEX those of that link (filtered by the kernel)."""
        return self._ask(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, _IFADDR.pack(0, 0, 0, 0, index), AddressMessage)

    def routes(self, family=0):
        """Every route of every table (FAMILY: 2 or 10 for one family)."""
        return self._ask(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0), RouteMessage)

    def neighbours(self, index, family=0):
        """The neighbour entries of link INDEX (of both families), or with FAMILY AF_BRIDGE its
        forwarding database; filtered by the kernel (a strict dump takes the link as NDA_IFINDEX,
        the header's index must be 0)."""
        body = _NDMSG.pack(family, 0, 0, 0, 0) + attr(NDA_IFINDEX, _U32.pack(index))
        return self._ask(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, body, NeighbourMessage)

    def nsid(self, fd):
        """The id this namespace numbers the namespace of open file FD with (``ip netns list-id``);
        -1 when it has numbered it none."""
        found = self._ask(RTM_GETNSID, NLM_F_REQUEST, _RTGEN.pack(0) + attr(NETNSA_FD, _U32.pack(fd)), NsidMessage)
        return found[0].nsid if found else -1

    # -- writes ---------------------------------------------------------------------------

    def change(self, kind, body, flags=0):
        """One request that changes something, answered by the kernel's acknowledgement."""
        self._ask(kind, NLM_F_REQUEST | NLM_F_ACK | flags, body, None)

    def add_veth(self, name, peer, peer_netns=None):
        """A veth pair NAME (here) and PEER, born in the namespace mounted at path PEER_NETNS (else here)."""
        inside = _IFINFO.pack(0, 0, 0, 0, 0) + name_attr(IFLA_IFNAME, peer)
        fd = os.open(peer_netns, os.O_RDONLY | os.O_CLOEXEC) if peer_netns is not None else None
        try:
            if fd is not None:
                inside += attr(IFLA_NET_NS_FD, _U32.pack(fd))
            info = nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"veth"), nested(IFLA_INFO_DATA, nested(VETH_INFO_PEER, inside)))
            self.change(RTM_NEWLINK, _IFINFO.pack(0, 0, 0, 0, 0) + name_attr(IFLA_IFNAME, name) + info, NLM_F_CREATE | NLM_F_EXCL)
        finally:
            if fd is not None:
                os.close(fd)

    def set_link(self, index, *, up=None, mtu=None, address=None, alias=None, master=None, name=None):
        """Set what is given of a link's state, MTU, MAC, alias, master (an index; 0: none) and name."""
        body = _IFINFO.pack(0, 0, index, IFF_UP if up else 0, IFF_UP if up is not None else 0)
        if mtu is not None:
            body += attr(IFLA_MTU, _U32.pack(mtu))
        if address is not None:
            body += attr(IFLA_ADDRESS, bytes(int(part, 16) for part in address.split(":")))
        if alias is not None:
            body += attr(IFLA_IFALIAS, alias.encode("utf-8"))
        if master is not None:
            body += attr(IFLA_MASTER, _U32.pack(master))
        if name is not None:
            body += name_attr(IFLA_IFNAME, name)
        self.change(RTM_NEWLINK, body)

    def set_port_mode(self, index, hairpin):
        """A bridge port's hairpin mode (``bridge link set … hairpin``)."""
        body = _IFINFO.pack(AF_BRIDGE, 0, index, 0, 0) + nested(IFLA_PROTINFO, attr(IFLA_BRPORT_MODE, bytes([int(hairpin)])))
        self.change(RTM_SETLINK, body)

    def delete_link(self, index):
        self.change(RTM_DELLINK, _IFINFO.pack(0, 0, index, 0, 0))

    def address(self, add, index, interface):
        """Add (ADD) or remove an address (an ipaddress interface) of link INDEX."""
        family = socket.AF_INET if interface.version == 4 else socket.AF_INET6
        # An IPv6 address is usable at once, without duplicate address detection (as Docker's
        # are): on a bridge of ours or a sandbox's link, the address plan is what keeps it unique.
        flags = IFA_F_NODAD if interface.version == 6 else 0
        body = _IFADDR.pack(family, interface.network.prefixlen, flags, 0, index)
        body += attr(IFA_LOCAL, interface.ip.packed) + attr(IFA_ADDRESS, interface.ip.packed)
        self.change(RTM_NEWADDR if add else RTM_DELADDR, body, NLM_F_CREATE | NLM_F_EXCL if add else 0)

    def route(self, add, index, dst, *, via=None, metric=None, proto=0, table=0):
        """Add (ADD) or remove a unicast route to DST (an ipaddress network) leaving through link
        INDEX, via gateway VIA, with METRIC, PROTO and TABLE (scope universe, as pyroute2 does)."""
        family = socket.AF_INET if dst.version == 4 else socket.AF_INET6
        body = _RTMSG.pack(family, dst.prefixlen, 0, 0, table if table < 256 else 0, proto, 0, RTN_UNICAST, 0)
        if dst.prefixlen:
            body += attr(RTA_DST, dst.network_address.packed)
        body += attr(RTA_OIF, _U32.pack(index)) + attr(RTA_TABLE, _U32.pack(table))
        if via is not None:
            body += attr(RTA_GATEWAY, via.packed)
        if metric:
            body += attr(RTA_PRIORITY, _U32.pack(metric))
        self.change(RTM_NEWROUTE if add else RTM_DELROUTE, body, NLM_F_CREATE | NLM_F_EXCL if add else 0)

    # -- the exchange -----------------------------------------------------------------------

    def _ask(self, kind, flags, body, decode):
        """Send one request; the answers decoded by DECODE. A dump the kernel marks as
        interrupted (the table changed while it was read) is asked again."""
        for _attempt in range(5):
            out, interrupted = self._exchange(kind, flags, body, decode)
            if not interrupted:
                return out
        raise WireError(errno.EAGAIN, "the kernel's table kept changing while it was dumped")

    def _exchange(self, kind, flags, body, decode):
        self.sequence += 1
        sequence = self.sequence
        self.sock.send(_HEADER.pack(_HEADER.size + len(body), kind, flags, sequence, 0) + body)
        out, interrupted = [], False
        while True:
            data = self.sock.recv(1 << 20)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, mtype, mflags, seq, _port = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    raise WireError(errno.EBADMSG, "a malformed netlink message")
                start, end, offset = offset + _HEADER.size, offset + length, offset + ((length + 3) & ~3)
                if seq != sequence:
                    continue  # the late answer of an earlier request
                interrupted = interrupted or bool(mflags & NLM_F_DUMP_INTR)
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", data, start)[0]
                    if code:
                        raise WireError(code, _said(data, start, end, mflags))
                    return out, interrupted
                if mtype == NLMSG_DONE:
                    code = -struct.unpack_from("=i", data, start)[0] if end - start >= 4 else 0
                    if code:
                        raise WireError(code)
                    return out, interrupted
                if decode is not None:
                    out.append(decode(data, start, end))
                if not mflags & NLM_F_MULTI:
                    return out, interrupted


def _said(data, start, end, flags):
    """The kernel's message in an error's extended ack, if any."""
    if not flags & NLM_F_ACK_TLVS:
        return None
    # nlmsgerr: the error, then the request's header (with its payload unless capped), then the TLVs.
    skip = 4 + _HEADER.size
    if not flags & NLM_F_CAPPED:
        skip = 4 + _HEADER.unpack_from(data, start + 4)[0]
    return text(attrs(data, start + ((skip + 3) & ~3), end).get(NLMSGERR_ATTR_MSG))
