# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend's rendering: the layout of our table, one bridge's and one VXLAN
device's chains, and the items (elements, chains) of an intent. See ``nftables`` for the whole."""

from __future__ import annotations

import json

from ansible_collections.netmodes.linux.plugins.module_utils._firewall.intents import (
    VIEW_PORTS,
    Guard,
    ResolverAccess,
    ViewPort,
    ViewRedirect,
    VxlanPeers,
    bridge_owner,
    resolver_owner,
    vxlan_owner,
)

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
_PORT_KEY6 = {"concat": [_payload("ip6", "daddr"), _meta("l4proto"), _payload("th", "dport")]}
_ANY_KEY = {"concat": [_meta("l4proto"), _payload("th", "dport")]}
_L4 = _match(_meta("l4proto"), {"set": ["tcp", "udp", "sctp"]})
_DNS = _match(_meta("l4proto"), {"set": ["tcp", "udp"]})
_DNATED = _match({"ct": {"key": "status"}}, "dnat", "in")
_ESTABLISHED = [_match({"ct": {"key": "state"}}, ["established", "related"], "in"), {"accept": None}]
_LOCAL = _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local")
_LOOPBACK = _match(_payload("ip", "daddr"), {"prefix": {"addr": "127.0.0.0", "len": 8}})
# The reply of a published port: from the sandbox's address and port.
_REPLY_KEY = {"concat": [_payload("ip", "saddr"), _meta("l4proto"), _payload("th", "sport")]}
_REPLY_KEY6 = {"concat": [_payload("ip6", "saddr"), _meta("l4proto"), _payload("th", "sport")]}
# A DNS query a sandbox sends to its resolver, redirected to its resolver view (intents.ViewRedirect).
# Not keyed by the interface too: with it the kernel refused the transaction (ERANGE: too long a
# key for two lookups); a forged source address gets its answer sent to the sandbox it names.
_VIEW_KEY = {"concat": [_payload("ip", "saddr"), _payload("ip", "daddr"), _meta("l4proto"), _payload("th", "dport")]}
_VIEW_KEY6 = {"concat": [_payload("ip6", "saddr"), _payload("ip6", "daddr"), _meta("l4proto"), _payload("th", "dport")]}
_VIEW_PORT = _match(_payload("th", "dport"), {"range": list(VIEW_PORTS)})

# name -> (key types, data type or None for a set). Single ports are exact keys, which nftables
# keeps in hash tables (one lookup whatever their number); ranges and prefixes need interval sets.
_KEY = ["ipv4_addr", "inet_proto", "inet_service"]
_KEY6 = ["ipv6_addr", "inet_proto", "inet_service"]
ELEMENT_SETS = {
    "addr4": (_KEY, "ipv4_addr"),
    "port4": (_KEY, "inet_service"),
    "any-addr4": (["inet_proto", "inet_service"], "ipv4_addr"),
    "any-port4": (["inet_proto", "inet_service"], "inet_service"),
    "range4": (_KEY, "ipv4_addr"),
    "exposed4": (_KEY, None),
    "exposed-range4": (_KEY, None),
    "addr6": (_KEY6, "ipv6_addr"),
    "port6": (_KEY6, "inet_service"),
    "any-addr6": (["inet_proto", "inet_service"], "ipv6_addr"),
    "any-port6": (["inet_proto", "inet_service"], "inet_service"),
    "range6": (_KEY6, "ipv6_addr"),
    "exposed6": (_KEY6, None),
    "exposed-range6": (_KEY6, None),
    "allowed4": (_KEY, "verdict"),
    "allowed-range4": (_KEY, "verdict"),
    "allowed6": (_KEY6, "verdict"),
    "allowed-range6": (_KEY6, "verdict"),
    "loopback4": (_KEY, None),
    "loopback-range4": (_KEY, None),
    "isolate": ("ifname", "verdict"),
    "host-in": ("ifname", "verdict"),
    "fwd-in": ("ifname", "verdict"),
    "fwd-out": ("ifname", "verdict"),
    "nat-out": ("ifname", "verdict"),
    "bridges": ("ifname", None),
    "uplinks": ("ifname", None),
    "uplinks6": ("ifname", None),
    "localnet": ("ifname", None),
    "resolve4": (_KEY, "verdict"),
    "resolve6": (_KEY6, "verdict"),
    "view-addr4": (["ipv4_addr"] + _KEY, "ipv4_addr"),
    "view-port4": (["ipv4_addr"] + _KEY, "inet_service"),
    "view-addr6": (["ipv6_addr"] + _KEY6, "ipv6_addr"),
    "view-port6": (["ipv6_addr"] + _KEY6, "inet_service"),
}
INTERVAL = ("range4", "exposed-range4", "loopback-range4", "range6", "exposed-range6", "allowed-range4", "allowed-range6")
# The verdict maps that send a bridge's packets to its chains (the chain is named MAP-BRIDGE).
BRIDGE_MAPS = ("isolate", "fwd-in", "fwd-out", "nat-out", "host-in")
# Sets and maps keyed by interface name, which stays text (even "123").
IFNAME_SETS = BRIDGE_MAPS + ("bridges", "uplinks", "uplinks6", "localnet")

