# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/execution-environment.yml: what ansible-builder puts into an AWX/AAP execution environment
for this collection, read the way ansible-builder reads it (its own introspection, as the EE build
runs it), and the system packages bindep selects from it on Debian and on RPM platforms."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]           # the collection
# The directory that holds ansible_collections/: ansible-test's copy sits in one; a checkout has
# its own ansible_collections/netmodes/linux link to itself.
COLLECTIONS = ROOT.parents[2] if ROOT.parent.parent.name == "ansible_collections" else ROOT


def introspect():
    """{python: [...], system: [...]} as `ansible-builder introspect` finds them for the collections under COLLECTIONS."""
    pytest.importorskip("ansible_builder", reason="ansible-builder is in tests/unit/requirements.txt and requirements-dev.txt")
    out = subprocess.run([sys.executable, "-m", "ansible_builder", "introspect", "--sanitize", str(COLLECTIONS)],
                         capture_output=True, text=True, check=True).stdout
    return yaml.safe_load(out)


def ours(lines):
    """The requirement lines of netmodes.linux, without ansible-builder's comment."""
    tag = "  # from collection netmodes.linux"
    return [line[:-len(tag)] for line in lines if line.endswith(tag)]


def test_the_definition_names_the_collection_s_requirement_files():
    definition = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert definition == {"version": 1, "dependencies": {"python": "requirements.txt", "system": "bindep.txt"}}


def test_ansible_builder_finds_the_python_libraries_the_modules_import():
    python = ours(introspect()["python"])
    assert python == ["pyroute2>=0.9,<0.10"], "the optional firewall bindings stay optional (requirements.txt comments)"


@pytest.mark.parametrize("platform, wanted", [
    ("dpkg", ["iproute2", "dnsmasq-base", "python3"]),
    ("rpm", ["iproute2", "dnsmasq", "python3"]),
])
def test_an_image_gets_the_managed_hosts_packages_and_none_of_the_test_tools(platform, wanted):
    bindep = pytest.importorskip("bindep.depends")
    system = ours(introspect()["system"])
    rules = bindep.Depends("\n".join(system) + "\n").active_rules(["platform:%s" % platform, "default"])
    assert [rule[0] for rule in rules] == wanted
