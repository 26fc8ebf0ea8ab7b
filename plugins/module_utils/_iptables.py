# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend (python-iptables, for iptables-legacy hosts): every iptables rule is made here.

The same policy as the nftables backend, in chains of our own, each hooked once from a built-in
chain by a rule commented ``netmodes``; every other rule carries ``netmodes:OWNER``::

    filter  FORWARD      -> NETMODES-FORWARD: -j NETMODES-USER (never flushed), -j NETMODES-ISOLATE,
                            -j NETMODES-FWD-IN, -j NETMODES-FWD-OUT, -j NETMODES-UPLINKS
            NETMODES-ISOLATE  -i BR ! -o BR -j DROP  (one per internal bridge: no egress, before any accept)
            NETMODES-FWD-IN   -o BR -j NM-IN-BR      (one per bridge; then NM-IN-BR's policy)
            NETMODES-FWD-OUT  -i BR -j NM-OUT-BR
            NETMODES-UPLINKS  -i IF -j NETMODES-CLOSED (one per interface whose forwarding we switched on)
            NETMODES-CLOSED   DNATed -> NETMODES-PUBLISHED, their replies -> NETMODES-REPLIES, -j DROP
            NETMODES-PUBLISHED  -d SANDBOX -p P --dport PORT -j ACCEPT   (jumped to for DNATed packets)
            NETMODES-REPLIES    -s SANDBOX -p P --sport PORT -j ACCEPT   (their replies, from NETMODES-CLOSED)
    nat     PREROUTING, OUTPUT -m addrtype --dst-type LOCAL -> NETMODES-DNAT (one DNAT rule per port)
            POSTROUTING -> NETMODES-POSTROUTING (loopback, hairpin and outbound masquerade)
    raw     PREROUTING  -> NETMODES-RAW (drop remote packets for 127.0.0.1-published ports, and
                            127.0.0.0/8 arriving on our bridges or where we switched route_localnet on;
                            -p udp --dport PORT -m u32 VNI -m addrtype --dst-type LOCAL -j NETMODES-VX-DEV)
            NETMODES-VX-DEV  -s PEER -j RETURN (one per peer of VXLAN device DEV), -j DROP

A chain of our names (but NETMODES-USER, the user's) is ours only while every rule in it carries
our comment: one holding a rule of someone else's is refused, never flushed or deleted.

Unlike nftables, iptables rules are matched one after another, so lookups grow with the number
of published ports. Each table is written with one commit per run (libiptc replaces the whole
table at once), raw, then nat, then filter.

python-iptables has no namespace argument: it works in the network namespace of the process.
The module process never leaves the host's namespace (netlink reaches sandboxes through
sockets of their own), so these rules always land in the host's tables.
"""

from __future__ import annotations

import ipaddress
import shlex
import subprocess
import traceback

try:
    from ansible.module_utils.basic import missing_required_lib
except ImportError:  # the boot-time restore (_restore) runs on hosts without Ansible
    def missing_required_lib(library, reason=None):
        return "Failed to import the required Python library (%s)%s" % (library, ", " + reason if reason else "")

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, KernelError, MissingLibrary
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import BaseChain, Guard, OwnedItems, Rule, Unreadable, VxlanPeers, _which, read_foreign

TAG = "netmodes"
USER_CHAIN = "NETMODES-USER"
_BRIDGE_PREFIXES = ("NM-IN-", "NM-OUT-")
VXLAN_PREFIX = "NETMODES-VX-"
# The chains that are an owner's item as a whole, by the prefix of their names: prefix -> kind of owner.
_CHAIN_ITEMS = {**dict.fromkeys(_BRIDGE_PREFIXES, "bridge"), VXLAN_PREFIX: "vxlan"}
TABLES = ("raw", "nat", "filter")   # commit order

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

# Chains and their fixed rules: (table, chain) -> [spec] (None: a chain of owned rules only).
HOOKS = {
    ("filter", "FORWARD"): spec(target=("NETMODES-FORWARD",)),
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
    ("filter", "NETMODES-REPLIES"): None,
    ("nat", "NETMODES-DNAT"): None,
    # The host reaching a sandbox through 127.0.0.1 (route_localnet lets it leave lo).
    ("nat", "NETMODES-POSTROUTING"): [spec((("-s", "127.0.0.0/8"),), [_DNATED], ("MASQUERADE",))],
    ("raw", "NETMODES-RAW"): None,
}


def _tag(owner):
    return "%s:%s" % (TAG, owner)


def _port_items(publish, tag):
    mapping, target, subnet = publish.mapping, str(publish.target), str(publish.subnet)
    proto, out = mapping.protocol, set()
    host = () if mapping.host_ip.is_unspecified else (("-d", "%s/32" % mapping.host_ip),)
    if mapping.size > 1 and mapping.host_port == mapping.container_port:
        pairs = [(mapping.host_ports(), target)]   # DNAT keeps the port
    else:
        pairs = [(str(mapping.host_port + i), "%s:%d" % (target, mapping.container_port + i)) for i in range(mapping.size)]
    for hport, dest in pairs:
        head, ms = _port(host, proto, hport)
        out.add(("rule", "nat", "NETMODES-DNAT", spec(head, ms, ("DNAT", {"to-destination": dest}), tag)))
    cports = "%d" % mapping.container_port if mapping.size == 1 else "%d-%d" % (mapping.container_port, mapping.container_port_end)
    head, ms = _port((("-d", target + "/32"),), proto, cports)
    out.add(("rule", "filter", "NETMODES-PUBLISHED", spec(head, ms, ("ACCEPT",), tag)))
    replies = spec((("-s", target + "/32"), ("-p", proto)), [(proto, {"sport": cports.replace("-", ":")})], ("ACCEPT",), tag)
    out.add(("rule", "filter", "NETMODES-REPLIES", replies))
    head, ms = _port((("-s", subnet), ("-d", target + "/32")), proto, cports)
    out.add(("rule", "nat", "NETMODES-POSTROUTING", spec(head, ms + [_DNATED], ("MASQUERADE",), tag)))
    if mapping.host_ip.is_loopback:
        head, ms = _port(host + (("!-i", "lo"),), proto, mapping.host_ports())
        out.add(("rule", "raw", "NETMODES-RAW", spec(head, ms, ("DROP",), tag)))
    return out


def bridge_chains(policy, tag):
    """{chain: [spec]} of one bridge's policy: the same rules as the nftables backend's."""
    br = policy.bridge
    into = [spec(matches=[_ESTABLISHED], comment=tag)]
    out = [spec(matches=[_ESTABLISHED], comment=tag)]
    if policy.internal:
        into.append(spec((("!-i", br),), target=("DROP",), comment=tag))
        out.append(spec((("!-o", br),), target=("DROP",), comment=tag))
    else:
        into.append(spec(matches=[_DNATED], target=("NETMODES-PUBLISHED",), comment=tag))
    into.append(spec((("-i", br),), target=("ACCEPT" if policy.icc else "DROP",), comment=tag))
    into.append(spec(target=("DROP",), comment=tag))
    out.append(spec(comment=tag))
    return {"NM-IN-" + br: into, "NM-OUT-" + br: out}


def _bridge_items(policy, tag):
    br = policy.bridge
    out = {("chain", "filter", name, tuple(rules)) for name, rules in bridge_chains(policy, tag).items()}
    out.add(("rule", "filter", "NETMODES-FWD-IN", spec((("-o", br),), target=("NM-IN-" + br,), comment=tag)))
    out.add(("rule", "filter", "NETMODES-FWD-OUT", spec((("-i", br),), target=("NM-OUT-" + br,), comment=tag)))
    if policy.internal:
        # Docker's DOCKER-INTERNAL: before NETMODES-FWD-IN, where another bridge's published port is accepted.
        out.add(("rule", "filter", "NETMODES-ISOLATE", spec((("-i", br), ("!-o", br)), target=("DROP",), comment=tag)))
    if policy.masquerade and not policy.internal:
        for subnet in policy.subnets:
            out.add(("rule", "nat", "NETMODES-POSTROUTING", spec((("-s", str(subnet)), ("!-o", br)), target=("MASQUERADE",), comment=tag)))
    # Nothing arriving on the bridge reaches the host's 127.0.0.0/8 (CVE-2020-8558).
    out.add(("rule", "raw", "NETMODES-RAW", spec((_LOOPBACK, ("-i", br)), target=("DROP",), comment=tag)))
    return out


def _guard_items(guard, tag):
    out = {("rule", "filter", "NETMODES-UPLINKS", spec((("-i", name),), target=("NETMODES-CLOSED",), comment=tag)) for name in guard.uplinks}
    return out | {("rule", "raw", "NETMODES-RAW", spec((_LOOPBACK, ("-i", name)), target=("DROP",), comment=tag)) for name in guard.localnet}


def u32_vni(vni):
    """The u32 match of VXLAN with VNI (the 24 bits after UDP's 8 bytes and VXLAN's first 4), as
    iptables prints it back: Docker's match for its encrypted overlays' cleartext drop."""
    return "0x0>>0x16&0x3c@0xc>>0x8=0x%x" % vni


def _vxlan_items(peers, tag):
    """A VXLAN device's filter (_firewall.VxlanPeers), in raw PREROUTING as the nftables backend's:
    its VXLAN to this host goes through a chain of its own that returns for its peers and drops
    the rest. IPv4 only, as everything this backend writes."""
    if peers.version != 4:
        return set()
    chain = VXLAN_PREFIX + peers.device
    rules = [spec((("-s", "%s/32" % source),), target=("RETURN",), comment=tag) for source in peers.sources]
    rules.append(spec(target=("DROP",), comment=tag))
    head, matches = _port((), "udp", str(peers.dstport))
    matches += [("u32", {"u32": u32_vni(peers.vni)}), _LOCAL]
    return {("chain", "raw", chain, tuple(rules)), ("rule", "raw", "NETMODES-RAW", spec(head, matches, (chain,), tag))}


def render(owner, intents):
    """The items of INTENTS (_firewall.Publish, BridgePolicy, VxlanPeers and Guard), tagged as OWNER's."""
    out = set()
    for intent in intents:
        if isinstance(intent, VxlanPeers):
            out |= _vxlan_items(intent, _tag(owner))
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
        from ansible_collections.netmodes.linux.plugins.module_utils._model import port_mapping

        out = []
        for rule in self.chains.get(("nat", "NETMODES-DNAT"), []):
            head, matches, target = dict(rule[0]), dict(rule[1]), dict(target_params(rule))
            who = _owner(("rule", "nat", "NETMODES-DNAT", rule))
            proto = head.get("-p")
            if not who or proto not in matches:
                continue
            hport = dict(matches[proto])["dport"].replace(":", "-")
            dest = target.get("to-destination", "")
            cport = dest.rpartition(":")[2] if ":" in dest else hport
            ip = head["-d"].split("/")[0] + ":" if "-d" in head else ""
            out.append((who, port_mapping("%s%s:%s/%s" % (ip, hport, cport, proto), "ports")))
        return sorted(out)

    def intact(self):
        if any(self.hooks.get(key) != [rule] for key, rule in HOOKS.items()):
            return False
        if (("filter", USER_CHAIN)) not in self.chains:
            return False
        for key, fixed in CHAIN_RULES.items():
            if key not in self.chains or (fixed and self.chains[key][:len(fixed)] != fixed):
                return False
        return True

    def empty_after(self, owner, want):
        return not want and not (self.owners() - {owner}) and not self.chains.get(("filter", USER_CHAIN))

    def replaced(self, owner, want):
        """The state a fresh read gives once ``changes(self, owner, want, …)`` is committed (the
        rules' order aside): what a second change staged for the same commit is planned on."""
        if self.empty_after(owner, want):
            return State()
        chains = {}
        for (table, chain), rules in self.chains.items():
            if chain.startswith(tuple(_CHAIN_ITEMS)):
                if _owner(("chain", table, chain, ())) != owner:
                    chains[(table, chain)] = list(rules)
                continue
            chains[(table, chain)] = [r for r in rules if _owner(("rule", table, chain, r)) != owner]
        for key, fixed in CHAIN_RULES.items():
            have = chains.get(key, [])
            chains[key] = fixed + [r for r in have if r not in fixed] if fixed and have[:len(fixed)] != fixed else have
        chains.setdefault(("filter", USER_CHAIN), [])
        for item in sorted(want):
            if item[0] == "chain":
                chains[(item[1], item[2])] = list(item[3])
            else:
                chains.setdefault((item[1], item[2]), []).append(item[3])
        return State(chains, {key: [rule] for key, rule in HOOKS.items()})


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


def _skeleton(state):
    # Chains first: a rule can only jump to a chain that exists.
    cmds = [("chain", "filter", USER_CHAIN)] + [("chain", table, chain) for table, chain in CHAIN_RULES]
    for (table, chain), fixed in CHAIN_RULES.items():
        have = state.chains.get((table, chain), [])
        if fixed and have[:len(fixed)] != fixed:
            cmds += [("delete", table, chain, rule) for rule in fixed if rule in have]
            cmds += [("insert", table, chain, rule, i) for i, rule in enumerate(fixed)]
    for (table, chain), rule in HOOKS.items():
        found = state.hooks.get((table, chain), [])
        if found != [rule]:
            cmds += [("delete", table, chain, r) for r in found]
            cmds.append(("insert", table, chain, rule, 0))
    return cmds


def _teardown(state):
    cmds = [("delete", table, chain, rule) for (table, chain), rules in state.hooks.items() for rule in rules]
    cmds += [("flush", table, chain) for table, chain in state.chains]
    cmds += [("delete_chain", table, chain) for table, chain in state.chains]
    return cmds


def changes(state, owner, want, have):
    """Commands that turn OWNER's items HAVE into WANT, keeping the skeleton intact; when nothing
    of anybody's is left, every chain and hook of ours goes."""
    if state.empty_after(owner, want):
        return _teardown(state)
    cmds = _skeleton(state)
    cmds += [("delete",) + item[1:] for item in sorted(have - want) if item[0] == "rule"]
    wanted_chains = {item[2] for item in want if item[0] == "chain"}
    for _kind, table, chain, rules in sorted(want - have):
        if _kind == "chain":
            cmds += [("chain", table, chain), ("flush", table, chain)]
            cmds += [("append", table, chain, rule) for rule in rules]
    cmds += [("append",) + item[1:] for item in sorted(want - have) if item[0] == "rule"]
    for _kind, table, chain, _rules in sorted(have - want):
        if _kind == "chain" and chain not in wanted_chains:
            cmds += [("flush", table, chain), ("delete_chain", table, chain)]
    return cmds


def _ours(chain):
    return chain.startswith("NETMODES-") or chain.startswith(_BRIDGE_PREFIXES)


# -- others' iptables chains, read-only (what _firewall.blocked walks) -----------------------------

LEGACY_NAMES = "/proc/net/ip_tables_names"
# The built-in chains on the hooks our traffic passes (nat's cannot drop).
SAVE_HOOKS = {("raw", "PREROUTING"): "prerouting", ("mangle", "PREROUTING"): "prerouting", ("mangle", "INPUT"): "input",
              ("mangle", "FORWARD"): "forward", ("filter", "INPUT"): "input", ("filter", "FORWARD"): "forward"}
_VERDICTS = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "reject", "RETURN": "return"}
_OTHER = ("other", False, None)
_VIRTUAL_STATES = {"dnat", "snat"}


