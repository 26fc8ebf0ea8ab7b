# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sysctl ledger's arithmetic: who holds which key, and the value to put back.

A ledger is ``{key: {"before": value, "users": [owner, ...]}}`` (kept in /run/netmodes/sysctl.json by
``_sysctl.Sysctl``). These functions change nothing: the adapter (``_sysctl``) and check mode's
in-memory replay (``_preview``) both compute with them, so they import nothing of the engine.
"""

from __future__ import annotations


def claimed(ledger, key, owner, now):
    """LEDGER once OWNER claims KEY, whose value is NOW (recorded as the value before us when KEY
    has no entry yet)."""
    out = dict(ledger)
    entry = out.get(key) or {"before": now, "users": []}
    out[key] = {"before": entry["before"], "users": sorted(set(entry["users"]) | {owner})}
    return out


def released(ledger, key, owner):
    """LEDGER once OWNER releases KEY; and the value to put back (None: others still use it)."""
    out, entry = dict(ledger), ledger.get(key)
    if entry is None:
        return out, None
    users = sorted(set(entry["users"]) - {owner})
    if users:
        out[key] = {"before": entry["before"], "users": users}
        return out, None
    del out[key]
    return out, entry["before"]
