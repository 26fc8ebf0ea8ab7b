# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall layer: what the modules ask of a firewall, and which backend writes it.

Modules never build rules. They describe *intents* (a published port, a bridge network's
policy, who may send an overlay VXLAN, who may ask a network's resolver, what keeps the host
closed where a sysctl was switched on) on behalf of an *owner* (``netns:web``, ``bridge:br0``,
``vxlan:nmx…``, ``resolver:br0``, ``dnsview:web``, ``dnsport:view:…``, ``sysctl:ledger``)
and a backend renders them. The package, file by file:

- ``backends``: the backends' names, the ``firewall_backend`` spec, ``auto``'s choice;
- ``interface``: the ``Backend`` protocol, all a planner uses of a backend (netavark's FirewallDriver);
- ``intents``: what is asked (``Publish``, ``BridgePolicy``, ``VxlanPeers``, ``ResolverAccess``, ``ViewRedirect``, ``ViewPort``, ``Guard``) and owner tags;
- ``planning``: the one planning path both backends share (``plan``, ``plan_guard``, ``recognise``);
- ``nftables`` (``nft_rules``, ``nft_state``): one table of our own, one JSON transaction per run (the default);
- ``iptables`` (``ipt_rules``, ``ipt_state``): chains of our own through python-iptables, for iptables-legacy hosts;
- ``foreign`` (``foreign_read``): the analyser of other programs' rules, which may drop our traffic.

This file is the face the rest of the collection sees: ``_firewall.plan``, ``_firewall.backend``,
and the one ``firewall_backend`` option spec (``backends.BACKEND_OPTION``), documented by the doc fragment
``netmodes.linux.firewall`` (plugins/doc_fragments/firewall.py).
"""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._firewall.backends import BACKEND_OPTION, BACKENDS, backend, detect
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.foreign import blocked, bridge_flows, publish_flows
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.intents import (
    GUARD_OWNER,
    BridgePolicy,
    Guard,
    Publish,
    ResolverAccess,
    ViewPort,
    ViewRedirect,
    VxlanPeers,
    bridge_owner,
    owner_words,
    resolver_owner,
    sandbox_owner,
    view_owner,
    view_port_owner,
    vxlan_owner,
)
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.planning import UNRECOGNISED, guard, plan, plan_guard, recognise

__all__ = [
    "BACKENDS", "BACKEND_OPTION", "GUARD_OWNER", "UNRECOGNISED", "BridgePolicy", "Guard", "Publish", "ResolverAccess", "ViewPort", "ViewRedirect",
    "VxlanPeers", "backend", "blocked", "bridge_flows", "bridge_owner", "detect", "guard", "owner_words",
    "plan", "plan_guard", "publish_flows", "recognise", "resolver_owner", "sandbox_owner", "view_owner", "view_port_owner",
    "vxlan_owner",
]
