# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend's state: what our table holds, read from its listing, and the commands
that change one owner's items in it."""

from __future__ import annotations

import json

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.interface import OwnedItems
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.nft_rules import (
    _MARK_NOTE,
    CHAIN_RULES,
    CHAINS,
    ELEMENT_SETS,
    FAMILY,
    INTERVAL,
    MARK,
    MARK_SET,
    TABLE,
    USER_CHAIN,
    _canonical,
    _chain_fields,
    _key_json,
    _parse_element,
    chain_owner,
    element_json,
)
from ansible_collections.netmodes.linux.plugins.module_utils._ports import port_mapping


class TableState(OwnedItems):
    """What our table holds: elements by set, rules by chain, and whether it exists."""

    def __init__(self, listing=None):
        self.exists = listing is not None
        self.marked = False  # our mark is in it (see ``checked``)
        self._published = self._intact = None
        self.elements = {name: [] for name in ELEMENT_SETS}   # name -> [(key, value, owner)]
        self.chains = {}                                       # name -> [expr, ...]
        for item in (listing or {}).get("nftables", []):
            for kind in ("map", "set"):
                if kind in item and item[kind]["name"] in self.elements:
                    self.elements[item[kind]["name"]] = [_parse_element(e) for e in item[kind].get("elem", [])]
                if kind in item and item[kind]["name"] == MARK_SET:
                    self.marked = any(_parse_element(e)[0] == (MARK,) for e in item[kind].get("elem", []))
            if "chain" in item:
                self.chains.setdefault(item["chain"]["name"], [])
            if "rule" in item:
                self.chains.setdefault(item["rule"]["chain"], []).append(item["rule"]["expr"])

    def _items(self):
        """[(owner, item)] of everything owned in the table."""
        out = [(who, ("elem", name, key, value)) for name, items in self.elements.items() for key, value, who in items]
        out += [(chain_owner(name), ("chain", name, _canonical(rules))) for name, rules in self.chains.items() if chain_owner(name)]
        return out

    def published(self):
        """[(owner, PortMapping)] of every published port in the table."""
        if self._published is None:
            self._published = self._read_published()
        return self._published

    def _read_published(self, owner=None):
        """As ``published``, of every owner or only OWNER."""
        out = []
        for v, every in (("4", ""), ("6", "[::]:")):
            ports = {(who, key): value for name in ("port" + v, "any-port" + v) for key, value, who in self.elements[name]}
            for name in ("addr" + v, "any-addr" + v, "range" + v):
                for key, _value, who in self.elements[name]:
                    if owner is not None and who != owner:
                        continue
                    host, proto, hport = key if len(key) == 3 else (None,) + key
                    ip = every if host in (None, "0.0.0.0/0", "::/0") else (host + ":" if v == "4" else "[%s]:" % host)
                    cport = hport if name == "range" + v else ports.get((who, key), hport)
                    out.append((who, port_mapping("%s%s:%s/%s" % (ip, hport, cport, proto), "ports").for_family(int(v))))
        return sorted(out)

    def intact(self):
        """Our fixed sets, chains and rules are all there, as we wrote them (a state is a value:
        asked once, as a batch asks it for each of its sandboxes)."""
        if self._intact is None:
            self._intact = bool(self.exists and self.marked and USER_CHAIN in self.chains
                                and all(self.chains.get(name) == rules for name, rules in CHAIN_RULES.items()))
        return self._intact

    def replaced(self, owner, want):
        """The state a fresh read gives once ``changes(self, owner, want, …)`` is committed: a
        batch of hundreds of sandboxes need not list the whole table after each of them."""
        if self.empty_after(owner, want):
            return TableState(None)
        out = TableState({"nftables": []})
        out.marked = True
        out.elements = {name: [e for e in items if e[2] != owner] for name, items in self.elements.items()}
        out.chains = {name: rules for name, rules in self.chains.items() if chain_owner(name) != owner}
        out.chains.update({name: list(rules) for name, rules in CHAIN_RULES.items()})
        out.chains.setdefault(USER_CHAIN, [])
        for item in want:
            if item[0] == "chain":
                out.chains[item[1]] = [json.loads(rule) for rule in item[2]]
            else:
                out.elements[item[1]].append((item[2], item[3], owner))
        if self._published is not None:  # the others' ports as read, OWNER's from WANT: one sandbox's parse, not the table's
            out._published = sorted([p for p in self._published if p[0] != owner] + out._read_published(owner))
        return out

    def empty_after(self, owner, want):
        """True when, after OWNER's change to WANT, the table would hold nothing of anybody's."""
        return not want and not (self.owners() - {owner}) and not any(self.chains.get(USER_CHAIN) or [])


