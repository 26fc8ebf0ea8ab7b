# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter: the only place that talks to pyroute2 (links, addresses, routes, the
bridge fdb and neighbours).

The named network namespaces themselves (the /run/netns mounts and our records of them) are
the namespaces adapter's (_namespaces); the sockets opened inside them are made here, through
its ``inside``. Reads never create anything: a namespace is entered only after an exact
existence check, so that pyroute2 cannot create it behind our back.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import os
import traceback

from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import Route
from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import NETNS_DIR, Namespaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import OWNER_TAG, Link, RouteEntry, temp_name

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.requests.main import RequestProcessor
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()

    class NetlinkError(Exception):
        """Stand-in so that ``except NetlinkError`` stays valid without pyroute2."""

else:
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None

RTPROT_STATIC = 4
# rtnetlink's names of route protocols (RTPROT_*), as ``ip route`` prints them.
RTPROT_NAMES = {2: "kernel", 3: "boot", 4: "static", 9: "ra", 16: "dhcp"}
MAIN_TABLE = 254
IFF_UP = 1
# Neighbour and bridge fdb entries (ndmsg): states and flags.
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
NTF_SELF = 0x02
# An all-zero MAC in a vxlan fdb is the default destination of what has no entry of its own.
ZERO_MAC = "00:00:00:00:00:00"
# The kernel's numbers of macvlan and ipvlan modes (if_link.h), both ways.
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}
# Link attributes of one kind (link_set names them with its prefix), and the kind they need.
KIND_PREFIXES = {"br_": "bridge", "vxlan_": "vxlan", "macvlan_": "macvlan", "ipvlan_": "ipvlan"}
# Where sysfs lists a bridge's ports (brif/) beside its index.
SYS_NET = "/sys/class/net"


def _kernel_error(action, exc):
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
    # The kernel's own words (extended ack), when it said more than the errno.
    said = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else None
    if said and said != reason:
        reason = "%s (%s)" % (said, reason)
    return KernelError("%s: %s" % (action, reason))


def _name_of_number(names, number):
    return next((name for name, value in names.items() if value == number), number)


def _reads(method):
    """Remember a read until the next write: a batch reads the same links many times."""

    @functools.wraps(method)
    def cached(self, *args, **kwargs):
        key = (method.__name__, args, tuple(sorted(kwargs.items())))
        if key not in self._cache:
            self._cache[key] = method(self, *args, **kwargs)
        return self._cache[key]

    return cached


def _writes(method):
    """Forget every remembered read, before and after a change."""

    @functools.wraps(method)
    def changing(self, *args, **kwargs):
        self._cache.clear()
        try:
            return method(self, *args, **kwargs)
        finally:
            self._cache.clear()

    return changing


