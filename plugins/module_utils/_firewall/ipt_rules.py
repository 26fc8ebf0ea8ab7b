# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend's rendering: our chains and their fixed rules, and the rules (specs) of an
intent. See ``iptables`` for the whole."""

from __future__ import annotations

import hashlib

from ansible_collections.netmodes.linux.plugins.module_utils._firewall.intents import (
    VIEW_PORTS,
    Guard,
    ResolverAccess,
    ViewPort,
    ViewRedirect,
    VxlanPeers,
)

TAG = "netmodes"
USER_CHAIN = "NETMODES-USER"
_BRIDGE_PREFIXES = ("NM-IN-", "NM-OUT-")
VXLAN_PREFIX = "NETMODES-VX-"
RESOLVER_PREFIX = "NETMODES-DNS-"   # and a device name: 28 characters at most, iptables' limit
# A published port's allow-list (intents.Publish with allow): a chain named by a hash of its owner
# and port, owned by the tag of its rules (one per source, then a RETURN: never empty).
ALLOW_PREFIX = "NETMODES-AL-"
# The chains that are an owner's item as a whole, by the prefix of their names: prefix -> kind of
# owner (None: the owner is in its rules' comments).
_CHAIN_ITEMS = {**dict.fromkeys(_BRIDGE_PREFIXES, "bridge"), VXLAN_PREFIX: "vxlan", RESOLVER_PREFIX: "resolver", ALLOW_PREFIX: None}
# Our chains that decide only some of what their hook sees and return the rest (to the foreign
# analyser, a jump into one is no accept).
PASSING = ("NETMODES-INPUT",)
TABLES = ("raw", "nat", "filter")   # commit order
# ip6tables' tables, as items and commands name them (the same names with a 6): written after IPv4's.
TABLES6 = tuple(table + "6" for table in TABLES)


def is6(table):
    """TABLE (an item's or a command's) is one of ip6tables'."""
    return table in TABLES6

# A rule spec is (head, matches, target), all tuples, the form the reader makes from the kernel:
#   head    ((flag, value), ...)  flag -s -d -i -o -p, "!" in front when negated
#   matches ((name, ((param, value), ...)), ...)  params sorted
#   target  (name, ((param, value), ...))
# An item is ("rule", table, chain, spec) or ("chain", table, chain, (spec, ...)).


def spec(head=(), matches=(), target=("ACCEPT",), comment=TAG):
    """A rule spec from readable parts: matches as (name, {param: value}), target as (name, {param: value})."""
    ms = [(name, tuple(sorted(params.items()))) for name, params in matches]
    if comment:
        ms.append(("comment", (("comment", comment),)))
    name, params = (target[0], target[1] if len(target) > 1 else {})
    return tuple(head), tuple(ms), (name, tuple(sorted(params.items())))


def _port(head, protocol, port):
    return head + (("-p", protocol),), [(protocol, {"dport": port.replace("-", ":")})]


_DNATED = ("conntrack", {"ctstate": "DNAT"})
_DNAT_REPLY = ("conntrack", {"ctdir": "REPLY", "ctstate": "DNAT"})
_LOOPBACK = ("-d", "127.0.0.0/8")
_ESTABLISHED = ("conntrack", {"ctstate": "RELATED,ESTABLISHED"})
_LOCAL = ("addrtype", {"dst-type": "LOCAL"})
_VIEW_PORTS = "%d:%d" % VIEW_PORTS