def checked(state):
    """STATE when the table is ours or absent. A table of our name without our mark was made by
    someone else: refused, so that it is never changed, flushed or deleted."""
    if state.exists and not state.marked:
        raise Conflict("nftables: a table inet %s exists that netmodes.linux did not make (it lacks the set %s holding %s,"
                       " the mark of ours); it is left as it is and nothing was changed. Rename or remove that table if it"
                       " is not needed (nft delete table inet %s), and re-run" % (TABLE, MARK_SET, MARK, TABLE))
    return state


def _obj(kind, **fields):
    return {kind: dict({"family": FAMILY, "table": TABLE}, **fields)}


def skeleton_commands(state):
    """Commands that create the table, its sets and chains, and (re)write the fixed rules."""
    cmds = [{"add": {"table": {"family": FAMILY, "name": TABLE}}}, {"add": _obj("set", name=MARK_SET, type="ifname")},
            {"add": _obj("element", name=MARK_SET, elem=[{"elem": {"val": MARK, "comment": _MARK_NOTE}}])}]
    for name, (key, data) in ELEMENT_SETS.items():
        fields = {"name": name, "type": key}
        if name in INTERVAL:
            fields["flags"] = ["interval"]
        if data is None:
            cmds.append({"add": _obj("set", **fields)})
        else:
            cmds.append({"add": _obj("map", map=data, **fields)})
    cmds.append({"add": _obj("chain", name=USER_CHAIN)})
    for name, hook in CHAINS.items():
        fields = {"name": name}
        if hook:
            fields.update(type=hook[0], hook=hook[1], prio=hook[2], policy="accept")
        cmds.append({"add": _obj("chain", **fields)})
        if state.chains.get(name) != CHAIN_RULES[name]:
            cmds.append({"flush": _obj("chain", name=name)})
            cmds += [{"add": _obj("rule", chain=name, expr=expr)} for expr in CHAIN_RULES[name]]
    return cmds


def _element_commands(verb, owner, items):
    by_set = {}
    for _kind, name, key, value in sorted(items, key=str):
        by_set.setdefault(name, []).append(_key_json(name, key) if verb == "delete" else element_json(name, key, value, owner))
    return [{verb: _obj("element", name=name, elem=elems)} for name, elems in sorted(by_set.items())]


def changes(state, owner, want, have):
    """Commands that turn OWNER's items HAVE into WANT, keeping the skeleton intact.

    Order inside the transaction: elements that point at a chain go before the chain does, and
    come after it is made. When nothing of anybody's is left, the whole table goes.
    """
    if state.empty_after(owner, want):
        return [{"delete": {"table": {"family": FAMILY, "name": TABLE}}}]
    elems = {i for i in want - have if i[0] == "elem"}, {i for i in have - want if i[0] == "elem"}
    chains_add = sorted(i for i in want - have if i[0] == "chain")
    wanted_chains = {i[1] for i in want if i[0] == "chain"}
    chains_del = sorted(i[1] for i in have - want if i[0] == "chain" and i[1] not in wanted_chains)
    cmds = skeleton_commands(state) + _element_commands("delete", owner, elems[1])
    for _kind, name, rules in chains_add:
        cmds += [{"add": _obj("chain", **_chain_fields(name))}, {"flush": _obj("chain", name=name)}]
        cmds += [{"add": _obj("rule", chain=name, expr=json.loads(rule))} for rule in rules]
    cmds += _element_commands("add", owner, elems[0])
    for name in chains_del:
        cmds += [{"flush": _obj("chain", name=name)}, {"delete": _obj("chain", name=name)}]
    return cmds
