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
            NETMODES-BRIDGES    -i BR -j DROP (one per bridge: jumped to by a bridge whose gateway mode lets routed traffic in)
            INPUT        -> NETMODES-INPUT: -d RESOLVER -p udp|tcp --dport 53 -j NETMODES-DNS-DEV (a network's
                            resolver on this host, DEV the device its members arrive on)
                            -i BR -j DROP (a bridge whose family is in gateway mode isolated)
            NETMODES-DNS-DEV  -s SUBNET -i DEV -j ACCEPT (its members), -i lo -j RETURN, -j DROP
    nat     PREROUTING, OUTPUT -m addrtype --dst-type LOCAL -> NETMODES-DNAT (one DNAT rule per port)
            POSTROUTING -> NETMODES-POSTROUTING (loopback, hairpin and outbound masquerade)
    raw     PREROUTING  -> NETMODES-RAW (drop remote packets for 127.0.0.1-published ports, and
                            127.0.0.0/8 arriving on our bridges or where we switched route_localnet on;
                            -p udp --dport PORT -m u32 VNI -m addrtype --dst-type LOCAL -j NETMODES-VX-DEV)
            NETMODES-VX-DEV  -s PEER -j RETURN (one per peer of VXLAN device DEV), -j DROP

IPv6 (a bridge with an IPv6 subnet, a published IPv6 port, an uplink whose IPv6 forwarding we
switched on) goes into the same chains in ip6tables, made while something of IPv6 is ours and
removed with the last of it (tables nat6, filter6 of the items; see ``ip6t``), but the loopback
rules (nothing is published on ::1, never routed from elsewhere).

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
import traceback

try:
    from ansible.module_utils.basic import missing_required_lib
except ImportError:  # the boot-time restore (_restore) runs on hosts without Ansible
    def missing_required_lib(library, reason=None):
        return "Failed to import the required Python library (%s)%s" % (library, ", " + reason if reason else "")

from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError, MissingLibrary
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ip6t
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.foreign_read import LEGACY_NAMES, read_foreign
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.ipt_rules import HOOKS, HOOKS6, TABLES, TAG, _comment, is6, ours, render
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.ipt_state import State, changes, checked
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.nftables import Nftables


def legacy_tables(names=LEGACY_NAMES):
    """The iptables-legacy tables that exist (opening one that does not makes the kernel create it)."""
    try:
        with open(names) as handle:
            return set(handle.read().split())
    except OSError:
        return set()


def only_existing(iptc, names=LEGACY_NAMES):
    """Keep python-iptables from creating tables that are not there (and that we do not use).

    To tell a jump to a chain from a target extension, python-iptables looks for the chain in
    every table it finds available, and finding out opens the table, which makes the kernel
    create it: a run that wrote to raw, nat and filter left empty mangle and security tables
    behind. Its cache of available tables is told the answer first.
    """
    there = legacy_tables(names)
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
        """Others' base chains on the hooks our traffic passes (see foreign.blocked), nftables
        tables included: a packet passes both."""
        if self._foreign is None:
            self._foreign = read_foreign(Nftables(), assume_hook=True)
        return self._foreign

    def _lib(self):
        if self._iptc is None:
            try:
                # Loaded when first needed, not to dodge a cycle: python-iptables loads libxtables,
                # and only the iptables backend needs it (most hosts use nftables).
                import iptc  # noqa: PLC0415
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
        there = legacy_tables()
        try:
            # A table that is not there holds nothing of ours, and reading it would make it (check
            # mode and net_info on a host where iptables-legacy was never used would leave it behind).
            for table_name in (name for name in TABLES if name in there):
                table = iptc.Table(table_name)
                table.refresh()
                for chain in table.chains:
                    if ours(chain.name):
                        chains[(table_name, chain.name)] = [rule_spec(r) for r in chain.rules]
                    elif (table_name, chain.name) in HOOKS:
                        found = [rule_spec(r) for r in chain.rules]
                        hooks[(table_name, chain.name)] = [r for r in found if _comment(r) == TAG]
        except (iptc.IPTCError, OSError) as exc:
            raise KernelError("iptables: cannot read the %s table: %s" % (table_name, exc))
        chains6, builtin6 = ip6t.read(HOOKS6)
        chains.update(chains6)
        hooks.update({key: [r for r in rules if _comment(r) == TAG] for key, rules in builtin6.items()})
        return checked(State(chains, hooks))

    @staticmethod
    def after(state, owner, want):
        """What the chains will read as once OWNER's change to WANT is committed (the adapter
        reads them again after a commit; a plan of two changes plans the second on this)."""
        return state.replaced(owner, want)

    def stage(self, commands, after=None):
        self._staged += commands

    def commit(self):
        """Apply the staged commands, one libiptc commit per table (raw, nat, filter), then
        ip6tables' (see ip6t)."""
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
        ip6t.commit([c for c in staged if is6(c[1])], HOOKS6)

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
        if net not in ("0.0.0.0/0", "::/0") or negated:
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
