# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The analyser of other programs' rules: which of our packets their base chains drop (read-only)."""

from __future__ import annotations

from dataclasses import dataclass, replace

# -- other firewalls' drops (netavark#977) ------------------------------------------------------
#
# A packet must be accepted by every base chain on a hook, in every table and in iptables-legacy
# too: an accept in our table does not override another table's drop. So before it can be said
# that a bridge's traffic flows, the base chains of others on the hooks it passes are walked
# (read-only) for each kind of packet (a ``Flow``). What is understood of a rule: interface names
# (with wildcards and sets), IPv4 and IPv6 source and destination prefixes, conntrack state and DNAT
# status, jumps, gotos, returns and verdicts; any other match (ports, marks, addrtype, limits)
# makes the rule cover part of a flow only, and such a rule neither accepts nor drops the flow.
# A flow is reported when a rule drops (or rejects) all of it, or the chain's policy is drop
# and no rule accepts all of it. A chain sees one family's packets (an ``ip`` or ``ip6`` table,
# iptables or ip6tables) or both (``inet``): a dual-stack flow is walked once per family it has.

HOOKS = ("prerouting", "input", "forward")


@dataclass(frozen=True)
class Flow:
    """A kind of packet of ours that a hook sees. IIF/OIF: True for the bridge, False for any
    other interface, None where the hook has none. SUBNETS: the bridge's, the source address
    when the packet comes from the bridge, else the destination."""

    hook: str
    what: str
    bridge: str
    iif: object = None
    oif: object = None
    subnets: tuple = ()
    state: str = "new"
    dnat: bool = False


@dataclass(frozen=True)
class Rule:
    """A rule of someone else's, as the walk sees it: CONDITIONS are (key, negated, values)
    with key iif, oif, saddr, daddr, ctstate, ctstatus or other; VERDICT accept, drop, jump,
    goto, return, ours (a jump into our chains), or None (a statement: counter, log)."""

    conditions: tuple = ()
    verdict: str = None
    target: str = None
    text: str = ""


@dataclass(frozen=True)
class BaseChain:
    """A base chain of someone else's on HOOK. CHAINS: its table's other chains, as
    ((name, rules), ...), for jumps. TOOL spells the advice: nft, iptables-legacy or iptables-nft."""

    where: str
    hook: str
    policy: str
    rules: tuple
    chains: tuple = ()
    tool: str = "nft"
    address: tuple = ()     # what the tool needs to name the chain: (family, table, chain) or (table, chain)
    user_chain: str = None  # a chain the user adds accepts to instead (Docker's DOCKER-USER)
    family: int = None      # the IP version of the packets it sees: 4, 6, or None for both (inet)


@dataclass(frozen=True)
class Unreadable:
    """A firewall that could not be read: its drops were not looked for (WHY)."""

    where: str
    why: str


def bridge_flows(policy, bridged):
    """The flows of a bridge network (BridgePolicy) that other firewalls could drop. BRIDGED:
    packets between members pass the IP hooks too (br_netfilter's bridge-nf-call-iptables)."""
    br, nets = policy.bridge, tuple(policy.subnets)
    host = tuple(n for n in nets if n.version not in policy.isolated())   # an isolated family reaches nothing of the host
    flows = [Flow("prerouting", "everything %s's sandboxes send" % br, br, iif=True, subnets=nets)]
    if host:
        flows += [Flow("input", "connections from %s's sandboxes to this host's own addresses" % br, br, iif=True, subnets=host),
                  Flow("input", "replies to this host's connections into %s" % br, br, iif=True, subnets=host, state="established")]
    if not policy.internal:
        flows += [Flow("forward", "outbound connections of %s's sandboxes" % br, br, iif=True, oif=False, subnets=nets),
                  Flow("forward", "replies to outbound connections of %s's sandboxes" % br, br, iif=False, oif=True,
                       subnets=nets, state="established")]
    if bridged and policy.icc:
        flows.append(Flow("forward", "traffic between members of %s" % br, br, iif=True, oif=True, subnets=nets))
    return flows


def publish_flows(bridge, subnets):
    """The flow of connections to ports published into BRIDGE (to the sandbox's SUBNETS, one a family)."""
    return [Flow("forward", "connections to ports published into %s" % bridge, bridge, iif=False, oif=True,
                 subnets=tuple(subnets), dnat=True)]


def _iface(side, patterns, bridge):
    if side:
        return any(_fnmatch(bridge, p) for p in patterns)
    # Some other interface: a rule naming only the bridge matches none of it, any other name some.
    return False if all(p == bridge for p in patterns) else None


def _fnmatch(name, pattern):
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


def _addresses(flow, key, networks):
    ours = (key == "saddr") == bool(flow.iif)
    if not ours or not flow.subnets:
        return None
    # (a dual-stack network's flow has subnets of both families; a network of the other family holds none of them)
    if all(any(s.version == n.version and s.subnet_of(n) for n in networks) for s in flow.subnets):
        return True
    if not any(s.overlaps(n) for s in flow.subnets for n in networks):
        return False
    return None


