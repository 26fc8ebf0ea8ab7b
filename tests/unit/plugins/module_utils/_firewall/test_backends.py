# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backend ``auto`` means on a host."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall


@pytest.mark.parametrize("name", ["nftables", "iptables"])
def test_auto_picks_iptables_only_on_legacy_hosts(name):
    class Proc:
        stdout = "iptables v1.8.9 (legacy)" if name == "iptables" else "iptables v1.8.9 (nf_tables)"
        stderr = ""

    assert _firewall.detect(run=lambda *a, **k: Proc(), which=lambda c: "/usr/sbin/" + c) == name
    assert _firewall.detect(run=lambda *a, **k: Proc(), which=lambda c: "/usr/sbin/" + c if c == "iptables" else None,
                            nft_binding=False) == "iptables", "no nftables at all"


def test_a_run_on_an_nftables_host_never_loads_the_iptables_backend():
    probe = ("import sys\n"
             "from ansible_collections.netmodes.linux.plugins.modules import sandboxes, portmap\n"
             "from ansible_collections.netmodes.linux.plugins.module_utils import _firewall\n"
             "assert _firewall.backend('nftables').name == 'nftables'\n"
             "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.endswith(('.iptables', '.ipt_state', '.ip6t'))))\n"
             "assert _firewall.backend('iptables').name == 'iptables'\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)))  # as the tests import the collection
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
