# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter's writes: links made, set and removed, addresses and routes. What every
sandbox makes goes through ``wire``; what a network makes once (bridges, vxlan, macvlan and
ipvlan links, their kind's attributes) through pyroute2."""

from __future__ import annotations

import errno
import ipaddress
import os

from ansible_collections.netmodes.linux.plugins.module_utils._errors import NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import NETNS_DIR
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.base import (
    IPVLAN_MODES,
    KIND_PREFIXES,
    MACVLAN_MODES,
    MAIN_TABLE,
    RTPROT_STATIC,
    Sockets,
    _kernel_error,
    _relinks,
    _writes,
    random_mac,
)
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.wire import WireError
from ansible_collections.netmodes.linux.plugins.module_utils._records import OWNER_TAG, temp_name

# The attributes link_set writes through the wire (the rest are a kind's: pyroute2's), in its words.
_WIRE_ATTRS = {"state": "up", "mtu": "mtu", "address": "address", "ifalias": "alias", "master": "master", "ifname": "name"}


class Writes(Sockets):
    """Links made (tagged as ours), set and removed; addresses and routes added and removed."""

    def _born_in(self, netns, spec):
        """SPEC (of a new link) with the namespace it is born in: inside a sandbox a link never
        clashes with the host's names, and no half-made link is ever left in the host."""
        if netns is not None:
            self._ipr(netns)  # existence check before the kernel is asked
            spec["net_ns_fd"] = netns
        return spec

    def _add_link(self, name, netns=None, replace=False, then=None, create=None, **spec):
        """Create link NAME of ``spec["kind"]`` in NETNS and tag it as ours; REPLACE removes an
        old NAME there first (a recreate: what the kernel cannot change in place).

        The kernel takes no alias at creation, so the link is made under its temporary name
        (_records.temp_name), tagged (and THEN called: a veth tags its peer), and renamed last:
        NAME never holds a link of ours without its tag. A link left under the temporary name
        by an interrupted run goes first (a veth's peer with it). CREATE(temp) makes it, when
        pyroute2 does not (with SPEC).
        """
        kind, temp = spec["kind"], temp_name(name)
        if replace:
            self.link_delete(name, netns)
        self.link_delete(temp, netns)
        if create is not None:
            self._call("create %s %s" % (kind, name), create, temp)
        else:
            self._call("create %s %s" % (kind, name), self._ipr().link, "add", **self._born_in(netns, dict(spec, ifname=temp)))
        self.link_set(temp, netns=netns, ifalias="%s %s" % (OWNER_TAG, kind))
        if then is not None:
            then()
        self.link_set(temp, netns=netns, ifname=name)

    @_relinks
    def link_add_bridge(self, name):
        """Create a bridge tagged as ours, with a random MAC of its own: given at creation, the
        kernel keeps it (a bridge left to choose takes its lowest port's, and changes it when a
        lower one joins, which cuts its members off their gateway until their neighbour entries
        expire)."""
        self._add_link(name, kind="bridge", address=random_mac())

    @_relinks
    def link_add_veth(self, name, peer, netns=None):
        """Create a veth pair whose peer is born inside NETNS (so it never clashes with the host)."""
        def create(temp):
            if netns is not None:
                self._wire(netns)  # existence check before the kernel is asked
            self._wire().add_veth(temp, peer, os.path.join(NETNS_DIR, netns) if netns is not None else None)

        self._add_link(name, kind="veth", create=create, then=lambda: self.link_set(peer, netns=netns, ifalias="%s veth-peer" % OWNER_TAG))

    @_relinks
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

    @_relinks
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
        if "ifname" in attrs or "net_ns_fd" in attrs:  # the link changes its name or namespace
            self._indexes.clear()
        if "master" in attrs:
            master = attrs.pop("master")
            attrs["master"] = self._index(master, netns) if master else 0
        if "ipv6" in attrs:
            self._set_ipv6(name, netns, attrs.pop("ipv6"))
        if "hairpin" in attrs:  # a bridge port's flag: set through the port, not the link
            self._call("set hairpin on %s" % name, self._wire(netns).set_port_mode, index, attrs.pop("hairpin"))
        common = {_WIRE_ATTRS[key]: attrs.pop(key) for key in list(attrs) if key in _WIRE_ATTRS}
        if "up" in common:
            common["up"] = common["up"] == "up"
        if common:
            self._call("set %s on %s" % (", ".join(sorted(common)), name), self._wire(netns).set_link, index, **common)
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

    def _set_ipv6(self, name, netns, value):
        """IPv6 on link NAME: "off" (disable_ipv6, as Docker does on the links of IPv4-only
        networks) or "on" without router advertisements (a sandbox takes no address or route
        from anyone on its network). netlink cannot set these: they are sysctls of the link, in
        its namespace, which lasts as long as the link does."""
        settings = {"off": (("disable_ipv6", "1"),), "on": (("accept_ra", "0"), ("disable_ipv6", "0"))}[value]

        def write():
            for key, number in settings:
                with open("/proc/sys/net/ipv6/conf/%s/%s" % (name, key), "w") as handle:
                    handle.write(number)

        try:
            write() if netns is None else self.namespaces.inside(netns, write)
        except OSError as exc:
            raise _kernel_error("set ipv6 %s on %s" % (value, name), exc)

    @_relinks
    def link_delete(self, name, netns=None):
        """Delete a link (for a veth, both ends go)."""
        index = self._index(name, netns)
        if index is not None:
            self._call("delete %s" % name, self._wire(netns).delete_link, index)

    @_writes
    def addresses_set(self, name, netns=None, add=(), remove=()):
        """Add and remove addresses (CIDR strings) on a link."""
        # Removal first: deleting a primary address also deletes the secondaries of its subnet,
        # which would take a just-added address with it.
        sock, index = self._wire(netns), self._index(name, netns)
        for command, texts in (("del", remove), ("add", add)):
            for text in texts:
                self._call("%s address %s on %s" % (command, text, name), sock.address, command == "add", index, ipaddress.ip_interface(text))

    @_writes
    def routes_set(self, name, netns=None, add=(), remove=()):
        """Add and remove routes (dicts: dst, via, metric) leaving through a link."""
        sock, index = self._wire(netns), self._index(name, netns)
        for command, routes in (("del", remove), ("add", add)):
            for spec in routes:
                via = ipaddress.ip_address(spec["via"]) if spec.get("via") else None
                try:
                    sock.route(command == "add", index, ipaddress.ip_network(spec["dst"]), via=via, metric=spec.get("metric"),
                               proto=RTPROT_STATIC, table=MAIN_TABLE)
                except WireError as exc:
                    if command == "del" and exc.code == errno.ESRCH:
                        continue  # already gone with its address
                    raise _kernel_error("%s route %s on %s" % (command, spec["dst"], name), exc)
