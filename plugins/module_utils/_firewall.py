# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall layer: what the modules ask of a firewall, and which backend writes it.

Modules never build rules. They describe *intents* (a published port, a bridge network's
policy) on behalf of an *owner* (``netns:web``, ``bridge:br0``) and a backend renders them:

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

from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op

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
