# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changes to a list of sandboxes (netmodes_sandboxes) between two runs, for the one-plan tests of
both trees (tests/unit/plugins/modules/test_one_plan.py, tests/integration/test_one_plan.py).

Import it as ansible_collections.netmodes.linux.tests.shared.declaration_changes (both trees)."""

from __future__ import annotations


def renamed(sandboxes, old, new):
    """SANDBOXES with OLD named NEW, and the sandboxes that share its network (container:OLD) following it."""
    out = []
    for entry in sandboxes:
        entry = dict(entry, name=new) if entry["name"] == old else dict(entry)
        if entry.get("network_mode") == "container:" + old:
            entry["network_mode"] = "container:" + new
        out.append(entry)
    return out


def without(sandboxes, *names):
    """SANDBOXES but NAMES."""
    return [s for s in sandboxes if s["name"] not in names]


def changed(sandboxes, name, **keys):
    """SANDBOXES with the keys of sandbox NAME set to KEYS."""
    return [dict(s, **keys) if s["name"] == name else s for s in sandboxes]
