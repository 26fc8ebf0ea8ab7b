# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declaration: the names it derives (its parsing is tested through the modules, in
test_sandboxes.py and test_multi_host.py, and in test_fleet.py)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration


def test_veth_names_are_stable_and_short():
    # The names are written out (sha256 of "SANDBOX\0NETWORK", 11 hex digits): a name that changes
    # from one version to the next would orphan every veth made before the upgrade.
    assert _declaration.veth_name("web", "br0") == "nmva697f8b15b4"
    assert _declaration.veth_name("web", "br1") == "nmv36f01ab81c1"
    assert _declaration.veth_name("a" * 200, "b" * 200) == "nmvddb1f4c7b40"
