# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend: every nftables rule the collection writes is made here.

Everything lives in one table of our own, ``inet netmodes``; nothing outside it is read for
writing or touched. Published ports are elements of maps, so a packet costs the same few lookups
whether one port or a thousand are published::

    table inet netmodes {
      map addr4 / port4   host address . protocol . host port  -> sandbox address / sandbox port
      map range4          host address . protocol . port range -> sandbox address (port kept)
      set hairpin4        bridge subnet . sandbox address . protocol . port   (masquerade hairpin)
      set loopback4       127.x address . protocol . port      (drop remote access, moby#41872)
      chain published     the two DNAT rules, looked up through the maps
      chain nat-prerouting / nat-output  (fib daddr type local -> published)
      chain nat-postrouting              (masquerade host-loopback and hairpin connections)
      chain raw-prerouting               (the loopback guard)
      chain filter-forward               (jump user)
      chain user                         (the user's own rules; created, never flushed)
    }

Each element carries its owner (the sandbox) as its comment: that is how a run finds its own
elements, another sandbox's conflicting ones, and nothing else. All changes of one module run
are staged and sent as one JSON transaction (``commit``), so they apply atomically or not at all.

Reads and writes go through libnftables' JSON API (the ``nftables`` Python binding, from Debian's
python3-nftables or PyPI's pip-nftables) and fall back to ``nft -j`` when the binding is absent.
"""

from __future__ import annotations

import json
import subprocess

from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError

try:
    import nftables as _nftables_binding
except ImportError:  # the `nft -j` fallback is used
    _nftables_binding = None

FAMILY = "inet"
TABLE = "netmodes"
USER_CHAIN = "user"


def _payload(protocol, field):
    return {"payload": {"protocol": protocol, "field": field}}


def _meta(key):
    return {"meta": {"key": key}}


def _match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


# The lookup key of a published port: the packet's destination address, protocol and port.
_PORT_KEY = {"concat": [_payload("ip", "daddr"), _meta("l4proto"), _payload("th", "dport")]}
_L4 = _match(_meta("l4proto"), {"set": ["tcp", "udp", "sctp"]})

# name -> (key types, data type or None for a set)
ELEMENT_SETS = {
    "addr4": (["ipv4_addr", "inet_proto", "inet_service"], "ipv4_addr"),
    "port4": (["ipv4_addr", "inet_proto", "inet_service"], "inet_service"),
    "range4": (["ipv4_addr", "inet_proto", "inet_service"], "ipv4_addr"),
    "hairpin4": (["ipv4_addr", "ipv4_addr", "inet_proto", "inet_service"], None),
    "loopback4": (["ipv4_addr", "inet_proto", "inet_service"], None),
}

# name -> (type, hook, priority) for base chains; None for regular chains.
CHAINS = {
    "published": None,
    "nat-prerouting": ("nat", "prerouting", -100),
    "nat-output": ("nat", "output", -100),
    "nat-postrouting": ("nat", "postrouting", 100),
    "raw-prerouting": ("filter", "prerouting", -300),
    "filter-forward": ("filter", "forward", 0),
}

# The fixed rules of each chain, in the form `nft -j list` prints them (so they compare exactly).
CHAIN_RULES = {
    "published": [
        [_L4, {"dnat": {"family": "ip", "addr": {"map": {"key": _PORT_KEY, "data": "@addr4"}},
                        "port": {"map": {"key": _PORT_KEY, "data": "@port4"}}}}],
        [_L4, {"dnat": {"family": "ip", "addr": {"map": {"key": _PORT_KEY, "data": "@range4"}}}}],
    ],
    "nat-prerouting": [[_match({"fib": {"result": "type", "flags": ["daddr"]}}, "local"), {"jump": {"target": "published"}}]],
    "nat-output": [[_match({"fib": {"result": "type", "flags": ["daddr"]}}, "local"), {"jump": {"target": "published"}}]],
    "nat-postrouting": [
        # The host reaching a sandbox through 127.0.0.1 (route_localnet lets it leave lo).
        [_match({"ct": {"key": "status"}}, "dnat", "in"), _match(_payload("ip", "saddr"), {"prefix": {"addr": "127.0.0.0", "len": 8}}),
         {"masquerade": None}],
        # Hairpin: a sandbox reaching a published port of its own bridge through a host address.
        [_match({"ct": {"key": "status"}}, "dnat", "in"),
         _match({"concat": [_payload("ip", "saddr"), _payload("ip", "daddr"), _meta("l4proto"), _payload("th", "dport")]}, "@hairpin4"),
         {"masquerade": None}],
    ],
    "raw-prerouting": [[_match(_meta("iifname"), "lo", "!="), _match(_PORT_KEY, "@loopback4"), {"drop": None}]],
    "filter-forward": [[{"jump": {"target": USER_CHAIN}}]],
}


# -- elements: (set name, key, value) with plain-text parts ---------------------------------

def _key_part(text):
    """A key part as JSON: '0.0.0.0/0' -> prefix, '5000-5010' -> range, '80' -> 80, else text."""
    if "/" in text:
        addr, length = text.split("/")
        return {"prefix": {"addr": addr, "len": int(length)}}
    if text.isdigit():
        return int(text)
    first, sep, last = text.partition("-")
    if sep and first.isdigit() and last.isdigit():
        return {"range": [int(first), int(last)]}
    return text


def _key_text(part):
    if isinstance(part, dict) and "prefix" in part:
        return "%s/%d" % (part["prefix"]["addr"], part["prefix"]["len"])
    if isinstance(part, dict) and "range" in part:
        return "%d-%d" % tuple(part["range"])
    return str(part)


def element_json(key, value, comment):
    """One element as nft JSON: KEY is a tuple of text parts, VALUE text (maps) or None (sets)."""
    val = {"elem": {"val": {"concat": [_key_part(p) for p in key]}, "comment": comment}}
    if value is None:
        return val
    return [val, _key_part(value)]


def _parse_element(raw):
    """(key tuple, value text or None, comment) from a listed element."""
    value = None
    if isinstance(raw, list):
        raw, value = raw
        value = _key_text(value)
    comment = ""
    if isinstance(raw, dict) and "elem" in raw:
        comment = raw["elem"].get("comment", "")
        raw = raw["elem"]["val"]
    parts = raw["concat"] if isinstance(raw, dict) and "concat" in raw else [raw]
    return tuple(_key_text(p) for p in parts), value, comment


class TableState:
    """What our table holds: elements by set, rules by chain, and whether it exists."""

    def __init__(self, listing=None):
        self.exists = listing is not None
        self.elements = {name: [] for name in ELEMENT_SETS}   # name -> [(key, value, owner)]
        self.chains = {}                                       # name -> [expr, ...]
        for item in (listing or {}).get("nftables", []):
            for kind in ("map", "set"):
                if kind in item and item[kind]["name"] in self.elements:
                    self.elements[item[kind]["name"]] = [_parse_element(e) for e in item[kind].get("elem", [])]
            if "chain" in item:
                self.chains.setdefault(item["chain"]["name"], [])
            if "rule" in item:
                self.chains.setdefault(item["rule"]["chain"], []).append(item["rule"]["expr"])

    def owned_by(self, owner):
        """{(set, key, value)} of OWNER."""
        return {(name, key, value) for name, items in self.elements.items() for key, value, who in items if who == owner}

    def others(self, owner):
        """[(set, key, value, owner)] of every other owner."""
        return [(name, key, value, who) for name, items in self.elements.items() for key, value, who in items if who != owner]

    def skeleton_intact(self):
        return (self.exists and USER_CHAIN in self.chains
                and all(self.chains.get(name) == rules for name, rules in CHAIN_RULES.items()))


def _obj(kind, **fields):
    return {kind: dict({"family": FAMILY, "table": TABLE}, **fields)}


def skeleton_commands(state):
    """Commands that create the table, its sets and chains, and (re)write the fixed rules."""
    cmds = [{"add": {"table": {"family": FAMILY, "name": TABLE}}}]
    for name, (key, data) in ELEMENT_SETS.items():
        fields = {"name": name, "type": key, "flags": ["interval"]}
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


def element_commands(owner, add, remove):
    """Commands that delete REMOVE and add ADD, both sets of (set name, key, value)."""
    cmds = []
    for verb, items in (("delete", remove), ("add", add)):
        by_set = {}
        for name, key, value in sorted(items, key=str):
            if verb == "delete":
                by_set.setdefault(name, []).append({"concat": [_key_part(p) for p in key]})
            else:
                by_set.setdefault(name, []).append(element_json(key, value, owner))
        cmds += [{verb: _obj("element", name=name, elem=elems)} for name, elems in sorted(by_set.items())]
    return cmds


def is_empty_after(state, owner, add):
    """True when, after OWNER's change, the table would hold nothing of anybody's."""
    return not add and not state.others(owner) and not any(state.chains.get(USER_CHAIN) or [])


class Nftables:
    """The nftables adapter: read our table, stage commands, commit them as one transaction."""

    def __init__(self):
        self._staged = []
        self._nft = None  # the libnftables context, made on first use: most modules never need it

    def _run(self, payload):
        """Run one JSON command list (one transaction); the parsed JSON output."""
        if self._nft is None and _nftables_binding is not None:
            self._nft = _nftables_binding.Nftables()
            self._nft.set_json_output(True)
            self._nft.set_handle_output(False)
        if self._nft is not None:
            rc, out, err = self._nft.json_cmd(payload)
        else:
            proc = subprocess.run(["nft", "-j", "-f", "-"], input=json.dumps(payload), capture_output=True, text=True, check=False)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
            out = json.loads(out) if out.strip() else {}
        if rc != 0:
            return None, (err or "").strip() or "nft exited with %d" % rc
        return out, None

    def read(self):
        """The state of table inet netmodes (empty when it does not exist)."""
        out, err = self._run({"nftables": [{"list": {"table": {"family": FAMILY, "name": TABLE}}}]})
        if err is not None:
            if "No such file or directory" in err:
                return TableState(None)
            raise KernelError("nftables: cannot list table %s %s: %s" % (FAMILY, TABLE, err))
        return TableState(out)

    def stage(self, commands):
        """Queue commands for the transaction that ``commit`` sends."""
        self._staged += commands

    def commit(self):
        """Send every staged command as one transaction: all of them apply, or none."""
        if not self._staged:
            return
        staged, self._staged = self._staged, []
        _out, err = self._run({"nftables": staged})
        if err is not None:
            raise KernelError("nftables: the transaction was refused and nothing changed: %s" % err)
