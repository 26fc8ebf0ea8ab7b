# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall layer: what the modules ask of a firewall, and which backend writes it.

Modules never build rules. They describe *intents* (a published port, a bridge network's
policy, who may send an overlay VXLAN, what keeps the host closed where a sysctl was switched
on) on behalf of an *owner* (``netns:web``, ``bridge:br0``, ``vxlan:nmx…``, ``sysctl:ledger``)
and a backend renders them. The package, file by file:

- ``interface``: the ``Backend`` protocol, all a planner uses of a backend (netavark's FirewallDriver);
- ``intents``: what is asked (``Publish``, ``BridgePolicy``, ``VxlanPeers``, ``Guard``) and owner tags;
- ``planning``: the one planning path both backends share (``plan``, ``plan_guard``, ``recognise``);
- ``nftables`` (``nft_rules``, ``nft_state``): one table of our own, one JSON transaction per run (the default);
- ``iptables`` (``ipt_rules``, ``ipt_state``): chains of our own through python-iptables, for iptables-legacy hosts;
- ``foreign`` (``foreign_read``): the analyser of other programs' rules, which may drop our traffic.

This file is the face the rest of the collection sees: ``_firewall.plan``, ``_firewall.backend``,
and the one ``firewall_backend`` option spec (``BACKEND_OPTION``), documented by the doc fragment
``netmodes.linux.firewall`` (plugins/doc_fragments/firewall.py).
"""

from __future__ import annotations

import subprocess

from ansible_collections.netmodes.linux.plugins.module_utils._firewall.foreign import blocked, bridge_flows, publish_flows
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.foreign_read import which as find_tool
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.intents import (
    GUARD_OWNER,
    BridgePolicy,
    Guard,
    Publish,
    VxlanPeers,
    bridge_owner,
    bridge_subnets,
    owner_words,
    sandbox_owner,
    vxlan_owner,
)
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.iptables import Iptables
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.nftables import HAS_BINDING, Nftables
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.planning import UNRECOGNISED, guard, plan, plan_guard, recognise

__all__ = [
    "BACKENDS", "BACKEND_OPTION", "GUARD_OWNER", "UNRECOGNISED", "BridgePolicy", "Guard", "Publish", "VxlanPeers",
    "backend", "blocked", "bridge_flows", "bridge_owner", "bridge_subnets", "detect", "guard", "owner_words",
    "plan", "plan_guard", "publish_flows", "recognise", "sandbox_owner", "vxlan_owner",
]

BACKENDS = ("nftables", "iptables")

# The firewall_backend option of every module that writes firewall rules, the one spec of it:
# plugins/doc_fragments/firewall.py documents it (tests/unit/plugins/doc_fragments/test_firewall.py
# holds the two together).
BACKEND_OPTION = {"type": "str", "choices": ["auto", *BACKENDS], "default": "auto"}


def detect(run=subprocess.run, which=find_tool, nft_binding=None):
    """The backend ``auto`` means on this host.

    iptables only where the host's ``iptables --version`` says legacy (Debian's
    iptables-legacy alternative, old RHEL/Ubuntu), or where there is no nftables at all.
    """
    has_nft = (nft_binding if nft_binding is not None else HAS_BINDING) or bool(which("nft"))
    iptables = which("iptables")
    if iptables:
        proc = run([iptables, "--version"], capture_output=True, text=True, check=False)
        if "legacy" in (proc.stdout or "") + (proc.stderr or ""):
            return "iptables"
    if not has_nft and iptables:
        return "iptables"
    return "nftables"


def backend(choice="auto"):
    """A firewall adapter for CHOICE (auto, nftables or iptables); nothing is read yet."""
    name = detect() if choice == "auto" else choice
    return Iptables() if name == "iptables" else Nftables()
