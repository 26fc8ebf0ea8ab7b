# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`ansible-galaxy collection build` gives a clean tarball: the collection, not the workshop."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import REPO


def test_build_is_clean(tmp_path):
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    subprocess.run([str(galaxy), "collection", "build", "--output-path", str(tmp_path)], cwd=REPO, check=True, capture_output=True)
    (tarball,) = tmp_path.glob("netmodes-linux-*.tar.gz")
    names = tarfile.open(tarball).getnames()
    for must in ("MANIFEST.json", "README.md", "meta/runtime.yml", "requirements.txt",
                 "plugins/modules/netns.py", "plugins/modules/bridge.py", "plugins/modules/veth.py",
                 "plugins/modules/dns_config.py", "plugins/modules/net_info.py", "plugins/modules/vxlan.py",
                 "plugins/modules/macvlan.py", "plugins/filter/fleet.py"):
        assert must in names
    dirt = [n for n in names if n.split("/")[0] in {".venv", ".tmp", ".git", ".ci", "ansible_collections", "hack", "bench"}
            or "__pycache__" in n or n.endswith(".pyc") or n.startswith("tests/output")]
    assert dirt == []


@pytest.mark.parametrize("module", ["netns", "bridge", "veth", "portmap", "dns_config", "net_info", "networks", "sandboxes",
                                    "vxlan", "macvlan"])
def test_ansible_doc_renders(module):
    doc = Path(sys.executable).parent / "ansible-doc"
    proc = subprocess.run([str(doc), "netmodes.linux." + module], cwd=REPO, check=True, capture_output=True, text=True)
    assert "netmodes.linux.%s" % module in proc.stdout
    assert "EXAMPLES" in proc.stdout and "RETURN VALUES" in proc.stdout
    assert "check_mode" in proc.stdout


def test_the_fleet_filter_is_documented():
    doc = Path(sys.executable).parent / "ansible-doc"
    proc = subprocess.run([str(doc), "-t", "filter", "netmodes.linux.fleet"], cwd=REPO, check=True, capture_output=True, text=True)
    assert "netmodes.linux.fleet" in proc.stdout and "underlay" in proc.stdout
