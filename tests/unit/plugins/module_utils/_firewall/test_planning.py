# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planning path both backends share: a bridge's rules recognised as a policy, and two
changes planned for one commit."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import iptables, nftables
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.firewall_cases import GUARD, SUBNET, policy, publish


@pytest.mark.parametrize("backend", [nft, ipt], ids=["nftables", "iptables"])
@pytest.mark.parametrize("options", [{}, {"icc": False}, {"internal": True}, {"masquerade": False, "icc": False}])
def test_a_bridges_rules_are_recognised_as_the_policy_they_were_written_for(backend, options):
    have = backend.render("bridge:br-x", [policy(**options)])
    assert _firewall.recognise(backend, "br-x", SUBNET, have) == policy(**options).describe()
    assert _firewall.recognise(backend, "br-x", SUBNET, set()) is None, "no rules, no policy"
    other = (ipaddress.ip_network("172.19.0.0/16"),)
    if not options:  # masquerade rules name the subnets
        assert _firewall.recognise(backend, "br-x", other, have) == _firewall.UNRECOGNISED


# Each step: one owner's change, and the guard's planned on the state it leaves, in one commit.
GUARDED_STEPS = [
    (("bridge:br-x", [policy()]), (_firewall.GUARD_OWNER, [GUARD])),
    (("netns:a", publish("8080:80")), (_firewall.GUARD_OWNER, [_firewall.Guard(("eth0",))])),
    (("bridge:br-x", []), (_firewall.GUARD_OWNER, [_firewall.Guard(("eth0",))])),
    (("netns:a", []), (_firewall.GUARD_OWNER, [])),
]


def test_a_second_change_planned_on_the_predicted_state_commits_with_the_first(each_firewall):
    """A resource stages its own change and the guard's in one commit, the guard's planned on
    ``after`` (the state the first leaves): both must apply, and the table go with the last item."""
    firewall, backend = each_firewall, nftables.Nftables if each_firewall.name == "nftables" else iptables.Iptables
    for changes in GUARDED_STEPS:
        state = predicted = firewall.read()
        for owner, intents in changes:
            want = backend.render(owner, intents)
            firewall.stage(backend.changes(predicted, owner, want, predicted.owned_by(owner)))
            predicted = firewall.after(predicted, owner, want)
        firewall.commit()
        listed = firewall.read()
        assert sorted(map(str, predicted._items())) == sorted(map(str, listed._items())), changes
        assert listed.intact() or not state.exists or not listed.exists
    assert not firewall.read().exists, "the table went with its last item"
