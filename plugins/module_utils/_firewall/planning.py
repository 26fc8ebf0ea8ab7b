# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one planning path both backends share: a planner compares sets of a backend's items."""

from __future__ import annotations

import itertools

from ansible_collections.netmodes.linux.plugins.module_utils import _sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.intents import GUARD_OWNER, BridgePolicy, Guard, bridge_owner
from ansible_collections.netmodes.linux.plugins.module_utils._gateway import GATEWAY_MODES

# What a bridge's rules are when no policy for its subnets renders them exactly.
UNRECOGNISED = "rules for other subnets or changed by hand"


def recognise(firewall, bridge, subnets, have, hint=None):
    """The options (``BridgePolicy.describe``) that HAVE, BRIDGE's items in FIREWALL now, were
    written for: None when it has none, UNRECOGNISED when no policy for SUBNETS renders them.
    HINT, the policy wanted, is tried first; its trusted interfaces and NAT source addresses are
    the only ones tried besides none."""
    if not have:
        return None
    if hint is not None and firewall.render(bridge_owner(bridge), [hint]) == have:
        return hint.describe()
    extras = [(hint.trusted, hint.snat)] if hint is not None and (hint.trusted or hint.snat) else []
    for trusted, snat in extras + [((), ())]:
        for masquerade, icc, internal in itertools.product((True, False), (True, False), (False, True)):
            for mode4, mode6 in itertools.product(GATEWAY_MODES, GATEWAY_MODES):
                policy = BridgePolicy(bridge, tuple(subnets), masquerade, icc, internal, mode4, mode6, trusted, snat)
                if firewall.render(bridge_owner(bridge), [policy]) == have:
                    return policy.describe()
    return UNRECOGNISED


def plan(obj, field, firewall, state, owner, *, want, before, after):
    """The op (or none) that makes OWNER's items in the firewall exactly WANT.

    A present owner also repairs the fixed skeleton when someone changed it.
    """
    have = state.owned_by(owner)
    if want == have and (not want or state.intact()):
        return []
    call = ("firewall.stage", {"commands": firewall.changes(state, owner, want, have), "after": firewall.after(state, owner, want)})
    if not want:
        return [Op("delete", obj, before={field: before}, call=call)]
    if not have:
        return [Op("create", obj, after={field: after}, call=call)]
    return [Op("set", obj, field, before, after, call)]


def guard(ledger):
    """The Guard for LEDGER (the sysctl ledger), or None when it switched nothing on."""
    found = _sysctl.guarded(ledger)
    return Guard(found["uplinks"], found["localnet"], found["uplinks6"]) if any(found.values()) else None


def plan_guard(firewall, state, owner, want, *, ledger, keys, values):
    """The op (or none) that makes the Guard match the sysctl LEDGER once OWNER uses exactly KEYS
    ({key: value}; VALUES are the keys' values now). It is planned on the state OWNER's change to
    WANT leaves, since both are staged for the same commit."""
    now, then = guard(ledger), guard(_sysctl.after(ledger, owner, keys, values))
    items = firewall.render(GUARD_OWNER, [then]) if then else set()
    unchanged = want == state.owned_by(owner) and state.intact()  # OWNER's change stages nothing: the state stays
    return plan("firewall guard", "closed", firewall, state if unchanged else firewall.after(state, owner, want), GUARD_OWNER, want=items,
                before=now.describe() if now else None, after=then.describe() if then else None)