# Chains and their fixed rules: (table, chain) -> [spec] (None: a chain of owned rules only).
HOOKS = {
    ("filter", "FORWARD"): spec(target=("NETMODES-FORWARD",)),
    ("filter", "INPUT"): spec(target=("NETMODES-INPUT",)),
    ("nat", "PREROUTING"): spec(matches=[_LOCAL], target=("NETMODES-DNAT",)),
    ("nat", "OUTPUT"): spec(matches=[_LOCAL], target=("NETMODES-DNAT",)),
    ("nat", "POSTROUTING"): spec(target=("NETMODES-POSTROUTING",)),
    ("raw", "PREROUTING"): spec(target=("NETMODES-RAW",)),
}
CHAIN_RULES = {
    ("filter", "NETMODES-FORWARD"): [spec(target=(USER_CHAIN,)), spec(target=("NETMODES-ISOLATE",)), spec(target=("NETMODES-FWD-IN",)),
                                     spec(target=("NETMODES-FWD-OUT",)), spec(target=("NETMODES-UPLINKS",))],
    ("filter", "NETMODES-ISOLATE"): None,
    ("filter", "NETMODES-FWD-IN"): None,
    ("filter", "NETMODES-FWD-OUT"): None,
    ("filter", "NETMODES-UPLINKS"): None,
    # What arrived on an uplink whose forwarding we switched on and goes neither into nor out of
    # a bridge of ours: only connections to published ports (of a bridge not ours) and their
    # replies cross; the rest is dropped, as it was before we switched forwarding on.
    ("filter", "NETMODES-CLOSED"): [spec(matches=[_DNATED], target=("NETMODES-PUBLISHED",)),
                                    spec(matches=[_DNAT_REPLY], target=("NETMODES-REPLIES",)), spec(target=("DROP",))],
    ("filter", "NETMODES-PUBLISHED"): None,
    # -i BR -j DROP of every bridge of ours (the networks' isolation where routing is let in).
    ("filter", "NETMODES-BRIDGES"): None,
    ("filter", "NETMODES-REPLIES"): None,
    # A resolver view's port admits what was redirected to it (intents.ViewRedirect); then, owned:
    # -d VIEW -p P --dport PORT -j DROP (the rest, intents.ViewPort) and -d RESOLVER -p P --dport
    # 53 -j NETMODES-DNS-DEV, a network's resolver, its members only.
    ("filter", "NETMODES-INPUT"): [spec((("-p", proto),), [(proto, {"dport": _VIEW_PORTS}), _DNATED]) for proto in ("udp", "tcp")],
    ("nat", "NETMODES-DNAT"): None,
    # The host reaching a sandbox through 127.0.0.1 (route_localnet lets it leave lo).
    ("nat", "NETMODES-POSTROUTING"): [spec((("-s", "127.0.0.0/8"),), [_DNATED], ("MASQUERADE",))],
    ("raw", "NETMODES-RAW"): None,
}
# ip6tables holds the same chains as soon as anything of IPv6 is ours, but the loopback masquerade
# (IPv6 has no route_localnet: nothing is published on ::1).
HOOKS6 = {(table + "6", chain): rule for (table, chain), rule in HOOKS.items()}
CHAIN_RULES6 = {(table + "6", chain): None if chain == "NETMODES-POSTROUTING" else rules for (table, chain), rules in CHAIN_RULES.items()}


def skeleton(v6):
    """(hooks, chain rules) of the families in use: IPv4's always, ip6tables' when V6."""
    return ({**HOOKS, **HOOKS6}, {**CHAIN_RULES, **CHAIN_RULES6}) if v6 else (HOOKS, CHAIN_RULES)


def _tag(owner):
    return "%s:%s" % (TAG, owner)


def _port_items(publish, tag):
    """The rules of a published port, in the tables of the target's family (ip6tables' for IPv6)."""
    family, subnet = publish.target.version, str(publish.subnet)
    mapping, v, host_len = publish.mapping.for_family(family), "" if family == 4 else "6", "/32" if family == 4 else "/128"
    proto, out, target = mapping.protocol, set(), str(publish.target)
    host = () if mapping.host_ip.is_unspecified else (("-d", "%s%s" % (mapping.host_ip, host_len)),)
    to = target if family == 4 else "[%s]" % target   # the DNAT target's address, before ":port"
    if mapping.size > 1 and mapping.host_port == mapping.container_port:
        pairs = [(mapping.host_ports(), target)]   # DNAT keeps the port
    else:
        pairs = [(str(mapping.host_port + i), "%s:%d" % (to, mapping.container_port + i)) for i in range(mapping.size)]
    for hport, dest in [] if publish.routed else pairs:   # routed: no host port, the container port's accept only
        head, ms = _port(host, proto, hport)
        out.add(("rule", "nat" + v, "NETMODES-DNAT", spec(head, ms, ("DNAT", {"to-destination": dest}), tag)))
    cports = "%d" % mapping.container_port if mapping.size == 1 else "%d-%d" % (mapping.container_port, mapping.container_port_end)
    head, ms = _port((("-d", target + host_len),), proto, cports)
    verdict = "ACCEPT"
    if publish.allow is not None:   # its sources only: a chain of its own, replaced as a whole
        verdict = ALLOW_PREFIX + hashlib.sha256(("%s|%s|%s|%s" % (tag, target, proto, cports)).encode()).hexdigest()[:16]
        rules = [spec((("-s", str(net)),), comment=tag) for net in publish.sources()]
        out.add(("chain", "filter" + v, verdict, tuple(rules + [spec(target=("RETURN",), comment=tag)])))
    out.add(("rule", "filter" + v, "NETMODES-PUBLISHED", spec(head, ms, (verdict,), tag)))
    if publish.routed:
        return out
    replies = spec((("-s", target + host_len), ("-p", proto)), [(proto, {"sport": cports.replace("-", ":")})], ("ACCEPT",), tag)
    out.add(("rule", "filter" + v, "NETMODES-REPLIES", replies))
    head, ms = _port((("-s", subnet), ("-d", target + host_len)), proto, cports)
    out.add(("rule", "nat" + v, "NETMODES-POSTROUTING", spec(head, ms + [_DNATED], ("MASQUERADE",), tag)))
    if mapping.host_ip.is_loopback and family == 4:
        head, ms = _port(host + (("!-i", "lo"),), proto, mapping.host_ports())
        out.add(("rule", "raw", "NETMODES-RAW", spec(head, ms, ("DROP",), tag)))
    return out


