# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's sandboxes of every network mode, as the unit and integration tests declare them:
a published port and a hostname, a second network with an alias, a container-mode sidecar, none
mode, Docker's default network and host mode."""

from __future__ import annotations

EVERY_MODE = [
    {"name": "web", "network_mode": "br0", "publish": ["8080:80"], "hostname": "web1"},
    {"name": "db", "network_mode": "br0", "networks": ["back"], "aliases": ["database"]},
    {"name": "side", "network_mode": "container:web"},
    {"name": "quiet", "network_mode": "none"},
    {"name": "legacy", "network_mode": "bridge"},
    {"name": "web2", "network_mode": "host", "ports": [9090]},
]


def with_keys(sandboxes, name, **keys):
    """SANDBOXES with the entry NAME's KEYS replaced."""
    return [dict(s, **keys) if s["name"] == name else dict(s) for s in sandboxes]
