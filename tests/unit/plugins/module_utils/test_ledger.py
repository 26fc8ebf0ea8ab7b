# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sysctl ledger's arithmetic: the value before is recorded by the first claim and given back
by the last release."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._ledger import claimed, released

ETH0 = "net/ipv4/conf/eth0/forwarding"


def test_the_first_claim_records_the_value_before_and_the_last_release_gives_it_back():
    ledger = claimed({}, ETH0, "bridge:br0", "0")
    ledger = claimed(ledger, ETH0, "netns:web", "1")  # the value now is ours: the one before stays
    assert ledger == {ETH0: {"before": "0", "users": ["bridge:br0", "netns:web"]}}
    ledger, restore = released(ledger, ETH0, "bridge:br0")
    assert (ledger, restore) == ({ETH0: {"before": "0", "users": ["netns:web"]}}, None), "another user still needs it"
    assert released(ledger, ETH0, "netns:web") == ({}, "0")
