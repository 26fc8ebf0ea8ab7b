# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state records: what the netlink adapter reads of a link and of a route (Link, RouteEntry),
and how a link of ours is recognised (its alias tag; its temporary name while it is made)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ansible_collections.netmodes.linux.plugins.module_utils._model import Route, jsonable

# Every link the collection creates carries this tag as the first word of its alias
# (``ip -d link`` shows it), so that removal and garbage collection touch ours only.
OWNER_TAG = "netmodes.linux"


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
    nf_call_ip6tables: bool = None
    # A bridge's MAC: fixed (set by hand or at creation: True), or the lowest of its ports' (the
    # kernel's default: False, so a port that joins with a lower one changes it and every member's
    # neighbour entry of the gateway points nowhere until it expires); None: not known (not a host
    # bridge, or sysfs is another namespace's).
    mac_fixed: bool = None
    # As a bridge port: whether the bridge sends a frame back out of the port it came in on.
    hairpin: bool = None
    # IPv6 on the link: "off" (disable_ipv6), "on" (router advertisements ignored), "auto" (the
    # kernel's default), None (not known).
    ipv6: str = None
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