_ICMP = {4: "icmp", 6: "ipv6-icmp"}


def _into(policy, tag, version):
    """The rules of NM-IN-BR (of IP VERSION's table) after its established accept: the same as
    the nftables backend's (``nft_rules._into``)."""
    br, mode, into = policy.bridge, policy.mode(version), []
    if policy.internal:
        into.append(spec((("!-i", br),), target=("DROP",), comment=tag))
    elif mode == "routed":
        into.append(spec(matches=[_DNATED], target=("DROP",), comment=tag))
    else:
        into.append(spec(matches=[_DNATED], target=("NETMODES-PUBLISHED",), comment=tag))
        if mode == "nat":
            into += [spec((("-i", name),), target=("NETMODES-PUBLISHED",), comment=tag) for name in policy.trusted]
    into.append(spec((("-i", br),), target=("ACCEPT" if policy.icc else "DROP",), comment=tag))
    if not policy.internal and mode != "nat":   # routed traffic, from anywhere but another network of the host
        into.append(spec(target=("NETMODES-BRIDGES",), comment=tag))
        if mode == "routed":
            into += [spec((("-p", _ICMP[version]),), comment=tag), spec(target=("NETMODES-PUBLISHED",), comment=tag)]
        else:
            into.append(spec(comment=tag))
    return into + [spec(target=("DROP",), comment=tag)]


def bridge_chains(policy, tag, version=4):
    """{chain: [spec]} of one bridge's policy in IP VERSION's table: the same rules as the nftables backend's."""
    br = policy.bridge
    into = [spec(matches=[_ESTABLISHED], comment=tag)] + _into(policy, tag, version)
    out = [spec(matches=[_ESTABLISHED], comment=tag)]
    if policy.internal:
        out.append(spec((("!-o", br),), target=("DROP",), comment=tag))
    out.append(spec(comment=tag))
    return {"NM-IN-" + br: into, "NM-OUT-" + br: out}


def _filter_items(policy, tag, filter_table):
    """A bridge's filter rules in FILTER_TABLE (filter, or filter6 for ip6tables)."""
    br = policy.bridge
    chains = bridge_chains(policy, tag, 6 if is6(filter_table) else 4)
    out = {("chain", filter_table, name, tuple(rules)) for name, rules in chains.items()}
    out.add(("rule", filter_table, "NETMODES-FWD-IN", spec((("-o", br),), target=("NM-IN-" + br,), comment=tag)))
    out.add(("rule", filter_table, "NETMODES-FWD-OUT", spec((("-i", br),), target=("NM-OUT-" + br,), comment=tag)))
    # Where a bridge in gateway mode routed or nat-unprotected drops what comes from the others (nftables' @bridges).
    out.add(("rule", filter_table, "NETMODES-BRIDGES", spec((("-i", br),), target=("DROP",), comment=tag)))
    if (6 if is6(filter_table) else 4) in policy.isolated():
        # Gateway mode isolated: nothing of the family enters the host from the bridge (nftables' host-in-BR).
        out.add(("rule", filter_table, "NETMODES-INPUT", spec((("-i", br),), target=("DROP",), comment=tag)))
    if policy.internal:
        # Docker's DOCKER-INTERNAL: before NETMODES-FWD-IN, where another bridge's published port is accepted.
        out.add(("rule", filter_table, "NETMODES-ISOLATE", spec((("-i", br), ("!-o", br)), target=("DROP",), comment=tag)))
    return out


