# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How an error names what the user wrote: the variable a module's list option came from
(``declared_in``) and an entry of it (``netmodes_sandboxes[2] (web)``)."""

from __future__ import annotations

import re

from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput

__all__ = ["DECLARED_IN_OPTION", "declared_in", "entry"]

# The declared_in option of every module that takes a declaration (sandboxes, networks,
# boot_restore), the one spec of it: {option: the variable the user wrote it in}, so that an error
# names netmodes_sandboxes[2] (web), not config[2]. The roles fill it; plugins/doc_fragments/
# declaration.py documents it (tests/unit/plugins/doc_fragments/test_declaration_fragment.py holds the two together).
DECLARED_IN_OPTION = {"type": "dict", "default": {}}
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


def declared_in(params, *options):
    """{option: the name the user knows it by}, for the list OPTIONS of a module: the variable
    declared_in gives (the roles give the inventory's), else the option's own name."""
    given = params.get("declared_in") or {}
    unknown = set(given) - set(options)
    if unknown:
        raise InvalidInput("declared_in: unknown keys %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(options))),
                           "declared_in")
    for option, variable in given.items():
        if not isinstance(variable, str) or not _VARIABLE.match(variable):
            raise InvalidInput("declared_in: %s: %r is not a variable name; give the name of the variable %s came from, like"
                               " netmodes_sandboxes" % (option, variable, option), "declared_in")
    return {option: given.get(option) or option for option in options}


def entry(where, index, name=None):
    """How an error names the INDEXth entry of list WHERE: netmodes_sandboxes[2] (web), its name
    in parentheses when it has a printable one."""
    if isinstance(name, str) and name and name.isprintable() and len(name) <= 64:
        return "%s[%d] (%s)" % (where, index, name)
    return "%s[%d]" % (where, index)
