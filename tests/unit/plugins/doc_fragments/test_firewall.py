# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall_backend option: one spec (_firewall.BACKEND_OPTION) and the fragment documenting it agree."""

from __future__ import annotations

import yaml

from ansible_collections.netmodes.linux.plugins.doc_fragments.firewall import ModuleDocFragment
from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._resources.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.module_utils._resources.portmap import Portmap
from ansible_collections.netmodes.linux.plugins.module_utils._resources.vxlan import Vxlan


def test_the_fragment_documents_the_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["firewall_backend"]
    assert {key: documented[key] for key in ("type", "choices", "default")} == _firewall.BACKEND_OPTION


def test_every_resource_that_writes_rules_uses_the_one_spec():
    for resource in (Bridge, Portmap, Vxlan):
        assert resource.argument_spec["firewall_backend"] is _firewall.BACKEND_OPTION, resource.__name__
