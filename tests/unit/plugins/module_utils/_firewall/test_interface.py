# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every backend, its state and the unit tests' fakes keep to the interface a planner uses."""

from __future__ import annotations

import inspect

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_state, iptables, nft_state, nftables
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.interface import Backend, FirewallState


def members(protocol):
    """{name: parameters after self} of PROTOCOL's methods."""
    return {name: list(inspect.signature(func).parameters.values())[1:]
            for name, func in vars(protocol).items() if inspect.isfunction(func) and not name.startswith("_")}


def keeps_to(obj, protocol):
    """What OBJ lacks or spells differently of PROTOCOL: a list of words, empty when it keeps to it."""
    wrong = [name for name in getattr(protocol, "__annotations__", {}) if not hasattr(obj, name)]
    for name, params in members(protocol).items():
        method = getattr(obj, name, None)
        if not callable(method):
            wrong.append("%s is missing" % name)
            continue
        have = list(inspect.signature(method).parameters.values())
        if [(p.name, p.kind, p.default) for p in have] != [(p.name, p.kind, p.default) for p in params]:
            wrong.append("%s%s is not %s%s" % (name, inspect.signature(method), name, params))
    return wrong


@pytest.mark.parametrize("backend", [nftables.Nftables(), iptables.Iptables()], ids=["nftables", "iptables"])
def test_each_backend_keeps_to_the_protocol(backend):
    assert keeps_to(backend, Backend) == []
    assert isinstance(backend, Backend)
    assert backend.name in _firewall.BACKENDS


def test_the_unit_tests_fakes_keep_to_the_protocol(each_firewall):
    assert keeps_to(each_firewall, Backend) == []
    assert isinstance(each_firewall, Backend)
    assert isinstance(each_firewall.read(), FirewallState)


@pytest.mark.parametrize("state", [nft_state.TableState(None), ipt_state.State()], ids=["nftables", "iptables"])
def test_each_state_keeps_to_the_protocol(state):
    assert keeps_to(state, FirewallState) == []
    assert isinstance(state, FirewallState)


def test_the_protocol_check_finds_what_is_missing_or_spelt_differently():
    class Partial:
        name = "partial"

        def read(self):
            return None

        def render(self, intents, owner):
            return set()

    wrong = keeps_to(Partial(), Backend)
    assert "commit is missing" in wrong and any(w.startswith("render(intents, owner)") for w in wrong)
    assert not isinstance(Partial(), Backend)


@pytest.mark.parametrize("choice, adapter", [("nftables", nftables.Nftables), ("iptables", iptables.Iptables)])
def test_backend_gives_the_adapter_chosen(choice, adapter):
    assert isinstance(_firewall.backend(choice), adapter)
