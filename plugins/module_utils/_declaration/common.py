# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the network and sandbox declarations share: Docker's default network, and the checks of
an entry's keys and values."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput

DEFAULT_NETWORK = "bridge"        # Docker's default network (docker0)
DEFAULT_BRIDGE = "netmodes0"


def name_of(raw):
    return raw.get("name") if isinstance(raw, dict) else None


def unknown_keys(raw, known, where):
    extra = set(raw) - set(known)
    if extra:
        raise InvalidInput("%s: unknown keys %s (known: %s)" % (where, ", ".join(sorted(extra)), ", ".join(sorted(known))), where)


def boolean(raw, key, default, where):
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput("%s: %s: %r is not a boolean; write true or false" % (where, key, value), where)
    return value


def no_duplicates(names, where, what):
    seen = set()
    for name in names:
        if name in seen:
            raise InvalidInput("%s: %s %r is declared twice; declare each once" % (where, what, name), where)
        seen.add(name)