# name -> (type, hook, priority) for base chains; None for regular chains.
CHAINS = {
    "published": None,
    "closed": None,
    "closed6": None,
    "nat-prerouting": ("nat", "prerouting", -100),
    "nat-output": ("nat", "output", -100),
    "nat-postrouting": ("nat", "postrouting", 100),
    "raw-prerouting": ("filter", "prerouting", -300),
    "filter-forward": ("filter", "forward", 0),
    "filter-input": ("filter", "input", 0),
}

# The fixed rules of each chain, in the form `nft -j list` prints them (so they compare exactly).
CHAIN_RULES = {
    "published": [
        [_L4, {"dnat": {"family": "ip", "addr": {"map": {"key": _PORT_KEY, "data": "@addr4"}},
                        "port": {"map": {"key": _PORT_KEY, "data": "@port4"}}}}],
        [_L4, {"dnat": {"family": "ip", "addr": {"map": {"key": _ANY_KEY, "data": "@any-addr4"}},
                        "port": {"map": {"key": _ANY_KEY, "data": "@any-port4"}}}}],
        [_L4, {"dnat": {"family": "ip", "addr": {"map": {"key": _PORT_KEY, "data": "@range4"}}}}],
        # IPv6 alike (a dnat of the other family does nothing to a packet: nft_nat_inet_eval)
        [_L4, {"dnat": {"family": "ip6", "addr": {"map": {"key": _PORT_KEY6, "data": "@addr6"}},
                        "port": {"map": {"key": _PORT_KEY6, "data": "@port6"}}}}],
        [_L4, {"dnat": {"family": "ip6", "addr": {"map": {"key": _ANY_KEY, "data": "@any-addr6"}},
                        "port": {"map": {"key": _ANY_KEY, "data": "@any-port6"}}}}],
        [_L4, {"dnat": {"family": "ip6", "addr": {"map": {"key": _PORT_KEY6, "data": "@range6"}}}}],
    ],
    "nat-prerouting": [[_LOCAL, {"jump": {"target": "published"}}]] + [
        # A sandbox's query to its resolver, to its resolver view's port (intents.ViewRedirect).
        [_DNS, {"dnat": {"family": family, "addr": {"map": {"key": key, "data": "@view-addr" + v}},
                         "port": {"map": {"key": key, "data": "@view-port" + v}}}}]
        for family, key, v in (("ip", _VIEW_KEY, "4"), ("ip6", _VIEW_KEY6, "6"))],
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
        [_match(_meta("iifname"), "@uplinks6"), {"jump": {"target": "closed6"}}],
    ],
    # What arrived on an uplink whose forwarding we switched on and goes neither into nor out of
    # a bridge of ours: only connections to published ports (of a bridge not ours) and their
    # replies cross; the rest of IPv4 is dropped, as it was before we switched forwarding on.
    "closed": [[_L4, _DNATED, _match(_PORT_KEY, "@" + name), {"accept": None}] for name in ("exposed4", "exposed-range4")] + [
        [_L4, _DNATED, _match({"ct": {"key": "direction"}}, "reply"), _match(_REPLY_KEY, "@" + name), {"accept": None}]
        for name in ("exposed4", "exposed-range4")] + [
        [_match(_meta("nfproto"), "ipv4"), {"drop": None}]],
    # The same for IPv6, where we switched force_forwarding on (an interface may forward one
    # family and not the other).
    "closed6": [[_L4, _DNATED, _match(_PORT_KEY6, "@" + name), {"accept": None}] for name in ("exposed6", "exposed-range6")] + [
        [_L4, _DNATED, _match({"ct": {"key": "direction"}}, "reply"), _match(_REPLY_KEY6, "@" + name), {"accept": None}]
        for name in ("exposed6", "exposed-range6")] + [
        [_match(_meta("nfproto"), "ipv6"), {"drop": None}]],
    # A packet to a network's resolver (its address, protocol and port) goes to that network's
    # chain, which admits its members only; nothing else to the host is looked at.
    # A resolver view's port admits what was redirected to it (the rest is dropped: ViewPort's
    # elements of the resolve maps).
    # First, a bridge with a family in gateway mode isolated drops that family into the host.
    "filter-input": [[{"vmap": {"key": _meta("iifname"), "data": "@host-in"}}], [_DNS, _VIEW_PORT, _DNATED, {"accept": None}]] + [
        [_DNS, {"vmap": {"key": key, "data": "@" + name}}] for key, name in ((_PORT_KEY, "resolve4"), (_PORT_KEY6, "resolve6"))],
}


