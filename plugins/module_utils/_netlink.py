# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter: the only place that talks to pyroute2.

It also owns the named network namespaces (/run/netns/NAME) because creating and sharing
them is mount plumbing that belongs with the sockets opened inside them. Reads never create
anything: a namespace is opened only after an exact existence check, and with flags=0 so that
pyroute2 cannot create it behind our back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import ipaddress
import os
import traceback

from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import OWNER_TAG, Link, Route, RouteEntry

try:
    from pyroute2 import IPRoute
    from pyroute2 import netns as _pyroute2_netns
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()

    class NetlinkError(Exception):
        """Stand-in so that ``except NetlinkError`` stays valid without pyroute2."""

else:
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None

NETNS_DIR = "/run/netns"
# Which names in /run/netns we created (a file per name holding the namespace inode).
# It lives on /run like the namespaces themselves, so both vanish together at reboot.
OWNED_DIR = "/run/netmodes/netns"
RTPROT_STATIC = 4
# rtnetlink's names of route protocols (RTPROT_*), as ``ip route`` prints them.
RTPROT_NAMES = {2: "kernel", 3: "boot", 4: "static", 9: "ra", 16: "dhcp"}
MAIN_TABLE = 254
IFF_UP = 1
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
MNT_DETACH = 2


def _kernel_error(action, exc):
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
    return KernelError("%s: %s" % (action, reason))


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
    """Reads and writes links, addresses, routes and named namespaces."""

    def __init__(self):
        self._sockets = {}
        self._libc = None
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
                self._sockets[None] = IPRoute()
            else:
                if self.netns_inode(netns) is None:
                    raise NotFound(
                        "sandbox %r does not exist (no %s/%s); create it with"
                        " netmodes.linux.netns first" % (netns, NETNS_DIR, netns),
                        "netns",
                    )
                self._sockets[netns] = IPRoute(netns=netns, flags=0)
        return self._sockets[netns]

    def _index(self, name, netns=None):
        found = self._ipr(netns).link_lookup(ifname=name)
        return found[0] if found else None

    # -- named network namespaces -------------------------------------------------------

    def netns_inode(self, name):
        """Inode of /run/netns/NAME when it is a mounted namespace, else None (exact name)."""
        try:
            st = os.stat(os.path.join(NETNS_DIR, name))
        except (FileNotFoundError, NotADirectoryError):
            return None
        # A left-over mount point file is not a namespace: nsfs has its own device.
        if st.st_dev != os.stat("/proc/self/ns/net").st_dev:
            return None
        return st.st_ino

    def netns_names(self):
        """Every mounted namespace name, sorted."""
        try:
            names = os.listdir(NETNS_DIR)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if self.netns_inode(n) is not None)

    def netns_owned(self, name):
        """True when NAME was made by this collection and still names the same namespace."""
        try:
            with open(os.path.join(OWNED_DIR, name)) as handle:
                return int(handle.read().strip() or 0) == self.netns_inode(name)
        except (FileNotFoundError, ValueError):
            return False

    @_writes
    def netns_create(self, name):
        """Create a namespace with loopback up, and record it as ours."""
        try:
            _pyroute2_netns.create(name)
        except OSError as exc:
            raise _kernel_error("create sandbox %s" % name, exc)
        self._mark_owned(name)
        self.link_set("lo", netns=name, state="up")

    @_writes
    def netns_share(self, name, target):
        """Make NAME a second name of TARGET's namespace (Docker's container mode)."""
        self._prepare_netns_dir()
        path = os.path.join(NETNS_DIR, name)
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
        if self._mount(os.path.join(NETNS_DIR, target), path, MS_BIND) != 0:
            err = ctypes.get_errno()
            os.unlink(path)
            raise KernelError("bind %s to sandbox %s: %s" % (name, target, os.strerror(err)))
        self._mark_owned(name)

    @_writes
    def netns_delete(self, name):
        """Remove the name; the namespace lives on while another name or process holds it."""
        sock = self._sockets.pop(name, None)
        if sock is not None:
            sock.close()
        path = os.path.join(NETNS_DIR, name)
        self._libc_handle().umount2(path.encode(), MNT_DETACH)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        try:
            os.unlink(os.path.join(OWNED_DIR, name))
        except FileNotFoundError:
            pass

    def owned_markers(self):
        """Every name recorded as ours under OWNED_DIR, also of namespaces that are gone since."""
        try:
            return sorted(n for n in os.listdir(OWNED_DIR) if not n.startswith("."))
        except FileNotFoundError:
            return []

    @_writes
    def netns_forget(self, name):
        """Drop the record that NAME is ours (its namespace is gone, or is another one now)."""
        try:
            os.unlink(os.path.join(OWNED_DIR, name))
        except FileNotFoundError:
            pass

    def _mark_owned(self, name):
        os.makedirs(OWNED_DIR, exist_ok=True)
        tmp = os.path.join(OWNED_DIR, ".%s.tmp" % name)
        with open(tmp, "w") as handle:
            handle.write("%d\n" % self.netns_inode(name))
        os.rename(tmp, os.path.join(OWNED_DIR, name))

    def _libc_handle(self):
        if self._libc is None:
            self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return self._libc

    def _mount(self, source, target, flags):
        return self._libc_handle().mount(source.encode(), target.encode(), b"none", flags, None)

    def _prepare_netns_dir(self):
        # As iproute2 does: /run/netns is a shared mount, so that names made here show in
        # every mount namespace that shares it.
        os.makedirs(NETNS_DIR, exist_ok=True)
        if self._libc_handle().mount(b"", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None) != 0:
            self._mount(NETNS_DIR, NETNS_DIR, MS_BIND | MS_REC)
            self._libc_handle().mount(b"", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None)

    # -- links --------------------------------------------------------------------------

    @_reads
    def link(self, name, netns=None, routes=True):
        """The link called exactly NAME in NETNS (None: the host), with addresses and our routes.

        ROUTES false leaves the routes out (empty): reading them means dumping the namespace's
        whole routing table, which on a host with many sandboxes is the costly part.
        """
        index = self._index(name, netns)
        if index is None:
            return None
        msg = self._ipr(netns).link("get", index=index)[0]
        master = msg.get("IFLA_MASTER")
        return self._link(msg, self._name_of(master, netns) if master else None,
                          self._address_dump(netns), self._static_routes(netns) if routes else {})

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
        return Link(
            name=msg.get("IFLA_IFNAME"),
            index=index,
            kind=msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") or "",
            mtu=msg.get("IFLA_MTU"),
            mac=(msg.get("IFLA_ADDRESS") or "").lower(),
            up=bool(msg["flags"] & IFF_UP),
            alias=msg.get("IFLA_IFALIAS") or "",
            master=master,
            peer_index=msg.get("IFLA_LINK"),
            stp=self._bridge_flag(msg, "IFLA_BR_STP_STATE"),
            nf_call_iptables=self._bridge_flag(msg, "IFLA_BR_NF_CALL_IPTABLES"),
            addresses=addresses.get(index, frozenset()),
            routes=routes.get(index, frozenset()),
        )

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
    def addresses_by_link(self, netns=None):
        """{link name: frozenset of addresses} of every link in NETNS (None: the host)."""
        names = {msg["index"]: msg.get("IFLA_IFNAME") for msg in self._ipr(netns).link("dump")}
        addresses = self._address_dump(netns)
        return {name: addresses.get(index, frozenset()) for index, name in names.items()}

    def routes(self, netns=None):
        """Every route of the main table of NETNS (None: the host) as RouteEntry, but the fe80::/64
        ones the kernel makes for each link (as its link-local addresses are left out too)."""
        names = {msg["index"]: msg.get("IFLA_IFNAME") for msg in self._ipr(netns).link("dump")}
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
    def _bridge_flag(msg, attr):
        value = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", attr)
        return None if value is None else bool(value)

    def _name_of(self, index, netns):
        found = self._ipr(netns).link("get", index=index)
        return found[0].get("IFLA_IFNAME") if found else None

    @_reads
    def _address_dump(self, netns):
        """{link index: frozenset of addresses}, without the link-local ones the kernel makes itself."""
        out = {}
        for msg in self._ipr(netns).addr("dump"):
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

    @_writes
    def link_add_bridge(self, name):
        """Create a bridge tagged as ours."""
        self._call("create bridge %s" % name, self._ipr().link, "add", ifname=name, kind="bridge")
        self.link_set(name, ifalias="%s bridge" % OWNER_TAG)

    @_writes
    def link_add_veth(self, name, peer, netns=None):
        """Create a veth pair whose peer is born inside NETNS (so it never clashes with the host)."""
        peer_spec = {"ifname": peer}
        if netns is not None:
            self._ipr(netns)  # existence check before the kernel is asked
            peer_spec["net_ns_fd"] = netns
        self._call("create veth %s" % name, self._ipr().link, "add", ifname=name, kind="veth", peer=peer_spec)
        self.link_set(name, ifalias="%s veth" % OWNER_TAG)
        self.link_set(peer, netns=netns, ifalias="%s veth-peer" % OWNER_TAG)

    @_writes
    def link_set(self, name, netns=None, **attrs):
        """Set link attributes: mtu, address, state, ifalias, master (a name or None), kind-specific."""
        index = self._index(name, netns)
        if index is None:
            raise NotFound("link %s vanished while it was being configured" % name)
        if "master" in attrs:
            master = attrs.pop("master")
            attrs["master"] = self._index(master, netns) if master else 0
        if any(attr.startswith("br_") for attr in attrs):
            attrs["kind"] = "bridge"
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