def _bridge_items(policy, tag):
    """A bridge's rules: IPv4's always (as before IPv6), ip6tables' too when one of its subnets is IPv6."""
    br = policy.bridge
    v6 = any(subnet.version == 6 for subnet in policy.subnets)
    out = _filter_items(policy, tag, "filter") | (_filter_items(policy, tag, "filter6") if v6 else set())
    for subnet in (s for s in policy.subnets if policy.nat(s.version)):
        nat, to = "nat" if subnet.version == 4 else "nat6", policy.snat_to(subnet.version)
        target = ("SNAT", {"to-source": str(to)}) if to else ("MASQUERADE",)
        out.add(("rule", nat, "NETMODES-POSTROUTING", spec((("-s", str(subnet)), ("!-o", br)), target=target, comment=tag)))
    # Nothing arriving on the bridge reaches the host's 127.0.0.0/8 (CVE-2020-8558); IPv6's ::1 is
    # never routed from another interface.
    out.add(("rule", "raw", "NETMODES-RAW", spec((_LOOPBACK, ("-i", br)), target=("DROP",), comment=tag)))
    return out


def _guard_items(guard, tag):
    out = {("rule", table, "NETMODES-UPLINKS", spec((("-i", name),), target=("NETMODES-CLOSED",), comment=tag))
           for table, names in (("filter", guard.uplinks), ("filter6", guard.uplinks6)) for name in names}
    return out | {("rule", "raw", "NETMODES-RAW", spec((_LOOPBACK, ("-i", name)), target=("DROP",), comment=tag)) for name in guard.localnet}


def _resolver_items(access, tag):
    """Who may reach a network's resolver (intents.ResolverAccess), in each family it listens in:
    the same rules as the nftables backend's."""
    chain, out = RESOLVER_PREFIX + access.device, set()
    for version in sorted({address.version for address in access.addresses}):
        table, host = ("filter", 32) if version == 4 else ("filter6", 128)
        rules = [spec((("-s", str(subnet)), ("-i", access.device)), comment=tag) for subnet in access.subnets if subnet.version == version]
        rules += [spec((("-i", "lo"),), target=("RETURN",), comment=tag), spec(target=("DROP",), comment=tag)]
        out.add(("chain", table, chain, tuple(rules)))
        for address in (a for a in access.addresses if a.version == version):
            for proto in ("udp", "tcp"):
                head, matches = _port((("-d", "%s/%d" % (address, host)),), proto, str(access.port))
                out.add(("rule", table, "NETMODES-INPUT", spec(head, matches, (chain,), tag)))
    return out


def _view_items(redirect, tag):
    """A sandbox's redirect to its resolver view (intents.ViewRedirect): a DNAT rule per source and protocol."""
    v4 = redirect.address.version == 4
    table, host = ("nat", "/32") if v4 else ("nat6", "/128")
    to = ("%s:%d" if v4 else "[%s]:%d") % (redirect.address, redirect.port)
    out = set()
    for source in redirect.sources:
        for proto in ("udp", "tcp"):
            head, ms = _port((("-s", str(source) + host), ("-d", str(redirect.address) + host), ("-i", redirect.device)), proto, "53")
            out.add(("rule", table, "NETMODES-DNAT", spec(head, ms, ("DNAT", {"to-destination": to}), tag)))
    return out


def _view_port_items(view, tag):
    """A resolver view's own port (intents.ViewPort): dropped, after the fixed admission of what was redirected."""
    out = set()
    for address in view.addresses:
        table, host = ("filter", "/32") if address.version == 4 else ("filter6", "/128")
        for proto in ("udp", "tcp"):
            head, ms = _port((("-d", str(address) + host),), proto, str(view.port))
            out.add(("rule", table, "NETMODES-INPUT", spec(head, ms, ("DROP",), tag)))
    return out


