# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend: every nftables rule the collection writes is made here.

Everything lives in one table of our own, ``inet netmodes``; nothing outside it is read for
writing or touched. Published ports are elements of maps and sets, and bridges are reached
through verdict maps, so a packet costs the same few lookups whether one port or a thousand
are published, on one bridge or twenty (Docker's nftables layout, with maps for the ports)::

    table inet netmodes {
      map addr4 / port4          host address . protocol . host port -> sandbox address / port
      map any-addr4 / any-port4  protocol . host port (every local address) -> the same
      map range4                 host address/prefix . protocol . port range -> sandbox address
      set made-by                    holds "netmodes.linux": the mark that the table is ours
      set exposed4, exposed-range4   sandbox address . protocol . port(s): published, let in
      set loopback4, loopback-range4 127.x address . protocol . port(s): drop remote access (moby#41872)
      map isolate / fwd-in / fwd-out / nat-out   bridge name -> jump to that bridge's chain
      set bridges                     our bridges: nothing arriving there reaches 127.0.0.0/8
      set uplinks, localnet           interfaces whose forwarding / route_localnet we switched on
      chain published     the two DNAT rules, looked up through the maps
      chain nat-prerouting / nat-output  (fib daddr type local -> published)
      chain nat-postrouting              (masquerade host-loopback; iifname and oifname vmap @nat-out)
      chain raw-prerouting               (the loopback guards: @bridges, @localnet, loopback4)
      chain filter-forward               (jump user; iifname vmap @isolate; oifname vmap @fwd-in;
                                          iifname vmap @fwd-out; iifname @uplinks jump closed)
      chain closed                       (what may cross an uplink we switched on: published ports)
      chain user                         (the user's own rules; created, never flushed)
      chain isolate-BR / fwd-in-BR / fwd-out-BR / nat-out-BR   one set per bridge: its network policy
      chain vxlan-DEV                    (a VXLAN device's filter, hook prerouting priority raw: VXLAN
                                          to its port with its VNI from its peers only)
    }

Each element carries its owner (``netns:web``, ``bridge:br0``, ``sysctl:ledger``) as its comment, and a bridge's
(a VXLAN device's) chains carry its name: that is how a run finds its own items, another owner's
conflicting ones, and nothing else. The table itself is ours by its mark, the set ``made-by``
holding the element ``netmodes.linux`` (nftables 1.0.6 neither reads nor prints a table's or a
set's comment in JSON): a table of our name without it is someone else's, refused and never
changed or deleted. All changes of one module run are staged and sent as one JSON transaction
(``commit``), so they apply atomically or not at all.

Reads and writes go through libnftables' JSON API (the ``nftables`` Python binding, from Debian's
python3-nftables or PyPI's pip-nftables) and fall back to ``nft -j`` when the binding is absent.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, KernelError
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import (
    HOOKS,
    BaseChain,
    Guard,
    OwnedItems,
    Rule,
    VxlanPeers,
    bridge_owner,
    read_foreign,
    vxlan_owner,
)

try:
    import nftables as _nftables_binding
except ImportError:  # the `nft -j` fallback is used
    _nftables_binding = None

HAS_BINDING = _nftables_binding is not None

FAMILY = "inet"
TABLE = "netmodes"
USER_CHAIN = "user"
MARK_SET, MARK = "made-by", "netmodes.linux"
_MARK_NOTE = "table inet netmodes is made and removed by netmodes.linux"


def _payload(protocol, field):
    return {"payload": {"protocol": protocol, "field": field}}


def _meta(key):
    return {"meta": {"key": key}}


def _match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


# The lookup key of a published port: the packet's destination address, protocol and port (or,
# for ports published on every local address, protocol and port alone).
_PORT_KEY = {"concat": [_payload("ip", "daddr"), _meta("l4proto"), _payload("th", "dport")]}
_ANY_KEY = {"concat": [_meta("l4proto"), _payload("th", "dport")]}
_L4 = _match(_meta("l4proto"), {"set": ["tcp", "udp", "sctp"]})
_DNATED = _match({"ct": {"key": "status"}}, "dnat", "in")
_ESTABLISHED = [_match({"ct": {"key": "state"}}, ["established", "related"], "in"), {"accept": None}]
_LOCAL = _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local")
_LOOPBACK = _match(_payload("ip", "daddr"), {"prefix": {"addr": "127.0.0.0", "len": 8}})
# The reply of a published port: from the sandbox's address and port.
_REPLY_KEY = {"concat": [_payload("ip", "saddr"), _meta("l4proto"), _payload("th", "sport")]}

# name -> (key types, data type or None for a set). Single ports are exact keys, which nftables
# keeps in hash tables (one lookup whatever their number); ranges and prefixes need interval sets.
_KEY = ["ipv4_addr", "inet_proto", "inet_service"]
ELEMENT_SETS = {
    "addr4": (_KEY, "ipv4_addr"),
    "port4": (_KEY, "inet_service"),
    "any-addr4": (["inet_proto", "inet_service"], "ipv4_addr"),
    "any-port4": (["inet_proto", "inet_service"], "inet_service"),
    "range4": (_KEY, "ipv4_addr"),
    "exposed4": (_KEY, None),
    "exposed-range4": (_KEY, None),
    "loopback4": (_KEY, None),
    "loopback-range4": (_KEY, None),
    "isolate": ("ifname", "verdict"),
    "fwd-in": ("ifname", "verdict"),
    "fwd-out": ("ifname", "verdict"),
    "nat-out": ("ifname", "verdict"),
    "bridges": ("ifname", None),
    "uplinks": ("ifname", None),
    "localnet": ("ifname", None),
}
INTERVAL = ("range4", "exposed-range4", "loopback-range4")
# The verdict maps that send a bridge's packets to its chains (the chain is named MAP-BRIDGE).
BRIDGE_MAPS = ("isolate", "fwd-in", "fwd-out", "nat-out")
# Sets and maps keyed by interface name, which stays text (even "123").
IFNAME_SETS = BRIDGE_MAPS + ("bridges", "uplinks", "localnet")

# name -> (type, hook, priority) for base chains; None for regular chains.
CHAINS = {
    "published": None,
    "closed": None,
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
        [_L4, {"dnat": {"family": "ip", "addr": {"map": {"key": _ANY_KEY, "data": "@any-addr4"}},
                        "port": {"map": {"key": _ANY_KEY, "data": "@any-port4"}}}}],
        [_L4, {"dnat": {"family": "ip", "addr": {"map": {"key": _PORT_KEY, "data": "@range4"}}}}],
    ],
    "nat-prerouting": [[_LOCAL, {"jump": {"target": "published"}}]],
    "nat-output": [[_LOCAL, {"jump": {"target": "published"}}]],
    "nat-postrouting": [
        # The host reaching a sandbox through 127.0.0.1 (route_localnet lets it leave lo).
        [_DNATED, _match(_payload("ip", "saddr"), {"prefix": {"addr": "127.0.0.0", "len": 8}}), {"masquerade": None}],
        # A bridge's nat chain, by the way in and by the way out: a frame that br_netfilter
        # bridges back out of its own port (hairpin) has no input interface here.
        [{"vmap": {"key": _meta("iifname"), "data": "@nat-out"}}],
        [{"vmap": {"key": _meta("oifname"), "data": "@nat-out"}}],
    ],
    # Nothing that arrives on a bridge of ours, or where we switched route_localnet on, reaches
    # the host's 127.0.0.0/8 (CVE-2020-8558): the host's own connections to ports published on
    # 127.0.0.1 come back to the bridge's address (masqueraded), which is de-NATed only later.
    "raw-prerouting": [[_match(_meta("iifname"), "@" + name), _LOOPBACK, {"drop": None}] for name in ("bridges", "localnet")] + [
        [_match(_meta("iifname"), "lo", "!="), _LOOPBACK, _L4, _match(_PORT_KEY, "@" + name), {"drop": None}]
        for name in ("loopback4", "loopback-range4")],
    # The user's chain comes first, so that its drops win over our accepts (Docker's DOCKER-USER).
    "filter-forward": [
        [{"jump": {"target": USER_CHAIN}}],
        [{"vmap": {"key": _meta("iifname"), "data": "@isolate"}}],
        [{"vmap": {"key": _meta("oifname"), "data": "@fwd-in"}}],
        [{"vmap": {"key": _meta("iifname"), "data": "@fwd-out"}}],
        [_match(_meta("iifname"), "@uplinks"), {"jump": {"target": "closed"}}],
    ],
    # What arrived on an uplink whose forwarding we switched on and goes neither into nor out of
    # a bridge of ours: only connections to published ports (of a bridge not ours) and their
    # replies cross; the rest of IPv4 is dropped, as it was before we switched forwarding on.
    "closed": [[_L4, _DNATED, _match(_PORT_KEY, "@" + name), {"accept": None}] for name in ("exposed4", "exposed-range4")] + [
        [_L4, _DNATED, _match({"ct": {"key": "direction"}}, "reply"), _match(_REPLY_KEY, "@" + name), {"accept": None}]
        for name in ("exposed4", "exposed-range4")] + [
        [_match(_meta("nfproto"), "ipv4"), {"drop": None}]],
}


def bridge_chains(policy):
    """{chain name: [rule expr]} of one bridge's network policy (moby's nftabler, per option).

    fwd-in-BR sees packets going into the bridge, fwd-out-BR packets leaving it, nat-out-BR
    packets from or to the bridge in postrouting. What is not accepted into a bridge is dropped:
    that is the isolation between networks, and the drop of unpublished ports.

    isolate-BR sees packets leaving the bridge before any other chain: an internal network's
    egress drop must come before fwd-in of another bridge, whose accept of a published port
    would otherwise end the base chain first (an internal member reaching a port published on
    another network through a host address). Docker's iptables rules drop it first alike
    (``-i BR ! -o BR -j DROP`` in its isolation chain).
    """
    br = policy.bridge
    into = [_ESTABLISHED]
    out = [_ESTABLISHED]
    if policy.internal:
        into.append([_match(_meta("iifname"), br, "!="), {"drop": None}])
        out.append([_match(_meta("oifname"), br, "!="), {"drop": None}])
    else:
        # Connections DNATed to a published port of a member (not any DNAT: foreign DNAT rules
        # of the host do not open the network).
        into += [[_L4, _DNATED, _match(_PORT_KEY, "@" + name), {"accept": None}] for name in ("exposed4", "exposed-range4")]
    into.append([_match(_meta("iifname"), br), {"accept" if policy.icc else "drop": None}])
    into.append([{"drop": None}])
    out.append([{"accept": None}])
    # Hairpin, internal networks too (it never leaves the bridge): a member reaching a published
    # port of its own bridge through a host address (its own too); the answer must come back
    # through the host, not straight from the member. Only members' connections: a client from
    # outside keeps its address.
    nat = [[_match(_meta("oifname"), br), _match(_payload("ip", "saddr"), _key_part(str(subnet))), _DNATED, {"masquerade": None}]
           for subnet in policy.subnets]
    if policy.masquerade and not policy.internal:
        nat += [[_match(_meta("oifname"), br, "!="), _match(_payload("ip", "saddr"), _key_part(str(subnet))), {"masquerade": None}]
                for subnet in policy.subnets]
    isolate = [[_match(_meta("oifname"), br, "!="), {"drop": None}]] if policy.internal else []
    return {"isolate-" + br: isolate, "fwd-in-" + br: into, "fwd-out-" + br: out, "nat-out-" + br: nat}


def _bridge_of(chain):
    for prefix in BRIDGE_MAPS:
        if chain.startswith(prefix + "-"):
            return chain[len(prefix) + 1:]
    return None


# A VXLAN device's filter: a base chain of its own (the VNI is matched raw, and libnftables'
# JSON cannot make a set keyed by a raw payload), in prerouting before conntrack, as the raw
# table is: a flood of forged packets never makes connection entries.
VXLAN_PREFIX = "vxlan-"
VXLAN_HOOK = ("filter", "prerouting", -300)
_VNI = {"payload": {"base": "th", "offset": 96, "len": 24}}   # after UDP's 8 bytes, VXLAN's flags and 3 reserved


def vxlan_chains(peers):
    """{chain: [rule expr]} of a VXLAN device's filter (_firewall.VxlanPeers): VXLAN to its port
    with its VNI is accepted from each peer, and dropped from anyone else when it is for this
    host (what is forwarded through the host is none of its devices')."""
    vxlan = [_match(_payload("udp", "dport"), peers.dstport), _match(_VNI, peers.vni)]
    family = "ip" if peers.version == 4 else "ip6"
    rules = [vxlan + [_match(_payload(family, "saddr"), str(source)), {"accept": None}] for source in peers.sources]
    return {VXLAN_PREFIX + peers.device: rules + [vxlan + [_LOCAL, {"drop": None}]]}


def chain_owner(chain):
    """The owner of CHAIN when it is one of an owner's (a bridge's policy, a VXLAN device's
    filter); None for the fixed chains."""
    if chain.startswith(VXLAN_PREFIX):
        return vxlan_owner(chain[len(VXLAN_PREFIX):])
    bridge = _bridge_of(chain)
    return bridge_owner(bridge) if bridge else None


def _chain_fields(chain):
    """What `add chain` needs for an owner's CHAIN: a VXLAN filter is a base chain."""
    if chain.startswith(VXLAN_PREFIX):
        kind, hook, prio = VXLAN_HOOK
        return {"name": chain, "type": kind, "hook": hook, "prio": prio, "policy": "accept"}
    return {"name": chain}


# -- items ------------------------------------------------------------------------------------
# An element is ("elem", set name, key tuple of text parts, value text or None); a bridge chain is
# ("chain", name, rules as a tuple of canonical JSON texts).

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
    if isinstance(part, dict) and "jump" in part:
        return "jump " + part["jump"]["target"]
    return str(part)


def _value_json(text):
    if text.startswith("jump "):
        return {"jump": {"target": text[5:]}}
    return _key_part(text)


def _key_json(name, key):
    if name in IFNAME_SETS:  # interface names stay text, even "123"
        return key[0]
    return {"concat": [_key_part(p) for p in key]} if len(key) > 1 else _key_part(key[0])


def element_json(name, key, value, comment):
    """One element of set NAME as nft JSON: KEY a tuple of text parts, VALUE text (maps) or None."""
    val = {"elem": {"val": _key_json(name, key), "comment": comment}}
    if value is None:
        return val
    return [val, _value_json(value)]


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


def _canonical(rules):
    return tuple(json.dumps(expr, sort_keys=True) for expr in rules)


def _port_items(publish):
    mapping, target = publish.mapping, str(publish.target)
    proto, out = mapping.protocol, set()
    anywhere = mapping.host_ip.is_unspecified
    if mapping.size > 1 and mapping.host_port == mapping.container_port:
        host = "0.0.0.0/0" if anywhere else str(mapping.host_ip)
        out.add(("elem", "range4", (host, proto, mapping.host_ports()), target))
    else:  # one element per port: a map can only rewrite to one port per element
        for offset in range(mapping.size):
            port, cport = str(mapping.host_port + offset), str(mapping.container_port + offset)
            key, names = ((proto, port), ("any-addr4", "any-port4")) if anywhere else ((str(mapping.host_ip), proto, port), ("addr4", "port4"))
            out.add(("elem", names[0], key, target))
            out.add(("elem", names[1], key, cport))
    if mapping.size == 1:
        out.add(("elem", "exposed4", (target, proto, str(mapping.container_port)), None))
    else:
        out.add(("elem", "exposed-range4", (target, proto, "%d-%d" % (mapping.container_port, mapping.container_port_end)), None))
    if mapping.host_ip.is_loopback:
        out.add(("elem", "loopback4" if mapping.size == 1 else "loopback-range4", (str(mapping.host_ip), proto, mapping.host_ports()), None))
    return out


def _bridge_items(policy):
    out = set()
    for name, rules in bridge_chains(policy).items():
        out.add(("chain", name, _canonical(rules)))
    for vmap in BRIDGE_MAPS:
        out.add(("elem", vmap, (policy.bridge,), "jump %s-%s" % (vmap, policy.bridge)))
    out.add(("elem", "bridges", (policy.bridge,), None))
    return out


def _guard_items(guard):
    return {("elem", "uplinks", (name,), None) for name in guard.uplinks} | {("elem", "localnet", (name,), None) for name in guard.localnet}


def render(owner, intents):
    """The items of INTENTS (_firewall.Publish, BridgePolicy, VxlanPeers and Guard); nftables keeps
    the OWNER in element comments, written by ``changes``, and in the names of its chains."""
    out = set()
    for intent in intents:
        if isinstance(intent, VxlanPeers):
            out |= {("chain", name, _canonical(rules)) for name, rules in vxlan_chains(intent).items()}
        elif isinstance(intent, Guard):
            out |= _guard_items(intent)
        else:
            out |= _bridge_items(intent) if hasattr(intent, "bridge") else _port_items(intent)
    return out


class TableState(OwnedItems):
    """What our table holds: elements by set, rules by chain, and whether it exists."""

    def __init__(self, listing=None):
        self.exists = listing is not None
        self.marked = False  # our mark is in it (see ``checked``)
        self._published = None
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

    def _read_published(self):
        from ansible_collections.netmodes.linux.plugins.module_utils._model import port_mapping

        ports = {(who, key): value for name in ("port4", "any-port4") for key, value, who in self.elements[name]}
        out = []
        for name in ("addr4", "any-addr4", "range4"):
            for key, _value, who in self.elements[name]:
                host, proto, hport = key if len(key) == 3 else ("0.0.0.0/0",) + key
                ip = "" if host == "0.0.0.0/0" else host + ":"
                cport = hport if name == "range4" else ports.get((who, key), hport)
                out.append((who, port_mapping("%s%s:%s/%s" % (ip, hport, cport, proto), "ports")))
        return sorted(out)

    def intact(self):
        """Our fixed sets, chains and rules are all there, as we wrote them."""
        return (self.exists and self.marked and USER_CHAIN in self.chains
                and all(self.chains.get(name) == rules for name, rules in CHAIN_RULES.items()))

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


# -- other tables' base chains, read-only (what _firewall.blocked walks) ----------------------------

_IPTABLES_NFT = ("filter", "mangle", "raw", "security", "nat")   # iptables-nft's tables, and their built-in chains
_BUILTIN = ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")
# Statements that neither match nor decide: a rule with them decides as if they were not there.
_STATEMENTS = ("counter", "log", "mangle", "notrack", "set", "map", "ct helper", "ct timeout", "ct expectation")
_OTHER = ("other", False, None)


def _values(right):
    if isinstance(right, dict) and "set" in right:
        right = right["set"]
    return right if isinstance(right, list) else [right]


def _networks(values):
    out = []
    for value in values:
        if isinstance(value, dict) and "prefix" in value:
            value = "%s/%d" % (value["prefix"]["addr"], value["prefix"]["len"])
        if not isinstance(value, str):
            return None
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            return None
    return frozenset(out)


def foreign_condition(match):
    """A ``match`` expression as a _firewall.Rule condition (key, negated, values)."""
    left, op = match.get("left"), match.get("op", "==")
    if op not in ("==", "!=", "in") or not isinstance(left, dict):
        return _OTHER
    values, negated = _values(match.get("right")), op == "!="
    meta, ct, payload = left.get("meta", {}).get("key"), left.get("ct", {}).get("key"), left.get("payload", {})
    if meta in ("iifname", "oifname", "iif", "oif") and all(isinstance(v, str) for v in values):
        return (meta[:3], negated, frozenset(values))
    if payload.get("protocol") == "ip" and payload.get("field") in ("saddr", "daddr"):
        nets = _networks(values)
        return _OTHER if nets is None else (payload["field"], negated, nets)
    if ct in ("state", "status") and all(isinstance(v, str) for v in values):
        return ("ct" + ct, negated, frozenset(values))
    return _OTHER


def foreign_rules(exprs, text):
    """The _firewall.Rule(s) of one listed rule: one, or one per element of an inline verdict map
    on an interface name (``iifname vmap { "br0" : accept }``)."""
    conditions, verdict, target = [], None, None
    for expr in exprs:
        (key, value), = expr.items()
        if key == "match":
            conditions.append(foreign_condition(value))
        elif key in ("accept", "drop", "reject", "return"):
            verdict = key
        elif key in ("jump", "goto"):
            verdict, target = key, value["target"]
        elif key == "vmap":
            side = value.get("key", {}).get("meta", {}).get("key") if isinstance(value.get("key"), dict) else None
            data = value.get("data")
            if side not in ("iifname", "oifname") or not isinstance(data, dict) or "set" not in data:
                return [Rule(tuple(conditions) + (_OTHER,), "accept", text=text)]  # decides part of it at most
            out = []
            for name, result in data["set"]:
                if not isinstance(name, str) or not isinstance(result, dict):
                    return [Rule(tuple(conditions) + (_OTHER,), "accept", text=text)]
                (what, arg), = result.items()
                cond = (side[:3], False, frozenset([name]))
                out.append(Rule(tuple(conditions) + (cond,), what, (arg or {}).get("target"), text))
            return out
        elif key not in _STATEMENTS:
            conditions.append(_OTHER)
    return [Rule(tuple(conditions), verdict, target, text)]


def iptables_nft_tables(listing):
    """The names of the ``ip`` tables in LISTING that iptables-nft manages (its table names,
    upper-case built-in chains)."""
    return {i["chain"]["table"] for i in (listing or {}).get("nftables", []) if "chain" in i and i["chain"]["family"] == "ip"
            and i["chain"]["table"] in _IPTABLES_NFT and i["chain"]["name"] in _BUILTIN}


def foreign_chains(listing, skip=()):
    """The base chains on _firewall.HOOKS of every IPv4 table in LISTING (``nft -j list ruleset``)
    but ours and the ``ip`` tables SKIP, as _firewall.BaseChain."""
    items = (listing or {}).get("nftables", [])
    dormant = {(t["table"]["family"], t["table"]["name"]) for t in items if "table" in t and "dormant" in (t["table"].get("flags") or [])}
    rules, chains = {}, []
    for item in items:
        if "rule" in item:
            rule = item["rule"]
            key = (rule["family"], rule["table"], rule["chain"])
            found = rules.setdefault(key, [])
            found += foreign_rules(rule.get("expr", []), "%d of chain %s" % (len({r.text for r in found}) + 1, rule["chain"]))
        elif "chain" in item:
            chains.append(item["chain"])
            rules.setdefault((item["chain"]["family"], item["chain"]["table"], item["chain"]["name"]), [])
    out = []
    for chain in chains:
        family, table, name = chain["family"], chain["table"], chain["name"]
        if ((family, table) in ((FAMILY, TABLE),) + tuple(("ip", t) for t in skip) or (family, table) in dormant
                or family not in ("ip", "inet") or chain.get("hook") not in HOOKS):
            continue
        others = tuple((other, tuple(rs)) for (f, t, other), rs in rules.items() if (f, t) == (family, table))
        iptables = family == "ip" and table in _IPTABLES_NFT and name in _BUILTIN
        out.append(BaseChain("nftables table %s %s, chain %s" % (family, table, name), chain["hook"], chain.get("policy", "accept"),
                             tuple(rules.get((family, table, name), ())), others,
                             "iptables-nft" if iptables else "nft", (table, name) if iptables else (family, table, name)))
    return out


class Nftables:
    """The nftables adapter: read our table, stage commands, commit them as one transaction."""

    name = "nftables"

    def __init__(self):
        self._staged = []
        self._nft = None  # the libnftables context, made on first use: most modules never need it
        self._state = None  # the last read, until the next commit (a batch reads many times)
        self._expected = None  # the state the staged commands lead to, when known
        self._foreign = None  # others' base chains: our commits do not change them

    render = staticmethod(render)
    changes = staticmethod(changes)

    def ruleset(self):
        """The whole ruleset as ``nft -j list ruleset`` prints it; None without nftables."""
        try:
            out, err = self._run({"nftables": [{"list": {"ruleset": None}}]})
        except FileNotFoundError:  # neither the binding nor the nft command
            return None
        if err is not None:
            raise KernelError("nftables: cannot list the ruleset: %s" % err)
        return out

    def foreign_chains(self):
        """Others' base chains on the hooks our traffic passes (see _firewall.blocked)."""
        if self._foreign is None:
            self._foreign = read_foreign(self, assume_hook=False)
        return self._foreign

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
        if self._state is None:
            out, err = self._run({"nftables": [{"list": {"table": {"family": FAMILY, "name": TABLE}}}]})
            if err is not None and "No such file or directory" not in err:
                raise KernelError("nftables: cannot list table %s %s: %s" % (FAMILY, TABLE, err))
            self._state = checked(TableState(None if err is not None else out))
        return self._state

    @staticmethod
    def after(state, owner, want):
        """What the table will read as once OWNER's change to WANT is committed."""
        return state.replaced(owner, want)

    def stage(self, commands, after=None):
        """Queue commands for the transaction that ``commit`` sends; AFTER (from ``after``) is
        the state they lead to, kept instead of listing the table again."""
        self._expected = after if not self._staged else None  # two changes planned apart: read again
        self._staged += commands

    def commit(self):
        """Send every staged command as one transaction: all of them apply, or none."""
        if not self._staged:
            return
        staged, self._staged, self._state, expected = self._staged, [], None, self._expected
        _out, err = self._run({"nftables": staged})
        self._state = expected if err is None else None
        if err is not None:
            raise KernelError("nftables: the transaction was refused and nothing changed: %s" % err)
