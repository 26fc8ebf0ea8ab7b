# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sysctls of the current network namespace, and the ledger of those the collection switched on.

The ledger (/run/netmodes/sysctl.json, root's alone: see _fs) is the one place where a sysctl is switched
on and put back. Each key the collection switched on is recorded with its value before us and
its users, the owners that need it (``bridge:br0``, ``netns:web``)::

    {"net/ipv4/conf/eth0/forwarding": {"before": "0", "users": ["bridge:br0", "netns:web"]}}

A user claims a key (recorded first, then set) and releases it; when the last user releases it,
the value before is written back, then the entry goes. A host that forwarded before us keeps
forwarding: its value before was 1. The ledger lives on /run like the values it records: after
a reboot neither is left.

Claiming is deferred until the firewall is committed (see ``_engine.apply``): what the firewall
closes (``guarded``) is in place before forwarding opens; a release closes first.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.netmodes.linux.plugins.module_utils import _fs
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op
from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError
from ansible_collections.netmodes.linux.plugins.module_utils._ledger import claimed, released

# br_netfilter: "1" when packets bridged between the members of a bridge pass the IPv4 hooks too.
BRIDGE_NF_CALL = "net/bridge/bridge-nf-call-iptables"
LEDGER = "/run/netmodes/sysctl.json"
# The keys the ledger may hold: nothing else is ever written back from it.
# (IPv6's per-interface "forwarding" only makes an interface act as a router's; a ledger of an
# earlier version may hold it, to be put back.)
KEY = re.compile(r"\Anet/ipv([46])/conf/([^/\s]{1,15})/(forwarding|force_forwarding|route_localnet)\Z")
# What switches forwarding on for packets that come in on one interface, per IP version. IPv6 has
# no per-interface forwarding but force_forwarding (Linux 6.17): all/forwarding would make the
# host a router between all its interfaces, and is never set.
FORWARDING = {4: "forwarding", 6: "force_forwarding"}
VALUE = re.compile(r"\A[0-9]{1,3}\Z")


def forwarding(name, version=4):
    """The key that forwards what comes in on interface NAME, for IP VERSION."""
    return "net/ipv%d/conf/%s/%s" % (version, name, FORWARDING[version])


def _routable(address, version):
    """ADDRESS (an ip_interface) is one of VERSION that may route: IPv6 link-local ones do not."""
    return address.version == version and not (version == 6 and address.ip.is_link_local)


def route_localnet(name):
    return "net/ipv4/conf/%s/route_localnet" % name


def uplink_addresses(net, ledger):
    """{name: addresses} of the host's links that may be uplinks (NET: the netlink adapter, LEDGER:
    the ledger now): those with an IPv4 address, but lo and the bridges of ours, which forward for
    their own networks.

    A bridge of ours is known by its tag, which the netlink adapter gives it before it has its
    name (and so an address) and which goes with it. The ledger names most of them without a
    read (each bridge is a user of its own forwarding), but it lags the link on both sides: a
    bridge claims its forwarding after its address and its firewall, and releases it before its
    link goes. A run killed in between would otherwise have the next bridge claim the other's
    forwarding as an uplink's, a claim that outlives the bridge it was made for.

    A link with addresses but none to read is one the plan makes (check mode's preview knows the
    addresses ops give it, not the link): a bridge claims its own forwarding in the step that
    makes it, so it is in the ledger by then; anything else (a macvlan network's shim) is an uplink.
    """
    ours = bridges(ledger)
    out = {}
    # Most of a host's links have no address (a sandbox's host end): left out before anything else.
    for name, addrs in sorted((name, addrs) for name, addrs in net.addresses_by_link().items() if addrs):
        if name == "lo" or name in ours or not any(_routable(a, 4) or _routable(a, 6) for a in addrs):
            continue
        link = net.link(name, routes=False)
        if link is None or not (link.kind == "bridge" and link.ours):
            out[name] = addrs
    return out


def uplinks(addresses, only=None, version=4):
    """The forwarding keys for IP VERSION of the uplinks in ADDRESSES ({name: addresses}, as
    ``uplink_addresses`` gives them) that have an address of it (IPv6: not link-local), or only
    of those that carry one of the addresses ONLY.

    Linux decides IPv4 forwarding by the interface a packet comes in on, so a connection that
    leaves a bridge network through NAT needs it on the interface its replies come back on, and
    a published port on the interfaces its clients come in on.
    """
    keys = []
    for name, addrs in sorted(addresses.items()):
        ips = {a.ip for a in addrs if _routable(a, version)}
        if ips and (only is None or ips & set(only)):
            keys.append(forwarding(name, version))
    return keys


# -- the ledger, as data --------------------------------------------------------------------------

def users(ledger):
    """Every owner that uses a key of LEDGER."""
    return {user for entry in ledger.values() for user in entry["users"]}


def held(ledger, owner):
    """The keys OWNER is a user of."""
    return sorted(key for key, entry in ledger.items() if owner in entry["users"])


def after(ledger, owner, want, values):
    """LEDGER once OWNER uses exactly the keys of WANT ({key: value}); VALUES are the keys' values now."""
    out, holds = ledger, held(ledger, owner)
    for key in holds:
        if key not in want:
            out = released(out, key, owner)[0]
    for key in want:
        if key not in holds:  # a key OWNER uses already keeps its entry (a host's uplink: every sandbox's)
            out = claimed(out, key, owner, values.get(key))
    return out


def bridges(ledger):
    """The bridges of ours that LEDGER knows: each is a user of its own forwarding."""
    out = set()
    for key, entry in ledger.items():
        found = KEY.match(key)
        if found and found.group(3) in FORWARDING.values() and "bridge:" + found.group(2) in entry["users"]:
            out.add(found.group(2))
    return out


def guarded(ledger):
    """What the firewall closes for the keys of LEDGER that the collection switched on (their
    value before was not 1): {"uplinks": interfaces whose IPv4 forwarding, "uplinks6": interfaces
    whose IPv6 force_forwarding, "localnet": interfaces whose route_localnet}. A bridge of ours is
    left out of the uplinks: its own chains decide what it forwards."""
    out = {"uplinks": set(), "uplinks6": set(), "localnet": set()}
    for key, entry in ledger.items():
        found = KEY.match(key)
        if found is None or entry["before"] == "1":
            continue
        version, name, what = found.groups()
        if what == "route_localnet":
            out["localnet"].add(name)
        elif what == FORWARDING[int(version)] and "bridge:%s" % name not in entry["users"]:
            out["uplinks" if version == "4" else "uplinks6"].add(name)
    return {kind: tuple(sorted(names)) for kind, names in out.items()}


def _dotted(key):
    return key.replace("/", ".")


def plan(owner, want, ledger, values):
    """Ops that make OWNER a user of exactly the keys of WANT ({key: value}) with those values.

    LEDGER is the ledger now, VALUES the keys' values now ({key: value, None when the key does
    not exist}). A key OWNER uses whose value someone changed is set again. Each op is a field
    of the object ``sysctl`` (the key, dotted as sysctl(8) writes it), and shows the key's value
    and how many use it before and after, and OWNER as who claims or releases it (not every
    user: a host's uplink serves every sandbox, and listing them in each op made a run's result
    grow with the square of its sandboxes).
    """
    ops = []
    for key in sorted(set(want) | set(held(ledger, owner))):
        entry, now = ledger.get(key), values.get(key)
        users = list(entry["users"]) if entry else []
        before = {"value": now, "users": len(users)}
        if key in want:
            if owner in users and now == want[key]:
                continue
            after_ = {"value": want[key], "users": len(claimed(ledger, key, owner, now)[key]["users"]), "claimed_by": owner}
            call = ("sysctl.claim", {"key": key, "owner": owner, "value": want[key]})
        else:
            rest, restored = released(ledger, key, owner)
            after_ = {"value": now if restored is None or now is None else restored, "users": len(rest[key]["users"]) if key in rest else 0,
                      "released_by": owner}
            call = ("sysctl.release", {"key": key, "owner": owner})
        ops.append(Op("set", "sysctl", _dotted(key), before, after_, call))
    return ops


def parse(text, where=LEDGER):
    """The ledger in TEXT, checked: every key one we switch, every value a number."""
    try:
        ledger = json.loads(text)
        for key, entry in ledger.items():
            if not KEY.match(key) or set(entry) != {"before", "users"} or not isinstance(entry["users"], list):
                raise ValueError("unexpected entry %r" % key)
            if entry["before"] is not None and not VALUE.match(entry["before"]):
                raise ValueError("unexpected value %r of %s" % (entry["before"], key))
            if not all(isinstance(u, str) for u in entry["users"]):
                raise ValueError("unexpected users of %s" % key)
    except (ValueError, AttributeError, TypeError) as exc:
        raise KernelError("the sysctl ledger %s is damaged (%s): the values netmodes.linux switched on cannot be put back;"
                          " check them (forwarding, route_localnet) and remove the file" % (where, exc))
    return ledger


class Sysctl:
    """Keys are slash separated so that interface names with dots stay intact
    (``net/ipv4/conf/br0/forwarding``)."""

    # Run after the firewall's commit (see _engine.apply): the guard is there before forwarding opens.
    deferred = ("claim",)

    def __init__(self, ledger=LEDGER, root="/proc/sys"):
        self.path, self.root = ledger, root
        # The ledger as last read or written: a run holds the host's lock, and only a run writes
        # the ledger, so it changes under this adapter by its own writes alone (the portmap of
        # each of a host's sandboxes reads it). Callers treat it as a value (_ledger's functions
        # copy): it is never changed in place.
        self._ledger = None

    def _key_path(self, key):
        return os.path.join(self.root, *key.split("/"))

    def get(self, key):
        """The value as a string, or None when the key does not exist."""
        try:
            with open(self._key_path(key)) as handle:
                return handle.read().strip()
        except FileNotFoundError:
            return None

    def set(self, key, value):
        """Write a value; the key must exist."""
        try:
            with open(self._key_path(key), "w") as handle:
                handle.write(str(value))
        except OSError as exc:
            raise KernelError("set sysctl %s=%s: %s" % (_dotted(key), value, exc.strerror))

    def ledger(self):
        """{key: {"before": value, "users": [owner]}} of the keys the collection switched on (a
        file another user owns or may write records nothing)."""
        if self._ledger is None:
            directory = _fs.owned_dir(os.path.dirname(self.path))
            if directory is None:
                return {}
            with directory:
                data = directory.read_state(os.path.basename(self.path))
            self._ledger = parse(data.decode("utf-8", "replace"), self.path) if data else {}
        return self._ledger

    def _write(self, ledger):
        """Replace the ledger atomically (0600, whatever the umask), or remove it when empty."""
        self._ledger = None  # read again after the write (or after its failure)
        with _fs.owned_dir(os.path.dirname(self.path), _fs.PRIVATE_DIR) as directory:
            name = os.path.basename(self.path)
            if ledger:
                directory.write(name, (json.dumps(ledger, indent=1, sort_keys=True) + "\n").encode("utf-8"), _fs.PRIVATE)
            else:
                directory.unlink(name)
                directory.remove_leftovers(".%s." % name)

    def claim(self, key, owner, value):
        """Make OWNER a user of KEY and give KEY VALUE: the record first (with the value before us,
        on the first claim), so that a run killed in between still knows what to put back."""
        self._write(claimed(self.ledger(), key, owner, self.get(key)))
        self.set(key, value)

    def release(self, key, owner):
        """OWNER no longer needs KEY: the last user puts the value before back, then the entry
        goes (a run killed in between releases again). A key whose interface is gone is forgotten."""
        ledger, restore = released(self.ledger(), key, owner)
        if restore is not None and self.get(key) is not None:
            self.set(key, restore)
        self._write(ledger)
