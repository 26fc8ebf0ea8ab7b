# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backend ``auto`` means on a host."""

from __future__ import annotations

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
