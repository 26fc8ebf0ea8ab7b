# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's gateway options: one spec (_gateway.OPTIONS) and the fragment documenting it agree."""

from __future__ import annotations

import yaml

from ansible_collections.netmodes.linux.plugins.doc_fragments.gateway import ModuleDocFragment
from ansible_collections.netmodes.linux.plugins.module_utils import _gateway
from ansible_collections.netmodes.linux.plugins.module_utils._declaration import networks
from ansible_collections.netmodes.linux.plugins.module_utils._resources.bridge import Bridge


def test_the_fragment_documents_the_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert {name: {key: doc[key] for key in ("type", "choices", "default", "elements") if key in doc} for name, doc in documented.items()} == {
        name: dict(spec) for name, spec in _gateway.OPTIONS.items()}
    assert all("com.docker.network." in " ".join(doc["description"] if isinstance(doc["description"], list) else [doc["description"]])
               for doc in documented.values()), "each option names the Docker option it mirrors"


def test_the_bridge_module_and_bridge_networks_take_the_same_keys():
    assert all(Bridge.argument_spec[name] is spec for name, spec in _gateway.OPTIONS.items())
    assert set(_gateway.KEYS) == set(_gateway.OPTIONS) and set(_gateway.KEYS) <= set(networks._DRIVER_KEYS["bridge"])
