# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ip6tables-legacy for the iptables backend: our chains read from ``ip6tables-legacy-save`` and
written by ``ip6tables-legacy-restore --noflush`` (one commit per table, as iptables').

Not through python-iptables' IPv6 tables (``iptc.Table6``): libxtables registers an extension
only for the family in use when it is first loaded, and the NAT targets (DNAT, MASQUERADE, one
shared library) cannot be loaded again for the other family in the same process (libxtables
exits, "target already registered"), so one process cannot write both iptables' and ip6tables'
NAT rules through it. The text is the rules' own: the specs here are those python-iptables reads
for IPv4 (``iptables.rule_spec``), so both families' items compare alike.
"""

from __future__ import annotations

import shlex
import subprocess

from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.foreign_read import which
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.ipt_rules import TABLES6, ours, text

NAMES6 = "/proc/net/ip6_tables_names"
SAVE, RESTORE = "ip6tables-legacy-save", "ip6tables-legacy-restore"
_HEAD = ("-s", "-d", "-i", "-o", "-p")


def existing(names=NAMES6):
    """ip6tables' tables that exist (naming one that does not would make it)."""
    try:
        with open(names) as handle:
            return set(handle.read().split())
    except OSError:
        return set()


def parse_rule(words):
    """A rule spec (see ipt_rules) from the words of a saved rule after ``-A CHAIN``."""
    head, matches, target, negated, index = [], [], None, False, 0
    current = None   # the params of the match or target being read
    while index < len(words):
        word = words[index]
        index += 1
        if word == "!":
            negated = True
            continue
        if word in _HEAD:
            head.append(("!" + word if negated else word, words[index]))
            index += 1
        elif word == "-m":
            current = {}
            matches.append((words[index], current))
            index += 1
        elif word == "-j":
            current = {}
            target = (words[index], current)
            index += 1
        elif word.startswith("--"):
            value = []
            while index < len(words) and not words[index].startswith("-") and words[index] != "!":
                value.append(words[index])
                index += 1
            current[("!" if negated else "") + word[2:]] = " ".join(value)
        negated = False
    head = tuple(sorted(head, key=lambda flag: _HEAD.index(flag[0].lstrip("!"))))
    name, params = target or ("", {})
    return head, tuple((m, tuple(sorted(p.items()))) for m, p in matches), (name, tuple(sorted(params.items())))


def parse(saved, hooks):
    """({(table6, chain): [spec]} of our chains, {(table6, builtin): [spec]} of the rules in the
    built-in chains of HOOKS) from what ip6tables-save printed."""
    chains, builtin, table = {}, {}, None
    for line in saved.split("\n"):
        if line.startswith("*"):
            table = line[1:].strip() + "6"
        elif line.startswith(":") and table in TABLES6 and ours(line[1:].split()[0]):
            chains.setdefault((table, line[1:].split()[0]), [])
        elif line.startswith("-A ") and table in TABLES6:
            words = shlex.split(line)
            key = (table, words[1])
            if key in hooks or ours(words[1]):
                (builtin if key in hooks else chains).setdefault(key, []).append(parse_rule(words[2:]))
    return chains, builtin


def read(hooks, run=subprocess.run):
    """What ip6tables holds (see ``parse``); nothing when no table of it exists."""
    if not existing():
        return {}, {}
    proc = run([which(SAVE) or SAVE], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise KernelError("ip6tables: %s failed: %s" % (SAVE, (proc.stderr or proc.stdout or "").strip()))
    return parse(proc.stdout, hooks)


def restore_text(commands, chains):
    """The input of ip6tables-restore --noflush for COMMANDS (the backend's, on tables6), given
    the CHAINS there are ({(table6, chain)})."""
    chains, out = set(chains), []
    for table in TABLES6:
        lines = []
        for cmd in (c for c in commands if c[1] == table):
            verb, chain = cmd[0], cmd[2]
            if verb == "chain":
                if (table, chain) not in chains:
                    lines.append("-N %s" % chain)
                    chains.add((table, chain))
            elif verb == "flush":
                lines.append("-F %s" % chain)
            elif verb == "delete_chain":
                lines.append("-X %s" % chain)
                chains.discard((table, chain))
            elif verb == "delete":
                lines.append("-D %s %s" % (chain, text(cmd[3])))
            elif verb == "append":
                lines.append("-A %s %s" % (chain, text(cmd[3])))
            elif verb == "insert":
                lines.append("-I %s %d %s" % (chain, cmd[4] + 1, text(cmd[3])))
        if lines:
            out += ["*" + table[:-1]] + lines + ["COMMIT"]
    return "\n".join(out) + "\n" if out else ""


def commit(commands, hooks, run=subprocess.run):
    """Apply COMMANDS (on tables6) in one ip6tables-restore."""
    if not commands:
        return
    chains, _builtin = read(hooks, run)
    payload = restore_text(commands, chains)
    proc = run([which(RESTORE) or RESTORE, "--noflush"], input=payload, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise KernelError("ip6tables: the tables were not changed (%s refused the change): %s"
                          % (RESTORE, (proc.stderr or proc.stdout or "").strip()))
