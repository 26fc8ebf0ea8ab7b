# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interface every firewall backend offers, and all a planner uses of one.

Items are whatever a backend compares (nftables elements and chains, iptables rules); a planner
only compares sets of them, so both backends share one planning path (``planning.plan``).
``tests/unit/plugins/module_utils/_firewall/test_interface.py`` holds the nftables and iptables
backends, their states and the unit tests' fakes to these protocols.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ansible_collections.netmodes.linux.plugins.module_utils._ports import Held


@runtime_checkable
class FirewallState(Protocol):
    """What is ours in the firewall, as one ``Backend.read`` found it."""

    exists: bool

    def owned_by(self, owner):
        """The set of OWNER's items."""

    def owners(self):
        """Every owner that has items."""

    def published(self):
        """[(owner, PortMapping)] of every owner's published ports."""

    def held(self):
        """The published ports as a ``_ports.Held``: which owner's a mapping overlaps."""

    def intact(self):
        """The fixed skeleton is there and unmodified."""

    def empty_after(self, owner, want):
        """True when, after OWNER's change to WANT, nothing of anybody's would be left."""

    def replaced(self, owner, want):
        """The state a fresh read gives once OWNER's change to WANT is committed."""


@runtime_checkable
class Backend(Protocol):
    """A firewall backend: renders intents into items, plans commands, stages and commits them."""

    name: str

    def read(self):
        """The FirewallState of what is ours now (kept until the next commit)."""

    def render(self, owner, intents):
        """The set of items INTENTS (``intents.Publish``, ``BridgePolicy``, ``VxlanPeers``, ``Guard``) are for OWNER."""

    def changes(self, state, owner, want, have):
        """The commands that make OWNER's items HAVE into WANT in STATE, keeping the skeleton intact."""

    def after(self, state, owner, want):
        """The FirewallState once OWNER's change to WANT is committed."""

    def stage(self, commands, after=None):
        """Queue COMMANDS for the next commit; AFTER is the state they lead to, when known."""

    def commit(self):
        """Apply every staged command: per transaction, all of them or none."""

    def foreign_chains(self):
        """Other programs' base chains on the hooks our traffic passes (``foreign.BaseChain``,
        ``foreign.Unreadable``), for ``foreign.blocked``."""


class OwnedItems:
    """What both backends' states share: items by owner, from ``_items()`` -> [(owner, item)].

    A state is a value once made (a read, or ``replaced``): its items are grouped by owner once,
    on the first question, as a batch asks every sandbox's on a table holding every sandbox's.
    """

    _owned = None
    _held = None

    def _items(self):
        raise NotImplementedError

    def held(self):
        """Every owner's published ports (``published``), indexed to find which one a mapping overlaps."""
        if self._held is None:
            self._held = Held(self.published())
        return self._held

    def _by_owner(self):
        if self._owned is None:
            self._owned = {}
            for who, item in self._items():
                self._owned.setdefault(who, set()).add(item)
        return self._owned

    def owned_by(self, owner):
        """The set of OWNER's items."""
        return set(self._by_owner().get(owner, ()))

    def owners(self):
        return set(self._by_owner())
