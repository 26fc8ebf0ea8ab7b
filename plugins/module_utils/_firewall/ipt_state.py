# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend's state: what is ours in the tables, and the commands that change one
owner's rules."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.interface import OwnedItems
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.ipt_rules import (
    _CHAIN_ITEMS,
    TAG,
    USER_CHAIN,
    _comment,
    _owner,
    is6,
    skeleton,
    text,
)
from ansible_collections.netmodes.linux.plugins.module_utils._ports import port_mapping


class State(OwnedItems):
    """What is ours in the iptables tables: chains by (table, name) -> [spec], hooks present."""

    def __init__(self, chains=None, hooks=None):
        self.chains = chains or {}     # (table, chain) -> [spec] for our chains
        self.hooks = hooks or {}       # (table, builtin) -> [our hook specs found there]

    @property
    def exists(self):
        return bool(self.chains)

    def _items(self):
        out = []
        for (table, chain), rules in self.chains.items():
            if chain.startswith(tuple(_CHAIN_ITEMS)):
                item = ("chain", table, chain, tuple(rules))
                out.append((_owner(item), item))
                continue
            for rule in rules:
                item = ("rule", table, chain, rule)
                who = _owner(item)
                if who:
                    out.append((who, item))
        return out

    def published(self):
        """[(owner, PortMapping)] of every published port (from the DNAT rules)."""
        out = []
        for table, family in (("nat", 4), ("nat6", 6)):
            for rule in self.chains.get((table, "NETMODES-DNAT"), []):
                head, matches, target = dict(rule[0]), dict(rule[1]), dict(target_params(rule))
                who = _owner(("rule", table, "NETMODES-DNAT", rule))
                proto = head.get("-p")
                if not who or proto not in matches or who.startswith("dnsview:"):  # a redirect to a resolver view: no published port
                    continue
                hport = dict(matches[proto])["dport"].replace(":", "-")
                dest = target.get("to-destination", "")
                port = dest.rpartition("]:" if family == 6 else ":")
                cport = port[2] if port[1] else hport   # [ADDR]:PORT (ADDR:PORT), or ADDR alone for a range
                ip = head["-d"].split("/")[0] if "-d" in head else None
                ip = (ip + ":" if ip else "") if family == 4 else "[%s]:" % (ip or "::")
                out.append((who, port_mapping("%s%s:%s/%s" % (ip, hport, cport, proto), "ports").for_family(family)))
        return sorted(out)

    def uses6(self, owner=None, want=()):
        """Anything of IPv6 is ours (after OWNER's change to WANT, when given): ip6tables holds our chains then."""
        if self.chains.get(("filter6", USER_CHAIN)) or any(is6(item[1]) for item in want):
            return True
        return any(is6(item[1]) for who, item in self._items() if owner is None or who != owner)

    def intact(self):
        v6 = self.uses6()
        hooks, chain_rules = skeleton(v6)
        if any(self.hooks.get(key) != [rule] for key, rule in hooks.items()):
            return False
        if any((table, USER_CHAIN) not in self.chains for table in ("filter", "filter6")[:1 + v6]):
            return False
        for key, fixed in chain_rules.items():
            if key not in self.chains or (fixed and self.chains[key][:len(fixed)] != fixed):
                return False
        return True

    def empty_after(self, owner, want):
        return not want and not (self.owners() - {owner}) and not any(self.chains.get((table, USER_CHAIN)) for table in ("filter", "filter6"))

    def replaced(self, owner, want):
        """The state a fresh read gives once ``changes(self, owner, want, …)`` is committed (the
        rules' order aside): what a second change staged for the same commit is planned on."""
        if self.empty_after(owner, want):
            return State()
        v6 = self.uses6(owner, want)
        hooks, chain_rules = skeleton(v6)
        chains = {}
        for (table, chain), rules in self.chains.items():
            if is6(table) and not v6:
                continue
            if chain.startswith(tuple(_CHAIN_ITEMS)):
                if _owner(("chain", table, chain, tuple(rules))) != owner:
                    chains[(table, chain)] = list(rules)
                continue
            chains[(table, chain)] = [r for r in rules if _owner(("rule", table, chain, r)) != owner]
        for key, fixed in chain_rules.items():
            have = chains.get(key, [])
            chains[key] = fixed + [r for r in have if r not in fixed] if fixed and have[:len(fixed)] != fixed else have
        for table in ("filter", "filter6")[:1 + v6]:
            chains.setdefault((table, USER_CHAIN), [])
        for item in sorted(want):
            if item[0] == "chain":
                chains[(item[1], item[2])] = list(item[3])
            else:
                chains.setdefault((item[1], item[2]), []).append(item[3])
        return State(chains, {key: [rule] for key, rule in hooks.items()})


