# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declared_in option: one spec (_naming.DECLARED_IN_OPTION) and the fragment documenting it agree."""

from __future__ import annotations

import yaml

from ansible_collections.netmodes.linux.plugins.doc_fragments.declaration import ModuleDocFragment
from ansible_collections.netmodes.linux.plugins.module_utils import _naming
from ansible_collections.netmodes.linux.plugins.module_utils._batches.networks import Networks
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._resources.boot_restore import BootRestore


def test_the_fragment_documents_the_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["declared_in"]
    assert {key: documented[key] for key in ("type", "default")} == _naming.DECLARED_IN_OPTION


def test_every_module_that_takes_a_declaration_uses_the_one_spec():
    for resource in (Networks, Sandboxes, BootRestore):
        assert resource.argument_spec["declared_in"] is _naming.DECLARED_IN_OPTION, resource.__name__
