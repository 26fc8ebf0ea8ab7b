# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter's reads: links with their addresses and our routes, bridge ports, routes."""

from __future__ import annotations

import ipaddress
import os

from ansible_collections.netmodes.linux.plugins.module_utils._model import IPV6_USER_METRIC, Route
from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import NETNS_DIR
from ansible_collections.netmodes.linux.plugins.module_utils._netlink import wire
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.base import (
    IFF_UP,
    IPVLAN_MODES,
    MACVLAN_MODES,
    MAIN_TABLE,
    NET_ADDR_SET,
    RTPROT_NAMES,
    RTPROT_STATIC,
    SYS_NET,
    Sockets,
    _name_of_number,
    _reads,
)
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link, RouteEntry


class Reads(Sockets):
    """Links, addresses and routes as the kernel has them, in the model's terms (``_model.Link``)."""

    @_reads
    def link(self, name, netns=None, routes=True):
        """The link called exactly NAME in NETNS (None: the host), with addresses and our routes.

        ROUTES false leaves the routes out (empty): reading them means dumping the namespace's
        whole routing table, which on a host with many sandboxes is the costly part.
        """
        msg = self._get(name, netns)
        if msg is None:
            return None
        master = wire.u32(msg.attrs.get(wire.IFLA_MASTER))
        return self._link(msg, self._name_of(master, netns) if master else None,
                          {msg.index: self._addresses_of(msg.index, netns)},
                          self._static_routes(netns) if routes else {}, netns)

    def all_links(self, netns=None):
        """Every link in NETNS (None: the host), in index order, with addresses and our routes.

        On the host's links ``peer_netns`` says which sandbox (by namespace inode) holds a veth's
        peer; a link's peer index alone is ambiguous, as every namespace numbers its own links.
        """
        msgs = sorted(self._dump_links(netns), key=lambda msg: msg.index)
        names = {msg.index: msg.name for msg in msgs}
        addresses, routes = self._address_dump(netns), self._static_routes(netns)
        cross = netns is None and any(wire.IFLA_LINK_NETNSID in msg.attrs for msg in msgs)
        inodes = self._nsid_inodes() if cross else {}
        out = []
        for msg in msgs:
            link = self._link(msg, names.get(wire.u32(msg.attrs.get(wire.IFLA_MASTER))), addresses, routes, netns)
            link.peer_netns = inodes.get(wire.s32(msg.attrs.get(wire.IFLA_LINK_NETNSID)))
            out.append(link)
        return out

    def _link(self, msg, master, addresses, routes, netns):
        index, kind, found = msg.index, msg.kind, msg.attrs
        assigned = self._sysfs(msg.name, index, "addr_assign_type") if kind == "bridge" and netns is None else None
        return Link(
            name=msg.name,
            index=index,
            kind=kind,
            mtu=wire.u32(found.get(wire.IFLA_MTU)),
            mac=wire.mac(found.get(wire.IFLA_ADDRESS)) or "",
            up=bool(msg.flags & IFF_UP),
            alias=wire.text(found.get(wire.IFLA_IFALIAS)) or "",
            master=master,
            peer_index=wire.u32(found.get(wire.IFLA_LINK)),
            stp=self._flag(msg.data(wire.IFLA_BR_STP_STATE)) if kind == "bridge" else None,
            nf_call_iptables=self._flag(msg.data(wire.IFLA_BR_NF_CALL_IPTABLES)) if kind == "bridge" else None,
            nf_call_ip6tables=self._flag(msg.data(wire.IFLA_BR_NF_CALL_IP6TABLES)) if kind == "bridge" else None,
            mac_fixed=None if assigned is None else assigned == str(NET_ADDR_SET),
            hairpin=self._flag(msg.data(wire.IFLA_BRPORT_MODE, slave=True)) if msg.slave_kind == "bridge" else None,
            ipv6=self._ipv6_state(msg),
            addresses=addresses.get(index, frozenset()),
            routes=routes.get(index, frozenset()),
            info=self._kind_info(msg, kind),
        )

    @staticmethod
    def _kind_info(msg, kind):
        """What a vxlan, macvlan or ipvlan link adds, in the words of the modules' options."""
        if kind == "vxlan":
            local = wire.ip(msg.data(wire.IFLA_VXLAN_LOCAL) or msg.data(wire.IFLA_VXLAN_LOCAL6))
            return {"vni": wire.u32(msg.data(wire.IFLA_VXLAN_ID)), "local": ipaddress.ip_address(local) if local else None,
                    "dstport": wire.port(msg.data(wire.IFLA_VXLAN_PORT)), "learning": bool(wire.number(msg.data(wire.IFLA_VXLAN_LEARNING))),
                    "proxy": bool(wire.number(msg.data(wire.IFLA_VXLAN_PROXY)))}
        if kind == "macvlan":
            return {"mode": _name_of_number(MACVLAN_MODES, wire.number(msg.data(wire.IFLA_MACVLAN_MODE)))}
        if kind == "ipvlan":
            return {"mode": _name_of_number(IPVLAN_MODES, wire.number(msg.data(wire.IFLA_IPVLAN_MODE)))}
        return None

    @staticmethod
    def _ipv6_state(msg):
        """The link's IPv6 as the modules set it: off (disable_ipv6), on (without router
        advertisements: accept_ra 0), auto (the kernel's default), None (unknown)."""
        disabled = msg.ipv6_conf(wire.DEVCONF_DISABLE_IPV6)
        if disabled is None:
            return None
        if disabled:
            return "off"
        return "on" if msg.ipv6_conf(wire.DEVCONF_ACCEPT_RA) == 0 else "auto"

    @staticmethod
    def _flag(payload):
        """A flag attribute of a link's kind data as a bool; None when the kernel sent none."""
        return None if payload is None else bool(wire.number(payload))

    def _dump_links(self, netns, master=0):
        return self._call("read the links of %s" % (netns or "the host"), self._wire(netns).links, master)

    def _nsid_inodes(self):
        """{nsid: namespace inode} of the named namespaces, as the host numbers them (``ip netns list-id``)."""
        out = {}
        for name in self.netns_names():
            try:
                fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
            except OSError:
                continue  # removed meanwhile
            try:
                nsid, inode = self._wire().nsid(fd), os.fstat(fd).st_ino
            except OSError:
                nsid = -1  # removed meanwhile
            finally:
                os.close(fd)
            if nsid >= 0:  # -1: the host has not numbered it
                out[nsid] = inode
        return out

    @_reads
    def bridge_ports(self, name):
        """The names of the host's links whose master is bridge NAME (none when there is no NAME).

        Listed from sysfs when it is this namespace's (NAME has the index there that netlink
        gives it): a directory listing costs next to nothing, while every port in a netlink
        dump is a message to parse, which a batch plugging a thousand sandboxes in one after
        another would pay half a million times. Else the kernel dumps NAME's ports alone.
        """
        index = self._index(name)
        if index is None:
            return frozenset()
        ports = self._sysfs(name, index, "brif")
        if ports is not None:
            return frozenset(ports)
        msgs = self._dump_links(None, master=index)
        return frozenset(msg.name for msg in msgs if wire.u32(msg.attrs.get(wire.IFLA_MASTER)) == index)

    @staticmethod
    def _sysfs(name, index, entry):
        """Host link NAME's sysfs ENTRY (a file's text, stripped, or a directory's names) when the
        mounted sysfs is this namespace's (NAME has the INDEX there that netlink gives it), else None
        (another namespace's sysfs, or no such entry)."""
        here = os.path.join(SYS_NET, name)
        try:
            with open(os.path.join(here, "ifindex")) as handle:
                if int(handle.read()) != index:
                    return None
            path = os.path.join(here, entry)
            if os.path.isdir(path):
                return os.listdir(path)
            with open(path) as handle:
                return handle.read().strip()
        except (OSError, ValueError):
            return None

    @_reads
    def link_names(self, netns=None):
        """{index: name} of every link in NETNS (None: the host)."""
        return {msg.index: msg.name for msg in self._dump_links(netns)}

    @_reads
    def addresses_by_link(self, netns=None):
        """{link name: frozenset of addresses} of every link in NETNS (None: the host)."""
        addresses = self._address_dump(netns)
        return {name: addresses.get(index, frozenset()) for index, name in self.link_names(netns).items()}

    def routes(self, netns=None):
        """Every route of the main table of NETNS (None: the host) as RouteEntry, but the fe80::/64
        ones the kernel makes for each link (as its link-local addresses are left out too)."""
        names = self.link_names(netns)
        return [RouteEntry(route, names.get(msg.oif), RTPROT_NAMES.get(msg.proto, str(msg.proto)))
                for msg, route in self._main_routes(netns) if not (route.dst.version == 6 and route.dst.is_link_local)]

    @_reads
    def route_destinations(self, netns=None, version=4):
        """The destinations (networks) of every route of IP VERSION in the main table of NETNS."""
        return {route.dst for _msg, route in self._main_routes(netns, family=2 if version == 4 else 10)}

    @_reads
    def _name_of(self, index, netns):
        found = self._call("read link %d" % index, self._wire(netns).link, index=index)
        return found.name if found is not None else None

    @_reads
    def _address_dump(self, netns):
        """{link index: frozenset of addresses}, without the link-local ones the kernel makes itself."""
        return self._addresses(self._call("read the addresses of %s" % (netns or "the host"), self._wire(netns).addresses))

    @_reads
    def _addresses_of(self, index, netns):
        """The addresses of one link. In a sandbox (a few links) from the dump of its every
        address, which the batch's other reads of the sandbox share; on the host from that dump
        when it is remembered, else filtered by the kernel (a strict-checking socket honours the
        index of a dump request): a host has a link per sandbox, too many to dump for each one
        after a write. The grouping by index below keeps the answer right either way."""
        if netns is not None or self._remembered("_address_dump", netns):
            return self._address_dump(netns).get(index, frozenset())
        msgs = self._call("read the addresses of link %d" % index, self._wire(netns).addresses, index)
        return self._addresses(msgs).get(index, frozenset())

    @staticmethod
    def _addresses(msgs):
        out = {}
        for msg in msgs:
            if msg.address is not None and not msg.address.ip.is_link_local:
                out.setdefault(msg.index, set()).add(msg.address)
        return {index: frozenset(addrs) for index, addrs in out.items()}

    def _main_routes(self, netns, family=0):
        """(message, Route) of every route in the main table of NETNS (FAMILY: 2 or 10 for one family)."""
        for msg in self._call("read the routes of %s" % (netns or "the host"), self._wire(netns).routes, family):
            if msg.table != MAIN_TABLE or msg.family not in (2, 10):
                continue
            yield msg, Route(msg.dst, msg.gateway, msg.priority or 0)

    @_reads
    def _static_routes(self, netns):
        """{link index: frozenset of Route}: the static routes (ours) leaving through each link."""
        out = {}
        for msg, route in self._main_routes(netns):
            if msg.proto == RTPROT_STATIC:
                if route.dst.version == 6 and route.metric == IPV6_USER_METRIC:
                    route = Route(route.dst, route.via)  # the metric the kernel gives one added without
                out.setdefault(msg.oif, set()).add(route)
        return {index: frozenset(routes) for index, routes in out.items()}