def save(tool, run=subprocess.run, names=LEGACY_NAMES):
    """What TOOL (iptables-legacy-save or iptables-nft-save) prints of the tables there are; ""
    without the tool or, for legacy, without tables.

    Naming a legacy table would create it (the kernel makes one on first use), so the command
    runs without ``-t``, and iptables-legacy-save only when /proc/net/ip_tables_names lists some.
    """
    if tool == "iptables-legacy-save":
        try:
            with open(names) as handle:
                if not handle.read().split():
                    return ""
        except OSError:
            return ""
    path = _which(tool)
    if not path:
        return ""
    proc = run([path], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise KernelError("iptables: %s failed: %s" % (tool, (proc.stderr or "").strip()))
    return proc.stdout


def _legacy_condition(option, negated, module, args):
    value = args[0] if args else ""
    if option in ("-i", "-o", "--in-interface", "--out-interface"):
        key = "iif" if option in ("-i", "--in-interface") else "oif"
        return (key, negated, frozenset([value[:-1] + "*" if value.endswith("+") else value]))
    if option in ("-s", "-d", "--source", "--destination"):
        try:
            nets = frozenset(ipaddress.ip_network(v, strict=False) for v in value.split(","))
        except ValueError:
            return _OTHER
        return ("saddr" if option in ("-s", "--source") else "daddr", negated, nets)
    if (module, option) in (("conntrack", "--ctstate"), ("state", "--state")):
        states = frozenset(value.lower().split(","))
        if states <= _VIRTUAL_STATES:
            return ("ctstatus", negated, states)
        return _OTHER if states & _VIRTUAL_STATES else ("ctstate", negated, states)
    if module == "comment" or option == "-m":
        return None
    return _OTHER


def legacy_rule(words, text):
    """A _firewall.Rule from the words of one ``-A CHAIN ...`` line after the chain."""
    conditions, negated, module, index = [], False, None, 0
    while index < len(words):
        option = words[index]
        if option == "!":
            negated, index = True, index + 1
            continue
        args = []
        index += 1
        while index < len(words) and words[index] != "!" and not words[index].startswith("-"):
            args.append(words[index])
            index += 1
        if option in ("-j", "-g", "--jump", "--goto") and args:
            target = args[0]
            if _ours(target):
                return Rule(tuple(conditions), "ours", target, text)
            if option in ("-g", "--goto"):
                return Rule(tuple(conditions), "goto", target, text)
            return Rule(tuple(conditions), _VERDICTS.get(target, "jump"), target, text)
        if option in ("-m", "--match"):
            module = args[0] if args else None
        condition = _legacy_condition(option, negated, module, args)
        if condition is not None:
            conditions.append(condition)
        negated = False
    return Rule(tuple(conditions), None, None, text)


# iptables-save prints a comment as it is, between quotes, newlines too (up to 255 bytes).
_MAX_RULE_LINES = 256


def _rule_words(lines, index):
    """(words, text, next index) of the ``-A`` line LINES[INDEX]: a comment that holds a newline
    is printed over several lines, so the rule goes on until its quotes close. (None, LINES[INDEX],
    INDEX + 1) when they never do."""
    text = lines[index]
    for end in range(index + 1, min(len(lines), index + _MAX_RULE_LINES) + 1):
        try:
            return shlex.split(text), text, end
        except ValueError:
            if end < len(lines):
                text += "\n" + lines[end]
    return None, lines[index], index + 1


def save_chains(text, tool="iptables-legacy", assume_hook=False):
    """The built-in chains on SAVE_HOOKS in TEXT (what TOOL-save prints) as _firewall.BaseChain;
    our chains are left out, and a jump into one counts as an accept (they accept our traffic).
    ASSUME_HOOK: filter FORWARD is read as if our hook were its first rule (this run writes it).
    A table with a rule that cannot be split into words is an _firewall.Unreadable."""
    tables, table, broken, lines, index = {}, None, {}, text.split("\n"), 0
    while index < len(lines):
        line, index = lines[index], index + 1
        if line.startswith("*"):
            name = line[1:].strip()
            table = tables.setdefault(name, ({}, {}))
        elif line.startswith(":") and table is not None:
            chain, policy = line[1:].split()[:2]
            table[0][chain] = policy.lower()
            table[1].setdefault(chain, [])
        elif line.startswith("-A ") and table is not None:
            words, rule, index = _rule_words(lines, index - 1)
            if words is None:
                broken.setdefault(name, line)
                continue
            table[1].setdefault(words[1], []).append(legacy_rule(words[2:], '"%s"' % rule.strip().replace("\n", "\\n")))
    out = []
    for (name, chain), hook in SAVE_HOOKS.items():
        where = "iptables-legacy table %s" % name if tool == "iptables-legacy" else "nftables table ip %s (iptables-nft)" % name
        if name in broken:
            out.append(Unreadable(where, "its rule %r has quotes that do not close" % broken.pop(name)))
            continue
        if chain not in tables.get(name, ({}, {}))[0]:
            continue
        policies, rules = tables[name]
        base = tuple(rules[chain])
        if assume_hook and (name, chain) == ("filter", "FORWARD") and not any(r.verdict == "ours" for r in base):
            base = (Rule((), "ours", "NETMODES-FORWARD", '"-A FORWARD -j NETMODES-FORWARD"'),) + base
        others = tuple((other, tuple(found)) for other, found in rules.items() if not _ours(other))
        out.append(BaseChain("%s, chain %s" % (where, chain), hook, policies[chain], base, others, tool, (name, chain)))
    return out


def only_existing(iptc, names=LEGACY_NAMES):
    """Keep python-iptables from creating tables that are not there (and that we do not use).

    To tell a jump to a chain from a target extension, python-iptables looks for the chain in
    every table it finds available, and finding out opens the table, which makes the kernel
    create it: a run that wrote to raw, nat and filter left empty mangle and security tables
    behind. Its cache of available tables is told the answer first.
    """
    try:
        with open(names) as handle:
            there = set(handle.read().split())
    except OSError:
        there = set()
    cache = getattr(iptc.Table, "existing_table_names", None)
    if isinstance(cache, dict):
        for name in getattr(iptc.Table, "ALL", ()):
            cache.setdefault(name, name in there or name in TABLES)


class Iptables:
    """The iptables adapter: read our chains through python-iptables, stage commands, commit
    each table once."""

    name = "iptables"

    def __init__(self):
        self._staged = []
        self._iptc = None
        self._state = None  # the last read, until the next commit (a batch reads many times)
        self._foreign = None  # others' base chains (and our hook, assumed): our commits do not change them

    changes = staticmethod(changes)
    render = staticmethod(render)

    def foreign_chains(self):
        """Others' base chains on the hooks our traffic passes (see _firewall.blocked), nftables
        tables included: a packet passes both."""
        if self._foreign is None:
            from ansible_collections.netmodes.linux.plugins.module_utils._nftables import Nftables

            self._foreign = read_foreign(Nftables(), assume_hook=True)
        return self._foreign

    def _lib(self):
        if self._iptc is None:
            try:
                import iptc
            except Exception as exc:  # iptc raises more than ImportError when libxtables is missing
                err = MissingLibrary("%s (%s: %s)" % (missing_required_lib("python-iptables", reason="for the iptables firewall backend"),
                                                      type(exc).__name__, exc), "firewall_backend")
                err.exception = traceback.format_exc()
                raise err from exc
            only_existing(iptc)
            self._iptc = iptc
        return self._iptc

    def read(self):
        if self._state is None:
            self._state = self._read()
        return self._state

    def _read(self):
        iptc, chains, hooks = self._lib(), {}, {}
        try:
            for table_name in TABLES:
                table = iptc.Table(table_name)
                table.refresh()
                for chain in table.chains:
                    if _ours(chain.name):
                        chains[(table_name, chain.name)] = [rule_spec(r) for r in chain.rules]
                    elif (table_name, chain.name) in HOOKS:
                        found = [rule_spec(r) for r in chain.rules]
                        hooks[(table_name, chain.name)] = [r for r in found if _comment(r) == TAG]
        except (iptc.IPTCError, OSError) as exc:
            raise KernelError("iptables: cannot read the %s table: %s" % (table_name, exc))
        return checked(State(chains, hooks))

    @staticmethod
    def after(state, owner, want):
        """What the chains will read as once OWNER's change to WANT is committed (the adapter
        reads them again after a commit; a plan of two changes plans the second on this)."""
        return state.replaced(owner, want)

    def stage(self, commands, after=None):
        self._staged += commands

    def commit(self):
        """Apply the staged commands, one libiptc commit per table (raw, nat, filter)."""
        staged, self._staged, self._state = self._staged, [], None
        iptc = self._lib()
        for table_name in TABLES:
            cmds = [c for c in staged if c[1] == table_name]
            if not cmds:
                continue
            table = iptc.Table(table_name)
            table.autocommit = False
            try:
                table.refresh()
                for group in _batches(cmds):
                    self._apply(iptc, table, group)
                table.commit()
            except (iptc.IPTCError, OSError, ValueError) as exc:
                raise KernelError("iptables: the %s table was not changed: %s" % (table_name, exc))
            finally:
                table.refresh()
                table.autocommit = True

    @staticmethod
    def _apply(iptc, table, group):
        """Apply one command, or a batch of deletes from one chain (found in one pass over it)."""
        verb, _table, chain = group[0][:3]
        if verb == "chain":
            if not table.is_chain(chain):
                table.create_chain(chain)
            return
        handle = iptc.Chain(table, chain)
        if verb == "delete":
            pending = [cmd[3] for cmd in group]
            for rule in handle.rules:
                found = rule_spec(rule)
                if found in pending:
                    pending.remove(found)
                    handle.delete_rule(rule)
            return
        (cmd,) = group
        if verb == "flush":
            handle.flush()
        elif verb == "delete_chain":
            table.delete_chain(chain)
        elif verb == "append":
            handle.append_rule(make_rule(iptc, cmd[3]))
        elif verb == "insert":
            handle.insert_rule(make_rule(iptc, cmd[3]), cmd[4])


def _batches(cmds):
    """Commands in order, with consecutive deletes from the same chain put together."""
    out = []
    for cmd in cmds:
        if out and cmd[0] == "delete" and out[-1][0][0] == "delete" and out[-1][0][2] == cmd[2]:
            out[-1].append(cmd)
        else:
            out.append([cmd])
    return out


_HEAD_ATTRS = {"-s": "src", "-d": "dst", "-i": "in_interface", "-o": "out_interface", "-p": "protocol"}


def make_rule(iptc, rule_spec):
    """An iptc.Rule from a spec."""
    head, matches, target = rule_spec
    rule = iptc.Rule()
    for flag, value in head:
        negated = flag.startswith("!")
        setattr(rule, _HEAD_ATTRS[flag.lstrip("!")], ("!" if negated else "") + value)
    for name, params in matches:
        match = rule.create_match(name)
        for key, value in params:
            match.set_parameter(key, value)
    tgt = rule.create_target(target[0])
    for key, value in target[1]:
        tgt.set_parameter(key, value)
    return rule


def _prefix(value):
    negated = value.startswith("!")
    net = ipaddress.ip_network(value.lstrip("!"), strict=False)
    return negated, str(net)


def rule_spec(rule):
    """The spec of an iptc.Rule read from the kernel (the inverse of make_rule)."""
    head = []
    for flag, attr in (("-s", "src"), ("-d", "dst")):
        negated, net = _prefix(getattr(rule, attr))
        if net != "0.0.0.0/0" or negated:
            head.append(("!" + flag if negated else flag, net))
    for flag, attr in (("-i", "in_interface"), ("-o", "out_interface")):
        value = getattr(rule, attr)
        if value:
            head.append(("!" + flag, value[1:]) if value.startswith("!") else (flag, value))
    if rule.protocol and rule.protocol != "ip":
        head.append(("-p", rule.protocol))
    matches = tuple((m.name, tuple(sorted((k, " ".join(v)) for k, v in m.get_all_parameters().items()))) for m in rule.matches)
    target = rule.target
    params = tuple(sorted((k, " ".join(v)) for k, v in target.get_all_parameters().items())) if target else ()
    return tuple(head), matches, (target.name if target else "", params)
