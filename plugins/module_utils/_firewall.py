# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall layer: what the modules ask of a firewall, and which backend writes it.

Modules never build rules. They describe *intents* (a published port, a bridge network's
policy, who may send an overlay VXLAN, what keeps the host closed where a sysctl was switched
on) on behalf of an *owner* (``netns:web``, ``bridge:br0``, ``vxlan:nmx…``, ``sysctl:ledger``)
and a backend renders them:

- ``_nftables.Nftables``: one table of our own, one JSON transaction per run (the default);
- ``_iptables.Iptables``: chains of our own through python-iptables, for iptables-legacy hosts.

Both backends offer the same small interface, which is all a planner uses::

    state = backend.read()                 # what is ours in the firewall now
    state.owned_by(owner)                  # -> set of backend items of OWNER
    state.published()                      # -> [(owner, PortMapping)] of every owner
    state.intact()                         # the fixed skeleton is there and unmodified
    backend.render(owner, intents)         # -> set of backend items of OWNER
    backend.changes(state, owner, want, have)  # -> commands that make OWNER's items WANT
    backend.stage(commands); backend.commit()  # transactional adapter (see _engine.apply)

Items are whatever the backend compares (nftables elements and chains, iptables rules); a
planner only compares sets of them, so both backends share one planning path (``plan``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from ansible_collections.netmodes.linux.plugins.module_utils import _sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op
from ansible_collections.netmodes.linux.plugins.module_utils._errors import NetmodesError

BACKENDS = ("nftables", "iptables")
_SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"


@dataclass(frozen=True)
class Publish:
    """One published port mapping (``-p``) to sandbox address TARGET inside bridge SUBNET."""

    mapping: object   # _model.PortMapping
    target: object    # ipaddress.IPv4Address
    subnet: object    # ipaddress.IPv4Network


@dataclass(frozen=True)
class BridgePolicy:
    """Docker's bridge driver options for one bridge and its IPv4 subnets."""

    bridge: str
    subnets: tuple = ()
    masquerade: bool = True
    icc: bool = True
    internal: bool = False

    def describe(self):
        return {"ip_masquerade": self.masquerade, "icc": self.icc, "internal": self.internal}


@dataclass(frozen=True)
class VxlanPeers:
    """Who may send this host VXLAN with VNI to UDP port DSTPORT: the SOURCES only (the underlay
    addresses of the overlay's peers, of IP VERSION). The kernel decapsulates VXLAN from any
    sender, and the VNI is no secret (the collection derives it from the network's name), so
    without this any machine on the LAN could put frames into the overlay's bridge."""

    device: str
    vni: int
    dstport: int
    version: int = 4
    sources: tuple = ()


@dataclass(frozen=True)
class Guard:
    """What keeps the host closed where the collection switched a sysctl on (``_sysctl.guarded``):
    a forwarded packet that arrives on one of UPLINKS and goes neither into nor out of a bridge
    of ours (whose chains decide it first) is dropped, unless it is IPv6 (not switched by us) or
    belongs to a published port (to a foreign bridge); a packet to 127.0.0.0/8 that arrives on
    one of LOCALNET is dropped. Docker sets the FORWARD policy to drop when it switches
    forwarding on; this drops only what came in where we switched it, so the host's own
    forwarding elsewhere is left as it was."""

    uplinks: tuple = ()
    localnet: tuple = ()

    def describe(self):
        return {"forwarding": list(self.uplinks), "route_localnet": list(self.localnet)}


# The owner of the Guard's items: the ledger, not one network (an uplink serves many).
GUARD_OWNER = "sysctl:ledger"


# What a bridge's rules are when no policy for its subnets renders them exactly.
UNRECOGNISED = "rules for other subnets or changed by hand"


def bridge_subnets(addresses):
    """The subnets a bridge's policy covers: those of its IPv4 ADDRESSES, sorted."""
    return tuple(sorted({a.network for a in addresses if a.version == 4}))


def recognise(firewall, bridge, subnets, have):
    """The options (``BridgePolicy.describe``) that HAVE, BRIDGE's items in FIREWALL now, were
    written for: None when it has none, UNRECOGNISED when no policy for SUBNETS renders them."""
    if not have:
        return None
    for masquerade in (True, False):
        for icc in (True, False):
            for internal in (False, True):
                policy = BridgePolicy(bridge, tuple(subnets), masquerade, icc, internal)
                if firewall.render(bridge_owner(bridge), [policy]) == have:
                    return policy.describe()
    return UNRECOGNISED


class OwnedItems:
    """What both backends' states share: items by owner, from ``_items()`` -> [(owner, item)]."""

    def _items(self):
        raise NotImplementedError

    def owned_by(self, owner):
        """The set of OWNER's items."""
        return {item for who, item in self._items() if who == owner}

    def owners(self):
        return {who for who, _item in self._items()}


def sandbox_owner(netns=None, address=None):
    """The owner tag of a sandbox's published ports."""
    return "netns:%s" % netns if netns else "address:%s" % address


def owner_words(owner):
    """An owner tag for messages: ``netns:web`` -> ``sandbox web``, ``address:X`` -> ``address X``."""
    kind, _sep, name = owner.partition(":")
    return "sandbox %s" % name if kind == "netns" else "%s %s" % (kind, name)


def bridge_owner(name):
    return "bridge:%s" % name


def vxlan_owner(name):
    """The owner tag of the filter of a VXLAN device's traffic (VxlanPeers)."""
    return "vxlan:%s" % name


def _which(command):
    return shutil.which(command) or shutil.which(command, path=_SBIN)


def detect(run=subprocess.run, which=_which, nft_binding=None):
    """The backend ``auto`` means on this host.

    iptables only where the host's ``iptables --version`` says legacy (Debian's
    iptables-legacy alternative, old RHEL/Ubuntu), or where there is no nftables at all.
    """
    from ansible_collections.netmodes.linux.plugins.module_utils import _nftables

    has_nft = (nft_binding if nft_binding is not None else _nftables.HAS_BINDING) or bool(which("nft"))
    iptables = which("iptables")
    if iptables:
        proc = run([iptables, "--version"], capture_output=True, text=True, check=False)
        if "legacy" in (proc.stdout or "") + (proc.stderr or ""):
            return "iptables"
    if not has_nft and iptables:
        return "iptables"
    return "nftables"


def backend(choice="auto"):
    """A firewall adapter for CHOICE (auto, nftables or iptables); nothing is read yet."""
    from ansible_collections.netmodes.linux.plugins.module_utils import _iptables, _nftables

    name = detect() if choice == "auto" else choice
    return _iptables.Iptables() if name == "iptables" else _nftables.Nftables()


def plan(obj, field, firewall, state, owner, *, want, before, after):
    """The op (or none) that makes OWNER's items in the firewall exactly WANT.

    A present owner also repairs the fixed skeleton when someone changed it.
    """
    have = state.owned_by(owner)
    if want == have and (not want or state.intact()):
        return []
    call = ("firewall.stage", {"commands": firewall.changes(state, owner, want, have), "after": firewall.after(state, owner, want)})
    if not want:
        return [Op("delete", obj, before={field: before}, call=call)]
    if not have:
        return [Op("create", obj, after={field: after}, call=call)]
    return [Op("set", obj, field, before, after, call)]


def guard(ledger):
    """The Guard for LEDGER (the sysctl ledger), or None when it switched nothing on."""
    found = _sysctl.guarded(ledger)
    return Guard(found["uplinks"], found["localnet"]) if found["uplinks"] or found["localnet"] else None


def plan_guard(firewall, state, owner, want, ledgers):
    """The op (or none) that makes the Guard match the sysctl ledger after this run (LEDGERS:
    (now, after)). It is planned on the state OWNER's change to WANT leaves, since both are
    staged for the same commit."""
    now, then = (guard(ledger) for ledger in ledgers)
    items = firewall.render(GUARD_OWNER, [then]) if then else set()
    return plan("firewall guard", "closed", firewall, firewall.after(state, owner, want), GUARD_OWNER, want=items,
                before=now.describe() if now else None, after=then.describe() if then else None)


# -- other firewalls' drops (netavark#977) ------------------------------------------------------
#
# A packet must be accepted by every base chain on a hook, in every table and in iptables-legacy
# too: an accept in our table does not override another table's drop. So before it can be said
# that a bridge's traffic flows, the base chains of others on the hooks it passes are walked
# (read-only) for each kind of packet (a ``Flow``). What is understood of a rule: interface names
# (with wildcards and sets), IPv4 source and destination prefixes, conntrack state and DNAT
# status, jumps, gotos, returns and verdicts; any other match (ports, marks, addrtype, limits)
# makes the rule cover part of a flow only, and such a rule neither accepts nor drops the flow.
# A flow is reported when a rule drops (or rejects) all of it, or the chain's policy is drop
# and no rule accepts all of it.

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


def bridge_flows(policy, bridged):
    """The flows of a bridge network (BridgePolicy) that other firewalls could drop. BRIDGED:
    packets between members pass the IP hooks too (br_netfilter's bridge-nf-call-iptables)."""
    br, nets = policy.bridge, tuple(policy.subnets)
    flows = [Flow("prerouting", "everything %s's sandboxes send" % br, br, iif=True, subnets=nets),
             Flow("input", "connections from %s's sandboxes to this host's own addresses" % br, br, iif=True, subnets=nets),
             Flow("input", "replies to this host's connections into %s" % br, br, iif=True, subnets=nets, state="established")]
    if not policy.internal:
        flows += [Flow("forward", "outbound connections of %s's sandboxes" % br, br, iif=True, oif=False, subnets=nets),
                  Flow("forward", "replies to outbound connections of %s's sandboxes" % br, br, iif=False, oif=True,
                       subnets=nets, state="established")]
    if bridged and policy.icc:
        flows.append(Flow("forward", "traffic between members of %s" % br, br, iif=True, oif=True, subnets=nets))
    return flows


def publish_flows(bridge, subnet):
    """The flow of connections to ports published into BRIDGE (SUBNET)."""
    return [Flow("forward", "connections to ports published into %s" % bridge, bridge, iif=False, oif=True,
                 subnets=(subnet,), dnat=True)]


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
    if all(any(s.subnet_of(n) for n in networks) for s in flow.subnets):
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


def drops(chain, flow):
    """Why CHAIN drops all of FLOW (its policy, or a rule), or None when it lets it through."""
    if chain.hook != flow.hook:
        return None
    verdict, rule = _walk(chain.rules, dict(chain.chains), flow)
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


@dataclass(frozen=True)
class Unreadable:
    """A firewall that could not be read: its drops were not looked for (WHY)."""

    where: str
    why: str


def read_foreign(nft, assume_hook, save=None):
    """Every base chain on HOOKS that is not ours, from every firewall a packet passes: nftables
    tables through NFT (an _nftables.Nftables), those iptables-nft manages through
    iptables-nft-save (their JSON hides conntrack matches as opaque ``xt`` expressions), and
    iptables-legacy. ASSUME_HOOK: our iptables-legacy hook in FORWARD counts as there (the run
    is about to write it). SAVE(tool): what iptables-legacy-save or iptables-nft-save prints.

    A firewall that cannot be read is an ``Unreadable`` in the list, not an error: this is
    advice, and the run goes on without it."""
    from ansible_collections.netmodes.linux.plugins.module_utils import _iptables, _nftables

    save, found = save or _iptables.save, []

    def attempt(where, read, default):
        try:
            return read()
        except (NetmodesError, OSError, ValueError) as exc:
            found.append(Unreadable(where, getattr(exc, "msg", None) or str(exc)))
            return default

    listing = attempt("the nftables ruleset", nft.ruleset, None)
    managed = _nftables.iptables_nft_tables(listing)
    text = attempt("iptables-nft's tables", lambda: save("iptables-nft-save"), "") if managed else ""
    found += _nftables.foreign_chains(listing, skip=managed if text else ())
    found += _iptables.save_chains(text, "iptables-nft")
    legacy = attempt("iptables-legacy's tables", lambda: save("iptables-legacy-save"), "")
    return found + _iptables.save_chains(legacy, "iptables-legacy", assume_hook)
