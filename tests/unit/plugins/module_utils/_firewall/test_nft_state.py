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


def _listing(*tables):
    """A ruleset listing as libnftables prints it: metainfo, then each (family, table, chain, element) given."""
    items = [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]
    for family, table, chain, element in tables:
        items.append({"table": {"family": family, "name": table, "handle": 1}})
        items.append({"chain": {"family": family, "table": table, "name": chain, "handle": 2}})
        items.append({"rule": {"family": family, "table": table, "chain": chain, "handle": 3, "expr": [{"accept": None}]}})
        items.append({"set": {"family": family, "table": table, "name": nft.MARK_SET, "type": "string", "handle": 4,
                              "elem": [element]}})
    return {"nftables": items}


def test_our_table_and_others_chains_come_from_one_listing_of_the_ruleset(monkeypatch):
    """One dump of the ruleset per run (until a commit) serves the table's state and the foreign
    chains; a table of our name in another family, or another table's chain of one of our chains'
    names, is not ours."""
    listing = _listing(("ip", "netmodes", "published", "netmodes.linux"), ("inet", "other", "published", "x"),
                       ("inet", "netmodes", "user", "netmodes.linux"))
    calls = []

    def run(payload):
        calls.append(payload)
        return (listing, None) if payload == {"nftables": [{"list": {"ruleset": None}}]} else ({}, None)

    fw = nftables.Nftables()
    monkeypatch.setattr(fw, "_run", run)
    state = fw.read()
    assert state.exists and state.marked
    assert state.chains == {"user": [[{"accept": None}]]}
    assert fw.ruleset() is listing
    assert len(calls) == 1
    fw.stage([{"add": {"table": {"family": "inet", "name": "netmodes"}}}])
    fw.commit()
    fw.read()
    assert len(calls) == 3  # the commit, then the ruleset listed again


def test_without_our_table_the_state_is_empty_whatever_else_is_listed(monkeypatch):
    fw = nftables.Nftables()
    monkeypatch.setattr(fw, "_run", lambda payload: (_listing(("inet", "firewalld", "filter_INPUT", "x")), None))
    assert not fw.read().exists