def _condition(condition, flow):
    key, negated, values = condition
    if key in ("iif", "oif") and getattr(flow, key) is None:
        return False  # no such interface on this hook: neither a match nor a negated one holds
    if key in ("iif", "oif"):
        found = _iface(getattr(flow, key), values, flow.bridge)
    elif key in ("saddr", "daddr") and flow.subnets and not {n.version for n in values} & {s.version for s in flow.subnets}:
        return False  # the other family's addresses (``ip6 saddr`` matches IPv6 packets only): none of these, negated or not
    elif key in ("saddr", "daddr"):
        found = _addresses(flow, key, values)
    elif key == "ctstate":
        found = flow.state in values
    elif key == "ctstatus":
        found = ("dnat" in values) == flow.dnat if values <= {"dnat"} else None
    else:
        return None
    return found if found is None or not negated else not found


def _matches(rule, flow):
    """True: the rule matches all of FLOW; False: none of it; None: part of it, or unknown."""
    result = True
    for condition in rule.conditions:
        found = _condition(condition, flow)
        if found is False:
            return False
        if found is None:
            result = None
    return result


def _walk(rules, chains, flow, depth=0):
    """(verdict, rule) a chain gives all of FLOW: accept, drop, or return (it goes on in the caller)."""
    for rule in rules:
        if rule.verdict is None:
            continue
        hit = _matches(rule, flow)
        if hit is False:
            continue
        if rule.verdict in ("jump", "goto"):
            if hit is None or depth > 16 or rule.target not in chains:
                continue
            verdict, why = _walk(chains[rule.target], chains, flow, depth + 1)
            if verdict != "return" or rule.verdict == "goto":
                return verdict, why
        elif hit is None:
            continue  # a rule for part of the flow: the rest goes on
        elif rule.verdict in ("accept", "ours"):
            return "accept", rule
        elif rule.verdict in ("drop", "reject"):
            return "drop", rule
        elif rule.verdict == "return":
            return "return", None
    return "return", None


def _parts(flow, family):
    """FLOW as the packets of each IP version a chain of FAMILY sees (see BaseChain.family). A
    flow without subnets is an IPv4 chain's to judge (none of it is known to be IPv6)."""
    versions = sorted({s.version for s in flow.subnets}) or [4]
    return [replace(flow, subnets=tuple(s for s in flow.subnets if s.version == v)) for v in versions if family in (None, v)]


def drops(chain, flow):
    """Why CHAIN drops all of FLOW, or all of one family's part of it (its policy, or a rule), or
    None when it lets it through."""
    if chain.hook != flow.hook:
        return None
    for part in _parts(flow, chain.family):
        verdict, rule = _walk(chain.rules, dict(chain.chains), part)
        if verdict == "drop":
            return "its rule %s drops them" % rule.text
        if verdict == "return" and chain.policy == "drop":
            return "its policy is drop and no rule accepts them"
    return None


def _advice(chain, flows):
    """The commands that add an accept for the bridge to CHAIN, one per side FLOWS need."""
    bridge, sides = flows[0].bridge, sorted({"iif" if f.iif is True else "oif" for f in flows})
    if chain.tool == "nft":
        family, table, name = chain.address
        return ["nft insert rule %s %s %s %sname \"%s\" accept" % (family, table, name, side, bridge) for side in sides]
    table, name = chain.address
    # Docker's own chain for this, where FORWARD jumps to it first.
    if any(r.verdict == "jump" and r.target == "DOCKER-USER" and not r.conditions for r in chain.rules):
        name = "DOCKER-USER"
    flag = {"iif": "-i", "oif": "-o"}
    return ["%s -t %s -I %s %s %s -j ACCEPT" % (chain.tool, table, name, flag[side], bridge) for side in sides]


def _words(items):
    items = list(items)
    return items[0] if len(items) == 1 else "%s and %s" % (", ".join(items[:-1]), items[-1])


def blocked(subject, chains, flows):
    """Warnings, one per chain of CHAINS (others' base chains) that drops some of FLOWS, for SUBJECT."""
    out = []
    for chain in chains:
        if isinstance(chain, Unreadable):
            # No subject: one warning for a module run, however many networks it checks.
            out.append("firewall: cannot read %s, so drops there that would block netmodes' traffic were not looked for: %s"
                       % (chain.where, chain.why))
            continue
        found = [(flow, why) for flow in flows if (why := drops(chain, flow))]
        if not found:
            continue
        bridge = found[0][0].bridge
        if chain.hook == "input":
            tail = "if the sandboxes of %s should reach this host's own services (netmodes does not filter those)" % bridge
        else:
            tail = "(netmodes' own rules still apply the network policy of %s)" % bridge
        out.append("%s: %s (hook %s) drops %s: %s. A packet must be accepted by every base chain on its hook, so the"
                   " accepts in netmodes' own rules cannot let these through (netavark#977). Add an accept for interface"
                   " %s to that chain %s: %s" % (
                       subject, chain.where, chain.hook, _words(f.what for f, _why in found), _words(sorted({w for _f, w in found})),
                       bridge, tail, "; ".join(_advice(chain, [f for f, _why in found]))))
    return out