def _saddr(subnet):
    """The match of packets from SUBNET (an ipaddress network of either family)."""
    return _match(_payload("ip" if subnet.version == 4 else "ip6", "saddr"), _key_part(str(subnet)))


_FAMILY = {4: "ipv4", 6: "ipv6"}
_PORT_KEYS = {4: _PORT_KEY, 6: _PORT_KEY6}
_ICMP = {4: "icmp", 6: "ipv6-icmp"}


def _exposed(version, *head):
    """Rules that accept, after HEAD, a connection to a published container port of IP VERSION:
    one with an allow-list goes through its chain (``allow_chain``), which accepts its sources
    and returns the rest (to the bridge's members' accept, or the drop)."""
    v = str(version)
    allowed = [[_L4, *head, {"vmap": {"key": _PORT_KEYS[version], "data": "@" + name}}] for name in ("allowed" + v, "allowed-range" + v)]
    return allowed + [[_L4, *head, _match(_PORT_KEYS[version], "@" + name), {"accept": None}] for name in ("exposed" + v, "exposed-range" + v)]


def _into(policy, versions):
    """The rules of fwd-in-BR after its established accept (see ``bridge_chains``)."""
    br, into = policy.bridge, []
    if policy.internal:
        into.append([_match(_meta("iifname"), br, "!="), {"drop": None}])
    routed = [v for v in versions if not policy.internal and policy.mode(v) == "routed"]
    # routed: nothing is DNATed into the network (Docker maps no host port), its container ports are open as they are
    into += [[_match(_meta("nfproto"), _FAMILY[v]), _DNATED, {"drop": None}] for v in routed]
    nat = [v for v in versions if not policy.internal and v not in routed]
    # Connections DNATed to a published port of a member (not any DNAT: foreign DNAT rules of the
    # host do not open the network); from a trusted interface, its container port directly.
    for version in nat:
        into += _exposed(version, _DNATED)
    for name in policy.trusted:
        for version in (v for v in nat if policy.mode(v) == "nat"):
            into += _exposed(version, _match(_meta("iifname"), name))
    into.append([_match(_meta("iifname"), br), {"accept" if policy.icc else "drop": None}])
    opened = [v for v in versions if not policy.internal and policy.mode(v) != "nat"]
    if opened:  # what routing may bring in, from anywhere but another network of the host (its isolation)
        into.append([_match(_meta("iifname"), "@bridges"), {"drop": None}])
    for version in opened:
        if policy.mode(version) == "routed":
            into.append([_match(_meta("l4proto"), _ICMP[version]), {"accept": None}])
            into += _exposed(version)
        else:
            into.append([_match(_meta("nfproto"), _FAMILY[version]), {"accept": None}])
    return into + [[{"drop": None}]]


def _outbound(policy, subnet):
    """The verdict of a member's traffic of SUBNET leaving the host: masquerade, or SNAT to the declared address."""
    to = policy.snat_to(subnet.version)
    return {"snat": {"family": "ip" if to.version == 4 else "ip6", "addr": str(to)}} if to else {"masquerade": None}


