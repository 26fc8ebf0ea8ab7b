# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' firewall backend names are the modules' (_firewall.backends.BACKEND_OPTION): a role
cannot import Python, so the roles' YAML is read and held to the one spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall

ROLES = Path(__file__).resolve().parents[3] / "roles"


def test_the_declaration_role_checks_netmodes_firewall_backend_against_the_modules_choices():
    names = yaml.safe_load((ROLES / "declaration" / "vars" / "main.yml").read_text())["_declaration_backends"]
    assert names == _firewall.BACKEND_OPTION["choices"]
    checks = (ROLES / "declaration" / "vars" / "main.yml").read_text()
    assert "netmodes_firewall_backend not in _declaration_backends" in checks, "the check uses the list, not a copy of it"


@pytest.mark.parametrize("role", ["sandboxes", "networks", "boot_restore", "requirements"])
def test_a_roles_firewall_backend_takes_the_modules_choices(role):
    options = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert options["%s_firewall_backend" % role]["choices"] == _firewall.BACKEND_OPTION["choices"]
