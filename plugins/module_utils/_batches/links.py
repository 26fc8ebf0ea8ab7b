# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host links of ours that networks make (bridges, VXLAN devices, shims), as the batches find them."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses
from ansible_collections.netmodes.linux.plugins.module_utils._resources.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.module_utils._resources.macvlan import Macvlan
from ansible_collections.netmodes.linux.plugins.module_utils._resources.vxlan import Vxlan

LINK_RESOURCES = {"bridge": Bridge, "vxlan": Vxlan, "macvlan": Macvlan, "ipvlan": Macvlan}


def absent_options(kind, backend):
    if kind in ("bridge", "vxlan"):
        return {"firewall_backend": backend}
    if kind in ("macvlan", "ipvlan"):
        return {"kind": kind}
    return {}


def our_bridges(net):
    return [link.name for link in our_host_links(net) if link.kind == "bridge"]


def our_host_links(net):
    """The host's links of ours that networks make: bridges, VXLAN devices and shims."""
    names = net.addresses_by_link()
    links = [net.link(n, routes=False) for n in sorted(names)]
    return [link for link in links if link is not None and link.ours and link.kind in LINK_RESOURCES]


def gather_networks(net):
    """{bridge: its IPv4 subnet and gateway (null without), and its IPv6 ones where it has IPv6}."""
    out = {}
    for name in our_bridges(net):
        found = _addresses.bridge_subnets(net.link(name, routes=False))
        subnet, gateway = found.get(4, (None, None))
        out[name] = {"subnet": str(subnet) if subnet else None, "gateway": str(gateway) if gateway else None}
        if 6 in found:
            out[name].update(subnet6=str(found[6][0]), gateway6=str(found[6][1]))
    return out