def bridge_chains(policy):
    """{chain name: [rule expr]} of one bridge's network policy (moby's nftabler, per option).

    fwd-in-BR sees packets going into the bridge, fwd-out-BR packets leaving it, nat-out-BR
    packets from or to the bridge in postrouting. What is not accepted into a bridge is dropped:
    that is the isolation between networks, and the drop of unpublished ports. A family in
    gateway mode routed or nat-unprotected lets routed traffic in (ICMP and the published
    container ports, or everything), but never from another bridge of ours.

    isolate-BR sees packets leaving the bridge before any other chain: an internal network's
    egress drop must come before fwd-in of another bridge, whose accept of a published port
    would otherwise end the base chain first (an internal member reaching a port published on
    another network through a host address). Docker's iptables rules drop it first alike
    (``-i BR ! -o BR -j DROP`` in its isolation chain).
    """
    br = policy.bridge
    versions = sorted({subnet.version for subnet in policy.subnets} | {4})
    into = [_ESTABLISHED] + _into(policy, versions)
    out = [_ESTABLISHED]
    if policy.internal:
        out.append([_match(_meta("oifname"), br, "!="), {"drop": None}])
    out.append([{"accept": None}])
    # Hairpin, internal networks too (it never leaves the bridge): a member reaching a published
    # port of its own bridge through a host address (its own too); the answer must come back
    # through the host, not straight from the member. Only members' connections: a client from
    # outside keeps its address.
    nat = [[_match(_meta("oifname"), br), _saddr(subnet), _DNATED, {"masquerade": None}] for subnet in policy.subnets]
    nat += [[_match(_meta("oifname"), br, "!="), _saddr(subnet), _outbound(policy, subnet)] for subnet in policy.subnets if policy.nat(subnet.version)]
    isolate = [[_match(_meta("oifname"), br, "!="), {"drop": None}]] if policy.internal else []
    chains = {"isolate-" + br: isolate, "fwd-in-" + br: into, "fwd-out-" + br: out, "nat-out-" + br: nat}
    if policy.isolated():  # host-in-BR, only then: nothing of an isolated family enters the host from the bridge
        chains["host-in-" + br] = [[_match(_meta("nfproto"), _FAMILY[v]), {"drop": None}] for v in policy.isolated()]
    return chains


RESOLVER_PREFIX = "resolver-"


def resolver_chains(access):
    """{chain: [rule expr]} of the admission to a network's resolver (intents.ResolverAccess): its
    members (on its device, from its subnets) are accepted, the host itself goes on to the rest of
    its rules, anyone else is dropped. The device is matched, not the source alone: a member of
    another network can forge a source address of this one, not the bridge it arrives on."""
    dev = access.device
    rules = [[_match(_meta("iifname"), dev), _saddr(subnet), {"accept": None}] for subnet in access.subnets]
    return {RESOLVER_PREFIX + dev: rules + [[_match(_meta("iifname"), "lo"), {"return": None}], [{"drop": None}]]}


def _resolver_items(access):
    out = {("chain", name, _canonical(rules)) for name, rules in resolver_chains(access).items()}
    for address in access.addresses:
        for proto in ("udp", "tcp"):
            out.add(("elem", "resolve%d" % address.version, (str(address), proto, str(access.port)), "jump %s%s" % (RESOLVER_PREFIX, access.device)))
    return out


def _view_items(redirect):
    """The elements of a sandbox's redirect to its resolver view (intents.ViewRedirect)."""
    address, v, out = str(redirect.address), str(redirect.address.version), set()
    for source in redirect.sources:
        for proto in ("udp", "tcp"):
            key = (str(source), address, proto, "53")
            out |= {("elem", "view-addr" + v, key, address), ("elem", "view-port" + v, key, str(redirect.port))}
    return out


def _view_port_items(view):
    """A resolver view's own port (intents.ViewPort): dropped, in the resolvers' lookup."""
    return {("elem", "resolve%d" % address.version, (str(address), proto, str(view.port)), "drop")
            for address in view.addresses for proto in ("udp", "tcp")}


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
    """{chain: [rule expr]} of a VXLAN device's filter (intents.VxlanPeers): VXLAN to its port
    with its VNI is accepted from each peer, and dropped from anyone else when it is for this
    host (what is forwarded through the host is none of its devices')."""
    vxlan = [_match(_payload("udp", "dport"), peers.dstport), _match(_VNI, peers.vni)]
    family = "ip" if peers.version == 4 else "ip6"
    rules = [vxlan + [_match(_payload(family, "saddr"), str(source)), {"accept": None}] for source in peers.sources]
    return {VXLAN_PREFIX + peers.device: rules + [vxlan + [_LOCAL, {"drop": None}]]}


# A published port's allow-list: a chain named by the port (its target, protocol and container
# port(s)) and its owner, one rule per source (as the iptables backend's), replaced as a whole in
# the transaction that changes it.
ALLOW_PREFIX = "allow-"


def allow_chain(publish, owner):
    """(name, [rule expr]) of PUBLISH's allow-list chain (intents.Publish with allow)."""
    mapping, family = publish.mapping, publish.target.version
    name = "%s%s.%s.%s@%s" % (ALLOW_PREFIX, publish.target, mapping.protocol, _container_ports(mapping), owner)
    key = "ip" if family == 4 else "ip6"
    rules = [[_match(_payload(key, "saddr"), _source(net)), {"accept": None}] for net in publish.sources()]
    return name, rules


def _source(net):
    """A source network as nft prints it back: one address plain, a prefix as a prefix."""
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else _key_part(str(net))