class Netlink:
    """Reads and writes links, addresses, routes, fdb entries and neighbours; offers the named
    namespaces of NAMESPACES (a _namespaces.Namespaces) as ``netns_*``."""

    def __init__(self, namespaces=None):
        self.namespaces = namespaces or Namespaces()
        self._sockets = {}
        self._cache = {}

    def close(self):
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sockets ------------------------------------------------------------------------

    def _ipr(self, netns=None):
        if netns not in self._sockets:
            if netns is None:
                self._sockets[None] = IPRoute(strict_check=True, ext_ack=True)
            else:
                self._sockets[netns] = self._socket_in(netns)
        return self._sockets[netns]

    def _socket_in(self, netns):
        """A netlink socket inside NETNS (a socket keeps the namespace it was opened in)."""
        return self.namespaces.inside(netns, lambda: IPRoute(strict_check=True, ext_ack=True))

    def _get(self, name, netns=None):
        """The kernel's message for the link called exactly NAME, or None (asked by name, not dumped)."""
        if not name:
            return None  # no name names no link (the kernel would call the request invalid)
        try:
            return self._ipr(netns).link("get", ifname=name)[0]
        except NetlinkError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise _kernel_error("read link %s" % name, exc)

    def _index(self, name, netns=None):
        msg = self._get(name, netns)
        return msg["index"] if msg is not None else None

    # -- named network namespaces: the namespaces adapter's, under the names resources call --

    def netns_inode(self, name):
        """Inode of /run/netns/NAME when it is a mounted namespace, else None (exact name)."""
        return self.namespaces.inode(name)

    @_reads
    def netns_inodes(self):
        """{name: namespace inode} of every mounted name in /run/netns, sorted by name."""
        return self.namespaces.inodes()

    def netns_names(self):
        """Every mounted namespace name, sorted."""
        return sorted(self.netns_inodes())

    def netns_record(self, name):
        """What our record of NAME holds (see _namespaces.Namespaces.record)."""
        return self.namespaces.record(name)

    def netns_owned(self, name):
        """True when NAME was made by this collection and still names the same namespace."""
        return self.namespaces.owned(name)

    def owned_markers(self):
        """Every name recorded as ours, also of namespaces that are gone since."""
        return self.namespaces.owned_markers()

    @_writes
    def netns_create(self, name):
        """Create a namespace with loopback up, and record it as ours."""
        self.namespaces.create(name)
        self.netns_finish(name)

    @_writes
    def netns_share(self, name, target):
        """Make NAME a second name of TARGET's namespace (Docker's container mode)."""
        self.namespaces.share(name, target)
        self.netns_finish(name, loopback=False)

    @_writes
    def netns_finish(self, name, loopback=True):
        """The last steps of making NAME: loopback up (not for a second name of a namespace),
        and its inode recorded, which marks it complete."""
        if loopback:
            self.link_set("lo", netns=name, state="up")
        self.namespaces.mark(name)

    @_writes
    def netns_delete(self, name):
        """Remove the name (and our socket in it); the namespace lives on while another name or
        process holds it."""
        sock = self._sockets.pop(name, None)
        if sock is not None:
            sock.close()
        self.namespaces.delete(name)

    @_writes
    def netns_forget(self, name):
        """Drop the record that NAME is ours (its namespace is gone, or is another one now)."""
        self.namespaces.forget(name)

    # -- links --------------------------------------------------------------------------

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
        msgs = self._ipr(netns).addr("dump", index=index, dump_filter=RequestProcessor())
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

    def _call(self, action, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (NetlinkError, OSError) as exc:
            raise _kernel_error(action, exc)

    def _born_in(self, netns, spec):
        """SPEC (of a new link) with the namespace it is born in: inside a sandbox a link never
        clashes with the host's names, and no half-made link is ever left in the host."""
        if netns is not None:
            self._ipr(netns)  # existence check before the kernel is asked
            spec["net_ns_fd"] = netns
        return spec

    def _add_link(self, name, netns=None, replace=False, then=None, **spec):
        """Create link NAME of ``spec["kind"]`` in NETNS and tag it as ours; REPLACE removes an
        old NAME there first (a recreate: what the kernel cannot change in place).

        The kernel takes no alias at creation, so the link is made under its temporary name
        (_records.temp_name), tagged (and THEN called: a veth tags its peer), and renamed last:
        NAME never holds a link of ours without its tag. A link left under the temporary name
        by an interrupted run goes first (a veth's peer with it).
        """
        kind, temp = spec["kind"], temp_name(name)
        if replace:
            self.link_delete(name, netns)
        self.link_delete(temp, netns)
        self._call("create %s %s" % (kind, name), self._ipr().link, "add", **self._born_in(netns, dict(spec, ifname=temp)))
        self.link_set(temp, netns=netns, ifalias="%s %s" % (OWNER_TAG, kind))
        if then is not None:
            then()
        self.link_set(temp, netns=netns, ifname=name)

    @_writes
    def link_add_bridge(self, name):
        """Create a bridge tagged as ours."""
        self._add_link(name, kind="bridge")

    @_writes
    def link_add_veth(self, name, peer, netns=None):
        """Create a veth pair whose peer is born inside NETNS (so it never clashes with the host)."""
        self._add_link(name, kind="veth", peer=self._born_in(netns, {"ifname": peer}),
                       then=lambda: self.link_set(peer, netns=netns, ifalias="%s veth-peer" % OWNER_TAG))

    @_writes
    def link_add_vxlan(self, name, vni, local, dstport, *, learning=None, proxy=False, replace=False):
        """Create a vxlan device (no multicast group: remotes come from its fdb) tagged as ours.

        LEARNING None leaves it to the kernel (on); PROXY answers ARP from the device's own
        neighbour entries instead of flooding it.
        """
        spec = {"vxlan_id": vni, "vxlan_port": dstport, "vxlan_proxy": int(bool(proxy))}
        spec["vxlan_local6" if ":" in local else "vxlan_local"] = local
        if learning is not None:
            spec["vxlan_learning"] = int(learning)
        self._add_link(name, replace=replace, kind="vxlan", **spec)

    @_writes
    def link_add_macvlan(self, name, parent, *, kind="macvlan", mode="bridge", netns=None, replace=False):
        """Create a macvlan or ipvlan link on the host's link PARENT, born inside NETNS."""
        parent_index = self._index(parent)
        if parent_index is None:
            raise NotFound("parent: %s does not exist on the host" % parent, "parent")
        data = {"macvlan_mode": MACVLAN_MODES[mode]} if kind == "macvlan" else {"ipvlan_mode": IPVLAN_MODES[mode]}
        self._add_link(name, netns, replace, kind=kind, link=parent_index, **data)

    @_writes
    def link_set(self, name, netns=None, **attrs):
        """Set link attributes: mtu, address, state, ifalias, master (a name or None), hairpin (as a
        bridge port), kind-specific."""
        index = self._index(name, netns)
        if index is None:
            raise NotFound("link %s vanished while it was being configured" % name)
        if "master" in attrs:
            master = attrs.pop("master")
            attrs["master"] = self._index(master, netns) if master else 0
        if "hairpin" in attrs:  # a bridge port's flag: set through the port, not the link
            hairpin = int(attrs.pop("hairpin"))
            self._call("set hairpin on %s" % name, self._ipr(netns).brport, "set", index=index, mode=hairpin)
            if not attrs:
                return
        for prefix, kind in KIND_PREFIXES.items():
            if any(attr.startswith(prefix) for attr in attrs):
                attrs["kind"] = kind
        if isinstance(attrs.get("macvlan_mode"), str):
            attrs["macvlan_mode"] = MACVLAN_MODES[attrs["macvlan_mode"]]
        if isinstance(attrs.get("ipvlan_mode"), str):
            attrs["ipvlan_mode"] = IPVLAN_MODES[attrs["ipvlan_mode"]]
        if "vxlan_learning" in attrs:
            attrs["vxlan_learning"] = int(attrs["vxlan_learning"])
        self._call("set %s on %s" % (", ".join(sorted(attrs)), name), self._ipr(netns).link, "set", index=index, **attrs)

    @_writes
    def link_delete(self, name, netns=None):
        """Delete a link (for a veth, both ends go)."""
        index = self._index(name, netns)
        if index is not None:
            self._call("delete %s" % name, self._ipr(netns).link, "del", index=index)

    @_writes
    def addresses_set(self, name, netns=None, add=(), remove=()):
        """Add and remove addresses (CIDR strings) on a link."""
        # Removal first: deleting a primary address also deletes the secondaries of its subnet,
        # which would take a just-added address with it.
        ipr, index = self._ipr(netns), self._index(name, netns)
        for command, texts in (("del", remove), ("add", add)):
            for text in texts:
                value = ipaddress.ip_interface(text)
                self._call("%s address %s on %s" % (command, text, name), ipr.addr, command, index=index,
                           address=str(value.ip), prefixlen=value.network.prefixlen)

    @_writes
    def routes_set(self, name, netns=None, add=(), remove=()):
        """Add and remove routes (dicts: dst, via, metric) leaving through a link."""
        ipr, index = self._ipr(netns), self._index(name, netns)
        for command, routes in (("del", remove), ("add", add)):
            for spec in routes:
                dst = ipaddress.ip_network(spec["dst"])
                kwargs = {"oif": index, "proto": RTPROT_STATIC, "table": MAIN_TABLE,
                          "family": 2 if dst.version == 4 else 10, "dst_len": dst.prefixlen}
                if dst.prefixlen:
                    kwargs["dst"] = str(dst.network_address)
                if spec.get("via"):
                    kwargs["gateway"] = spec["via"]
                if spec.get("metric"):
                    kwargs["priority"] = spec["metric"]
                try:
                    ipr.route(command, **kwargs)
                except NetlinkError as exc:
                    if command == "del" and exc.code == errno.ESRCH:
                        continue  # already gone with its address
                    raise _kernel_error("%s route %s on %s" % (command, spec["dst"], name), exc)

    # -- a vxlan device's remotes (bridge fdb) and neighbours ------------------------------

    @_reads
    def vxlan_fdb(self, name):
        """The static remotes of the host's vxlan device NAME: frozenset of (mac, dst address).

        An all-zero MAC is a default destination (one entry per remote: head-end replication).
        Entries the device learned, and those of the bridge it is a port of, are left out.
        """
        index = self._index(name)
        if index is None:
            return frozenset()
        out = set()
        for msg in self._ipr().fdb("dump", ifindex=index):
            dst = msg.get("NDA_DST")
            if msg["ifindex"] == index and dst and msg["state"] & NUD_PERMANENT and msg["flags"] & NTF_SELF:
                out.add(((msg.get("NDA_LLADDR") or ZERO_MAC).lower(), ipaddress.ip_address(dst)))
        return frozenset(out)

    def _fdb(self, command, name, mac, dst):
        index = self._index(name)
        if index is None:
            raise NotFound("link %s vanished while it was being configured" % name)
        self._call("%s fdb entry %s dst %s on %s" % (command, mac, dst, name), self._ipr().fdb, command, ifindex=index,
                   lladdr=mac, dst=dst, state=NUD_NOARP | NUD_PERMANENT, flags=NTF_SELF)

    @_writes
    def fdb_add(self, name, mac, dst):
        """Send what is for MAC to the remote DST. The all-zero MAC takes one more remote (append);
        another MAC has one remote, which this sets (replace)."""
        self._fdb("append" if mac == ZERO_MAC else "replace", name, mac, dst)

    @_writes
    def fdb_delete(self, name, mac, dst):
        """Remove one remote DST of MAC (for the all-zero MAC, the others stay)."""
        self._fdb("del", name, mac, dst)

    @_reads
    def neighbours(self, name):
        """The permanent neighbour (ARP/NDP) entries of the host's link NAME: {ip address: mac}."""
        index = self._index(name)
        if index is None:
            return {}
        return {ipaddress.ip_address(msg.get("NDA_DST")): (msg.get("NDA_LLADDR") or "").lower()
                for msg in self._ipr().neigh("dump", ifindex=index)
                if msg["ifindex"] == index and msg["family"] in (2, 10) and msg["state"] & NUD_PERMANENT and msg.get("NDA_DST")}

    @_writes
    def neigh_add(self, name, ip, mac):
        """Set the permanent neighbour entry IP -> MAC on the host's link NAME (add or replace)."""
        self._call("set neighbour %s on %s" % (ip, name), self._ipr().neigh, "replace", ifindex=self._index(name),
                   dst=ip, lladdr=mac, state=NUD_PERMANENT)

    @_writes
    def neigh_delete(self, name, ip):
        """Remove the neighbour entry of IP on the host's link NAME."""
        self._call("delete neighbour %s on %s" % (ip, name), self._ipr().neigh, "del", ifindex=self._index(name), dst=ip)
