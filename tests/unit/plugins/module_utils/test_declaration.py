# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declaration: the names it derives (its parsing is tested through the modules, in
test_sandboxes.py and test_multi_host.py, and in test_fleet.py)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput


def test_veth_names_are_stable_and_short():
    # The names are written out (sha256 of "SANDBOX\0NETWORK", 11 hex digits): a name that changes
    # from one version to the next would orphan every veth made before the upgrade.
    assert _declaration.veth_name("web", "br0") == "nmva697f8b15b4"
    assert _declaration.veth_name("web", "br1") == "nmv36f01ab81c1"
    assert _declaration.veth_name("a" * 200, "b" * 200) == "nmvddb1f4c7b40"


def test_a_user_defined_network_has_a_resolver_unless_it_says_dns_false():
    spec = _declaration.networks.network_spec
    assert spec({"name": "back"}, "networks[0]").dns is True
    assert spec({"name": "back", "dns": False}, "networks[0]").dns is False
    assert spec({"name": "ov", "driver": "overlay", "subnet": "10.231.96.0/24", "hosts": "all"}, "networks[0]").dns is True


def test_docker_s_default_network_never_has_a_resolver():
    spec = _declaration.networks.network_spec
    assert spec({"name": "bridge"}, "networks[0]").dns is False
    try:
        spec({"name": "bridge", "dns": True}, "networks[0]")
    except InvalidInput as exc:
        assert "dns: Docker's default network bridge has no resolver" in str(exc)
    else:
        raise AssertionError("dns: true on the default network was accepted")
