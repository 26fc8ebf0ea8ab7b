# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables state kept after a commit instead of listing the table again."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_state, nftables
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.firewall_cases import PEERS, policy, publish


def _model(state):
    return state.exists, sorted(map(str, state._items())), {k: v for k, v in state.chains.items() if v or k == nft.USER_CHAIN}


STEPS = [
    ("bridge:br-x", lambda: [policy()]),
    ("netns:a", lambda: publish("8080:80", "127.0.0.1:9090:90/udp")),
    ("netns:b", lambda: publish("7000-7002:7000-7002")),
    ("bridge:br-x", lambda: [policy(icc=False)]),
    ("vxlan:vx0", lambda: [PEERS]),
    ("netns:a", lambda: publish("8081:80")),
    ("vxlan:vx0", lambda: []),
    ("netns:b", lambda: []),
    ("netns:a", lambda: []),
    ("bridge:br-x", lambda: []),
]


def test_the_state_predicted_after_a_commit_is_what_the_table_then_lists(firewall):
    """Nftables keeps ``after(...)`` instead of listing the table again; it must be the same."""
    for owner, intents in STEPS:
        state = firewall.read()
        want = nft.render(owner, intents())
        firewall.stage(nft_state.changes(state, owner, want, state.owned_by(owner)))
        predicted = nftables.Nftables.after(state, owner, want)
        firewall.commit()
        assert _model(predicted) == _model(firewall.read()), owner
    assert not firewall.read().exists
