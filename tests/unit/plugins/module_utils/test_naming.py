# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How an error names what the user wrote: the variable (declared_in) and the entry."""

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _naming
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput


def test_an_entry_is_named_by_its_variable_index_and_name():
    assert _naming.entry("netmodes_sandboxes", 2, "web") == "netmodes_sandboxes[2] (web)"
    assert _naming.entry("config", 0) == "config[0]", "no name, no parentheses"
    assert _naming.entry("config", 0, "x\ny") == "config[0]", "a name that is not printable is left out"
    assert _naming.entry("config", 0, 7) == "config[0]", "nor is a name that is no string"


def test_declared_in_names_each_list_option_by_the_variable_it_came_from():
    params = {"declared_in": {"config": "netmodes_sandboxes"}}
    assert _naming.declared_in(params, "config", "networks") == {"config": "netmodes_sandboxes", "networks": "networks"}
    assert _naming.declared_in({"declared_in": {}}, "config") == {"config": "config"}, "ad hoc: the option's own name"


@pytest.mark.parametrize("given, fragment", [
    ({"sandboxes": "netmodes_sandboxes"}, r"declared_in: unknown keys sandboxes \(known: config, networks\)"),
    ({"config": "netmodes sandboxes"}, r"declared_in: config: 'netmodes sandboxes' is not a variable name"),
    ({"config": ["netmodes_sandboxes"]}, r"declared_in: config: \['netmodes_sandboxes'\] is not a variable name"),
])
def test_declared_in_takes_variable_names_of_the_modules_list_options(given, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        _naming.declared_in({"declared_in": given}, "config", "networks")