def u32_vni(vni, version=4):
    """The u32 match of VXLAN with VNI (the 24 bits after UDP's 8 bytes and VXLAN's first 4), as
    iptables prints it back: Docker's match for its encrypted overlays' cleartext drop (IPv4,
    past the header's options); over IPv6, UDP right after the fixed header (next header 17) and
    the VNI at 40 + 8 + 4."""
    if version == 4:
        return "0x0>>0x16&0x3c@0xc>>0x8=0x%x" % vni
    return "0x4>>0x8&0xff=0x11&&0x34>>0x8=0x%x" % vni


# IPv6 whose next header is not UDP: where u32 cannot find the VNI (extension headers first). The
# kernel's VXLAN sends none, so such VXLAN is no peer's and is dropped rather than let past the match.
IPV6_EXTENDED = "0x4>>0x8&0xff=0x0:0x10,0x12:0xff"


def _vxlan_items(peers, tag):
    """A VXLAN device's filter (intents.VxlanPeers), in raw PREROUTING as the nftables backend's:
    its VXLAN to this host goes through a chain of its own that returns for its peers and drops
    the rest; over an IPv6 underlay in ip6tables, where VXLAN behind extension headers is dropped."""
    v4 = peers.version == 4
    raw, host = ("raw", 32) if v4 else ("raw6", 128)
    chain = VXLAN_PREFIX + peers.device
    rules = [spec((("-s", "%s/%d" % (source, host)),), target=("RETURN",), comment=tag) for source in peers.sources]
    rules.append(spec(target=("DROP",), comment=tag))
    head, matches = _port((), "udp", str(peers.dstport))
    out = {("chain", raw, chain, tuple(rules)),
           ("rule", raw, "NETMODES-RAW", spec(head, matches + [("u32", {"u32": u32_vni(peers.vni, peers.version)}), _LOCAL], (chain,), tag))}
    if not v4:
        out.add(("rule", raw, "NETMODES-RAW", spec(head, matches + [("u32", {"u32": IPV6_EXTENDED}), _LOCAL], ("DROP",), tag)))
    return out


def render(owner, intents):
    """The items of INTENTS (intents.Publish, BridgePolicy, VxlanPeers, ResolverAccess and Guard), tagged as OWNER's."""
    out = set()
    for intent in intents:
        if isinstance(intent, VxlanPeers):
            out |= _vxlan_items(intent, _tag(owner))
        elif isinstance(intent, ResolverAccess):
            out |= _resolver_items(intent, _tag(owner))
        elif isinstance(intent, ViewRedirect):
            out |= _view_items(intent, _tag(owner))
        elif isinstance(intent, ViewPort):
            out |= _view_port_items(intent, _tag(owner))
        elif isinstance(intent, Guard):
            out |= _guard_items(intent, _tag(owner))
        else:
            out |= (_bridge_items if hasattr(intent, "bridge") else _port_items)(intent, _tag(owner))
    return out


def _comment(rule_spec):
    for name, params in rule_spec[1]:
        if name == "comment":
            return dict(params).get("comment", "")
    return ""


def _owner(item):
    if item[0] == "chain" and item[2].startswith(ALLOW_PREFIX):
        tag = _comment(item[3][0]) if item[3] else ""
        return tag[len(TAG) + 1:] if tag.startswith(TAG + ":") else None
    if item[0] == "chain":
        for prefix, kind in _CHAIN_ITEMS.items():
            if item[2].startswith(prefix):
                return "%s:%s" % (kind, item[2][len(prefix):])
    tag = _comment(item[3])
    return tag[len(TAG) + 1:] if tag.startswith(TAG + ":") else None


def text(rule_spec, comments=True):
    """A spec in iptables-save words (for messages and tests), with or without its comment."""
    head, matches, target = rule_spec
    words = []
    for flag, value in head:
        words += (["!", flag[1:]] if flag.startswith("!") else [flag]) + [value]
    for name, params in matches:
        if name == "comment" and not comments:
            continue
        words += ["-m", name] + [w for key, value in params for w in ("--" + key, '"%s"' % value if " " in value else value)]
    words += ["-j", target[0]] + [w for key, value in target[1] for w in ("--" + key, value)]
    return " ".join(words)


def ours(chain):
    """CHAIN is of our names (the user's NETMODES-USER too)."""
    return chain.startswith("NETMODES-") or chain.startswith(_BRIDGE_PREFIXES)