def _container_ports(mapping):
    return "%d" % mapping.container_port if mapping.size == 1 else "%d-%d" % (mapping.container_port, mapping.container_port_end)


def chain_owner(chain):
    """The owner of CHAIN when it is one of an owner's (a bridge's policy, a VXLAN device's
    filter, a published port's allow-list); None for the fixed chains."""
    if chain.startswith(ALLOW_PREFIX):
        return chain.rpartition("@")[2]
    if chain.startswith(VXLAN_PREFIX):
        return vxlan_owner(chain[len(VXLAN_PREFIX):])
    if chain.startswith(RESOLVER_PREFIX):
        return resolver_owner(chain[len(RESOLVER_PREFIX):])
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
    if isinstance(part, dict) and "drop" in part:
        return "drop"
    return str(part)


def _value_json(text):
    if text.startswith("jump "):
        return {"jump": {"target": text[5:]}}
    if text == "drop":
        return {"drop": None}
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


# Every address of a family, as a prefix key of a range map.
_EVERYWHERE = {4: "0.0.0.0/0", 6: "::/0"}


def _port_items(publish, owner):
    """The elements of a published port, in the sets of the target's family (a mapping of IPv4
    host addresses to an IPv6 target, or back, is refused before: Docker's userland proxy's);
    with an allow-list, its chain and the element that jumps there instead of the accept."""
    target, family = str(publish.target), publish.target.version
    mapping = publish.mapping.for_family(family)
    proto, out, v = mapping.protocol, set(), str(family)
    anywhere = mapping.host_ip.is_unspecified
    if publish.routed:
        pass   # no host port: the container port below only
    elif mapping.size > 1 and mapping.host_port == mapping.container_port:
        host = _EVERYWHERE[family] if anywhere else str(mapping.host_ip)
        out.add(("elem", "range" + v, (host, proto, mapping.host_ports()), target))
    else:  # one element per port: a map can only rewrite to one port per element
        for offset in range(mapping.size):
            port, cport = str(mapping.host_port + offset), str(mapping.container_port + offset)
            key, names = ((proto, port), ("any-addr", "any-port")) if anywhere else ((str(mapping.host_ip), proto, port), ("addr", "port"))
            out.add(("elem", names[0] + v, key, target))
            out.add(("elem", names[1] + v, key, cport))
    key, verdict = (target, proto, _container_ports(mapping)), None
    if publish.allow is not None:
        chain, rules = allow_chain(publish, owner)
        out.add(("chain", chain, _canonical(rules)))
        verdict = "jump " + chain
    kind = ("exposed" if publish.allow is None else "allowed") + ("" if mapping.size == 1 else "-range")
    out.add(("elem", kind + v, key, verdict))
    if mapping.host_ip.is_loopback and family == 4 and not publish.routed:
        out.add(("elem", "loopback4" if mapping.size == 1 else "loopback-range4", (str(mapping.host_ip), proto, mapping.host_ports()), None))
    return out


def _bridge_items(policy):
    out = set()
    chains = bridge_chains(policy)
    for name, rules in chains.items():
        out.add(("chain", name, _canonical(rules)))
    for vmap in (m for m in BRIDGE_MAPS if "%s-%s" % (m, policy.bridge) in chains):
        out.add(("elem", vmap, (policy.bridge,), "jump %s-%s" % (vmap, policy.bridge)))
    out.add(("elem", "bridges", (policy.bridge,), None))
    return out


def _guard_items(guard):
    sets = {"uplinks": guard.uplinks, "uplinks6": guard.uplinks6, "localnet": guard.localnet}
    return {("elem", kind, (name,), None) for kind, names in sets.items() for name in names}


def render(owner, intents):
    """The items of INTENTS (intents.Publish, BridgePolicy, VxlanPeers, ResolverAccess and Guard); nftables keeps
    the OWNER in element comments, written by ``changes``, and in the names of its chains."""
    out = set()
    for intent in intents:
        if isinstance(intent, VxlanPeers):
            out |= {("chain", name, _canonical(rules)) for name, rules in vxlan_chains(intent).items()}
        elif isinstance(intent, Guard):
            out |= _guard_items(intent)
        elif isinstance(intent, ResolverAccess):
            out |= _resolver_items(intent)
        elif isinstance(intent, ViewRedirect):
            out |= _view_items(intent)
        elif isinstance(intent, ViewPort):
            out |= _view_port_items(intent)
        else:
            out |= _bridge_items(intent) if hasattr(intent, "bridge") else _port_items(intent, owner)
    return out
