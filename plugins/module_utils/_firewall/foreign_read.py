# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading other programs' firewalls into what the analyser (``foreign``) walks: nftables
listings, iptables-nft-save and iptables-legacy-save and their ip6tables twins, read-only."""

from __future__ import annotations

import ipaddress
import shlex
import shutil
import subprocess

from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError, NetmodesError
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.foreign import HOOKS, BaseChain, Rule, Unreadable
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.ipt_rules import PASSING, ours
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.nft_rules import FAMILY, TABLE

_SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"
_OTHER = ("other", False, None)


def which(command):
    """The path of a firewall tool COMMAND, in sbin too (not always in a user's PATH)."""
    return shutil.which(command) or shutil.which(command, path=_SBIN)


# -- nftables: other tables' base chains ------------------------------------------------------

_IPTABLES_NFT = ("filter", "mangle", "raw", "security", "nat")   # iptables-nft's tables, and their built-in chains
_BUILTIN = ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")
# Statements that neither match nor decide: a rule with them decides as if they were not there.
_STATEMENTS = ("counter", "log", "mangle", "notrack", "set", "map", "ct helper", "ct timeout", "ct expectation")


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
    """A ``match`` expression as a foreign.Rule condition (key, negated, values)."""
    left, op = match.get("left"), match.get("op", "==")
    if op not in ("==", "!=", "in") or not isinstance(left, dict):
        return _OTHER
    values, negated = _values(match.get("right")), op == "!="
    meta, ct, payload = left.get("meta", {}).get("key"), left.get("ct", {}).get("key"), left.get("payload", {})
    if meta in ("iifname", "oifname", "iif", "oif") and all(isinstance(v, str) for v in values):
        return (meta[:3], negated, frozenset(values))
    if payload.get("protocol") in ("ip", "ip6") and payload.get("field") in ("saddr", "daddr"):
        nets = _networks(values)
        return _OTHER if nets is None else (payload["field"], negated, nets)
    if ct in ("state", "status") and all(isinstance(v, str) for v in values):
        return ("ct" + ct, negated, frozenset(values))
    return _OTHER


def foreign_rules(exprs, text):
    """The foreign.Rule(s) of one listed rule: one, or one per element of an inline verdict map
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


# The nftables families whose base chains see our packets, and the IP version of those (None: both).
_FAMILIES = {"ip": 4, "ip6": 6, "inet": None}
_NFT_TOOL = {"ip": "iptables-nft", "ip6": "ip6tables-nft"}


def iptables_nft_tables(listing):
    """The (family, name) of the ``ip`` and ``ip6`` tables in LISTING that iptables-nft and
    ip6tables-nft manage (their table names, upper-case built-in chains)."""
    return {(i["chain"]["family"], i["chain"]["table"]) for i in (listing or {}).get("nftables", []) if "chain" in i
            and i["chain"]["family"] in _NFT_TOOL and i["chain"]["table"] in _IPTABLES_NFT and i["chain"]["name"] in _BUILTIN}


def foreign_chains(listing, skip=()):
    """The base chains on foreign.HOOKS of every ``ip``, ``ip6`` and ``inet`` table in LISTING
    (``nft -j list ruleset``) but ours and the (family, name) tables SKIP, as foreign.BaseChain."""
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
        if ((family, table) in ((FAMILY, TABLE),) + tuple(skip) or (family, table) in dormant
                or family not in _FAMILIES or chain.get("hook") not in HOOKS):
            continue
        others = tuple((other, tuple(rs)) for (f, t, other), rs in rules.items() if (f, t) == (family, table))
        iptables = family in _NFT_TOOL and table in _IPTABLES_NFT and name in _BUILTIN
        out.append(BaseChain("nftables table %s %s, chain %s" % (family, table, name), chain["hook"], chain.get("policy", "accept"),
                             tuple(rules.get((family, table, name), ())), others,
                             _NFT_TOOL[family] if iptables else "nft", (table, name) if iptables else (family, table, name),
                             family=_FAMILIES[family]))
    return out


# -- iptables-legacy and iptables-nft: others' chains -------------------------------------------

LEGACY_NAMES = "/proc/net/ip_tables_names"
LEGACY_NAMES6 = "/proc/net/ip6_tables_names"
# The built-in chains on the hooks our traffic passes (nat's cannot drop).
SAVE_HOOKS = {("raw", "PREROUTING"): "prerouting", ("mangle", "PREROUTING"): "prerouting", ("mangle", "INPUT"): "input",
              ("mangle", "FORWARD"): "forward", ("filter", "INPUT"): "input", ("filter", "FORWARD"): "forward"}
_VERDICTS = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "reject", "RETURN": "return"}


_VIRTUAL_STATES = {"dnat", "snat"}


def save(tool, run=subprocess.run, names=None):
    """What TOOL (iptables-legacy-save, iptables-nft-save or their ip6tables twins) prints of the
    tables there are; "" without the tool or, for legacy, without tables.

    Naming a legacy table would create it (the kernel makes one on first use), so the command
    runs without ``-t``, and a legacy one only when NAMES (/proc/net/ip_tables_names, or
    ip6_tables_names for ip6tables) lists some.
    """
    if tool in ("iptables-legacy-save", "ip6tables-legacy-save"):
        names = names or (LEGACY_NAMES6 if tool.startswith("ip6") else LEGACY_NAMES)
        try:
            with open(names) as handle:
                if not handle.read().split():
                    return ""
        except OSError:
            return ""
    path = which(tool)
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
    """A foreign.Rule from the words of one ``-A CHAIN ...`` line after the chain."""
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
            if ours(target):
                return Rule(tuple(conditions), None if target in PASSING else "ours", target, text)
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
    """The built-in chains on SAVE_HOOKS in TEXT (what TOOL-save prints: TOOL is iptables-legacy,
    iptables-nft, ip6tables-legacy or ip6tables-nft) as foreign.BaseChain;
    our chains are left out, and a jump into one counts as an accept (they accept our traffic).
    ASSUME_HOOK: filter FORWARD is read as if our hook were its first rule (this run writes it).
    A table with a rule that cannot be split into words is an foreign.Unreadable."""
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
        where = ("%s table %s" % (tool, name) if tool.endswith("-legacy")
                 else "nftables table %s %s (%s)" % ("ip6" if tool.startswith("ip6") else "ip", name, tool))
        if name in broken:
            out.append(Unreadable(where, "its rule %r has quotes that do not close" % broken.pop(name)))
            continue
        if chain not in tables.get(name, ({}, {}))[0]:
            continue
        policies, rules = tables[name]
        base = tuple(rules[chain])
        if assume_hook and (name, chain) == ("filter", "FORWARD") and not any(r.verdict == "ours" for r in base):
            base = (Rule((), "ours", "NETMODES-FORWARD", '"-A FORWARD -j NETMODES-FORWARD"'),) + base
        others = tuple((other, tuple(found)) for other, found in rules.items() if not ours(other))
        out.append(BaseChain("%s, chain %s" % (where, chain), hook, policies[chain], base, others, tool, (name, chain),
                             family=6 if tool.startswith("ip6") else 4))
    return out


def read_foreign(nft, assume_hook, save=save):
    """Every base chain on HOOKS that is not ours, from every firewall a packet passes: nftables
    tables through NFT (a ``nftables.Nftables``), those iptables-nft and ip6tables-nft manage
    through their -save (their JSON hides conntrack matches as opaque ``xt`` expressions), and
    iptables-legacy and ip6tables-legacy. ASSUME_HOOK: our legacy hooks in FORWARD count as there
    (the run is about to write them). SAVE(tool): what a TOOL such as iptables-legacy-save prints.

    A firewall that cannot be read is an ``Unreadable`` in the list, not an error: this is
    advice, and the run goes on without it."""
    found = []

    def attempt(where, read, default):
        try:
            return read()
        except (NetmodesError, OSError, ValueError) as exc:
            found.append(Unreadable(where, getattr(exc, "msg", None) or str(exc)))
            return default

    listing = attempt("the nftables ruleset", nft.ruleset, None)
    managed, texts, skip = iptables_nft_tables(listing), {}, set()
    for family, tool in _NFT_TOOL.items():
        tables = {m for m in managed if m[0] == family}
        texts[tool] = attempt("%s's tables" % tool, lambda tool=tool: save(tool + "-save"), "") if tables else ""
        skip |= tables if texts[tool] else set()
    found += foreign_chains(listing, skip=skip)
    found += save_chains(texts["iptables-nft"], "iptables-nft")
    found += save_chains(texts["ip6tables-nft"], "ip6tables-nft")
    for tool in ("iptables-legacy", "ip6tables-legacy"):
        legacy = attempt("%s's tables" % tool, lambda tool=tool: save(tool + "-save"), "")
        found += save_chains(legacy, tool, assume_hook)
    return found