def checked(state):
    """STATE when every rule in a chain of our names carries our comment (NETMODES-USER is the
    user's); a chain of our name holding another rule was made by someone else, and is refused
    so that it is never flushed or deleted."""
    for (table, chain), rules in sorted(state.chains.items()):
        theirs = [rule for rule in rules if _comment(rule) != TAG and not _comment(rule).startswith(TAG + ":")]
        if chain != USER_CHAIN and theirs:
            raise Conflict("iptables: chain %s of table %s holds a rule netmodes.linux did not write (%s); the chain is left as"
                           " it is and nothing was changed. Rename or remove that chain if it is not needed (iptables -t %s -F %s;"
                           " iptables -t %s -X %s), and re-run" % (chain, table, text(theirs[0]), table, chain, table, chain))
    return state


def target_params(rule_spec):
    return rule_spec[2][1]


def _skeleton(state, v6):
    # Chains first: a rule can only jump to a chain that exists.
    hooks, chain_rules = skeleton(v6)
    cmds = [("chain", table, USER_CHAIN) for table in ("filter", "filter6")[:1 + v6]] + [("chain", table, chain) for table, chain in chain_rules]
    for (table, chain), fixed in chain_rules.items():
        have = state.chains.get((table, chain), [])
        if fixed and have[:len(fixed)] != fixed:
            cmds += [("delete", table, chain, rule) for rule in fixed if rule in have]
            cmds += [("insert", table, chain, rule, i) for i, rule in enumerate(fixed)]
    for (table, chain), rule in hooks.items():
        found = state.hooks.get((table, chain), [])
        if found != [rule]:
            cmds += [("delete", table, chain, r) for r in found]
            cmds.append(("insert", table, chain, rule, 0))
    return cmds


def _teardown(state, only=None):
    """Commands that remove every hook and chain of ours (in the tables ONLY picks, when given)."""
    hooks = {key: rules for key, rules in state.hooks.items() if only is None or only(key[0])}
    chains = [key for key in state.chains if only is None or only(key[0])]
    cmds = [("delete", table, chain, rule) for (table, chain), rules in hooks.items() for rule in rules]
    cmds += [("flush", table, chain) for table, chain in chains]
    cmds += [("delete_chain", table, chain) for table, chain in chains]
    return cmds


def changes(state, owner, want, have):
    """Commands that turn OWNER's items HAVE into WANT, keeping the skeleton intact; when nothing
    of anybody's is left, every chain and hook of ours goes."""
    if state.empty_after(owner, want):
        return _teardown(state)
    v6 = state.uses6(owner, want)
    cmds = _skeleton(state, v6)
    cmds += [("delete",) + item[1:] for item in sorted(have - want) if item[0] == "rule"]
    wanted_chains = {item[1:3] for item in want if item[0] == "chain"}
    for _kind, table, chain, rules in sorted(want - have):
        if _kind == "chain":
            cmds += [("chain", table, chain), ("flush", table, chain)]
            cmds += [("append", table, chain, rule) for rule in rules]
    cmds += [("append",) + item[1:] for item in sorted(want - have) if item[0] == "rule"]
    for _kind, table, chain, _rules in sorted(have - want):
        if _kind == "chain" and (table, chain) not in wanted_chains:
            cmds += [("flush", table, chain), ("delete_chain", table, chain)]
    if v6:
        return cmds
    # Nothing of IPv6 is left: ip6tables goes back to what it was before us.
    return [cmd for cmd in cmds if not is6(cmd[1])] + _teardown(state, is6)
