# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter's reads: links with their addresses and our routes, bridge ports, routes."""

from __future__ import annotations

import ipaddress
import os

from ansible_collections.netmodes.linux.plugins.module_utils._model import Route
from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import NETNS_DIR
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.base import (
    IFF_UP,
    IPVLAN_MODES,
    MACVLAN_MODES,
    MAIN_TABLE,
    RTPROT_NAMES,
    RTPROT_STATIC,
    SYS_NET,
    NetlinkError,
    Sockets,
    _name_of_number,
    _reads,
    empty_dump_filter,
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
        master = msg.get("IFLA_MASTER")
        return self._link(msg, self._name_of(master, netns) if master else None,
                          {msg["index"]: self._addresses_of(msg["index"], netns)},
                          self._static_routes(netns) if routes else {})

    def all_links(self, netns=None):
        """Every link in NETNS (None: the host), in index order, with addresses and our routes.

        On the host's links ``peer_netns`` says which sandbox (by namespace inode) holds a veth's
        peer; a link's peer index alone is ambiguous, as every namespace numbers its own links.
        """
        msgs = sorted(self._ipr(netns).link("dump"), key=lambda msg: msg["index"])
        names = {msg["index"]: msg.get("IFLA_IFNAME") for msg in msgs}
        addresses, routes = self._address_dump(netns), self._static_routes(netns)
        cross = netns is None and any(msg.get("IFLA_LINK_NETNSID") is not None for msg in msgs)
        inodes = self._nsid_inodes() if cross else {}
        out = []
        for msg in msgs:
            link = self._link(msg, names.get(msg.get("IFLA_MASTER")), addresses, routes)
            link.peer_netns = inodes.get(msg.get("IFLA_LINK_NETNSID"))
            out.append(link)
        return out

    def _link(self, msg, master, addresses, routes):
        index = msg["index"]
        kind = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") or ""
        return Link(
            name=msg.get("IFLA_IFNAME"),
            index=index,
            kind=kind,
            mtu=msg.get("IFLA_MTU"),
            mac=(msg.get("IFLA_ADDRESS") or "").lower(),
            up=bool(msg["flags"] & IFF_UP),
            alias=msg.get("IFLA_IFALIAS") or "",
            master=master,
            peer_index=msg.get("IFLA_LINK"),
            stp=self._bridge_flag(msg, "IFLA_BR_STP_STATE"),
            nf_call_iptables=self._bridge_flag(msg, "IFLA_BR_NF_CALL_IPTABLES"),
            hairpin=self._port_flag(msg, "IFLA_BRPORT_MODE"),
            addresses=addresses.get(index, frozenset()),
            routes=routes.get(index, frozenset()),
            info=self._kind_info(msg, kind),
        )

    @staticmethod
    def _kind_info(msg, kind):
        """What a vxlan, macvlan or ipvlan link adds, in the words of the modules' options."""
        def data(attr):
            return msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", attr)

        if kind == "vxlan":
            local = data("IFLA_VXLAN_LOCAL") or data("IFLA_VXLAN_LOCAL6")
            return {"vni": data("IFLA_VXLAN_ID"), "local": ipaddress.ip_address(local) if local else None,
                    "dstport": data("IFLA_VXLAN_PORT"), "learning": bool(data("IFLA_VXLAN_LEARNING")),
                    "proxy": bool(data("IFLA_VXLAN_PROXY"))}
        if kind == "macvlan":
            mode = data("IFLA_MACVLAN_MODE")
            return {"mode": mode if isinstance(mode, str) else _name_of_number(MACVLAN_MODES, mode)}
        if kind == "ipvlan":
            return {"mode": _name_of_number(IPVLAN_MODES, data("IFLA_IPVLAN_MODE"))}
        return None

    def _nsid_inodes(self):
        """{nsid: namespace inode} of the named namespaces, as the host numbers them (``ip netns list-id``)."""
        out = {}
        for name in self.netns_names():
            try:
                fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
            except OSError:
                continue  # removed meanwhile
            try:
                nsid = (self._ipr().get_netnsid(fd=fd) or {}).get("nsid")
                inode = os.fstat(fd).st_ino
            except NetlinkError:
                nsid = None
            finally:
                os.close(fd)
            if nsid is not None and nsid >= 0:  # -1: the host has not numbered it
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
        here = os.path.join(SYS_NET, name)
        try:
            with open(os.path.join(here, "ifindex")) as handle:
                if int(handle.read()) == index:
                    return frozenset(os.listdir(os.path.join(here, "brif")))
        except (OSError, ValueError):
            pass  # another namespace's sysfs, or NAME is no bridge
        msgs = self._ipr().link("dump", master=index, dump_filter=lambda msg: msg.get("IFLA_MASTER") == index)
        return frozenset(msg.get("IFLA_IFNAME") for msg in msgs)

    @_reads
    def link_names(self, netns=None):
        """{index: name} of every link in NETNS (None: the host)."""
        return {msg["index"]: msg.get("IFLA_IFNAME") for msg in self._ipr(netns).link("dump")}

    @_reads
    def addresses_by_link(self, netns=None):
        """{link name: frozenset of addresses} of every link in NETNS (None: the host)."""
        addresses = self._address_dump(netns)
        return {name: addresses.get(index, frozenset()) for index, name in self.link_names(netns).items()}

    def routes(self, netns=None):
        """Every route of the main table of NETNS (None: the host) as RouteEntry, but the fe80::/64
        ones the kernel makes for each link (as its link-local addresses are left out too)."""
        names = self.link_names(netns)
        return [RouteEntry(route, names.get(msg.get("RTA_OIF")), RTPROT_NAMES.get(msg["proto"], str(msg["proto"])))
                for msg, route in self._main_routes(netns) if not (route.dst.version == 6 and route.dst.is_link_local)]

    @_reads
    def route_destinations(self, netns=None):
        """The destinations (networks) of every IPv4 route in the main table of NETNS."""
        out = set()
        for msg in self._ipr(netns).route("dump", family=2):
            if msg.get("RTA_TABLE", msg["table"]) == MAIN_TABLE:
                out.add(ipaddress.ip_network("%s/%d" % (msg.get("RTA_DST") or "0.0.0.0", msg["dst_len"])))
        return out

    @staticmethod
    def _port_flag(msg, attr):
        """A flag of the link as a bridge port; None when it is no bridge's port."""
        if msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_KIND") != "bridge":
            return None
        return bool(msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_DATA", attr))

    @staticmethod
    def _bridge_flag(msg, attr):
        value = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", attr)
        return None if value is None else bool(value)

    @_reads
    def _name_of(self, index, netns):
        found = self._ipr(netns).link("get", index=index)
        return found[0].get("IFLA_IFNAME") if found else None

    @_reads
    def _address_dump(self, netns):
        """{link index: frozenset of addresses}, without the link-local ones the kernel makes itself."""
        return self._addresses(self._ipr(netns).addr("dump"))

    @_reads
    def _addresses_of(self, index, netns):
        """The addresses of one link, filtered by the kernel.

        pyroute2 filters ``addr("dump", index=…)`` itself after dumping every address (on a host
        with hundreds of veths, hundreds of link-local ones); with an explicit (empty) dump
        filter the index goes into the request instead, which a strict-checking socket has the
        kernel honour. The grouping by index below keeps the answer right either way.
        """
        msgs = self._ipr(netns).addr("dump", index=index, dump_filter=empty_dump_filter())
        return self._addresses(msgs).get(index, frozenset())

    @staticmethod
    def _addresses(msgs):
        out = {}
        for msg in msgs:
            value = ipaddress.ip_interface("%s/%d" % (msg.get("IFA_ADDRESS"), msg["prefixlen"]))
            if not value.ip.is_link_local:
                out.setdefault(msg["index"], set()).add(value)
        return {index: frozenset(addrs) for index, addrs in out.items()}

    def _main_routes(self, netns):
        """(message, Route) of every route in the main table of NETNS."""
        for msg in self._ipr(netns).route("dump"):
            if msg.get("RTA_TABLE", msg["table"]) != MAIN_TABLE:
                continue
            zero = "0.0.0.0" if msg["family"] == 2 else "::"
            dst = ipaddress.ip_network("%s/%d" % (msg.get("RTA_DST") or zero, msg["dst_len"]))
            via = msg.get("RTA_GATEWAY")
            yield msg, Route(dst, ipaddress.ip_address(via) if via else None, msg.get("RTA_PRIORITY") or 0)

    @_reads
    def _static_routes(self, netns):
        """{link index: frozenset of Route}: the static routes (ours) leaving through each link."""
        out = {}
        for msg, route in self._main_routes(netns):
            if msg["proto"] == RTPROT_STATIC:
                out.setdefault(msg.get("RTA_OIF"), set()).add(route)
        return {index: frozenset(routes) for index, routes in out.items()}
