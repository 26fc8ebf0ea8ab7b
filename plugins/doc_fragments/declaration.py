# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The declared_in option of every module that takes a declaration (networks, sandboxes,
    # boot_restore). Its one spec is _naming.DECLARED_IN_OPTION;
    # tests/unit/plugins/doc_fragments/test_declaration_fragment.py holds the two together.
    DOCUMENTATION = r"""
options:
  declared_in:
    description:
      - The variable each list option of the task was written in, so that an error in an entry
        names that variable and the entry's index as the user wrote them, C(netmodes_sandboxes[2])
        rather than the module's C(config[2]), followed by the entry's name.
      - A dict of the module's list options (C(config), C(networks), C(sandboxes)) to variable
        names. An option it does not name is named by itself, as an ad-hoc C(ansible -m) run
        wrote it.
      - The roles fill it with the inventory variable the value came from (C(netmodes_sandboxes),
        C(netmodes_networks)), or with the role's own variable when a play set that one.
    type: dict
    default: {}
"""
