# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode of a batch: the state its earlier steps leave, kept in memory.

A batch converges a whole host one resource after another, each planned on the state the ones
before it left. In check mode nothing is applied, so without this every later step would plan
on the host as it was: a sysctl a pruned sandbox puts back would be claimed again by the one
that takes its port, a link removed to be made again would be "set" instead of "created".
``preview(adapters)`` wraps the adapters; ``play(adapters, ops)`` records what each planned op
does, so that the next step reads it:

- the sysctl ledger and values, the host-mode port claims and the firewall state (its adapter
  already computes the state a change leads to, ``after``) are played exactly; of the resolvers,
  which are there (not their files: what is left decides the systemd unit template);
- links and namespaces that ops remove are gone from every read (a veth with its peer); what
  ops create is not modelled: a step that needs it is planned with ``Resource.missing`` against
  the objects the batch plans (``Resource.planned``), but for the addresses ops give the host's
  links, also those made by earlier ops (a macvlan network's shim is an uplink whose forwarding
  a published port claims).

Nothing here touches the host: the reads go to the real adapters, the writes stay in memory.
So nothing changes what a read finds while a plan is made (the run holds the host's lock): a
sysctl that every sandbox's published ports ask for is read once.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.netmodes.linux.plugins.module_utils import _ledger, _sockets


class _Wrapped:
    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)


class Sysctl(_Wrapped):
    def __init__(self, real, netlink):
        super().__init__(real)
        self._ledger, self._values, self._netlink = None, {}, netlink
        self._read = {}  # the real values, read once: nothing writes them while a plan is made

    def get(self, key):
        if key in self._values:
            return self._values[key]
        if key not in self._read:
            self._read[key] = self.real.get(key)
        value = self._read[key]
        parts = key.split("/")
        if value is None and len(parts) == 5 and parts[2] == "conf" and parts[3] in self._netlink.made:
            # an interface an earlier step makes starts with the defaults of its family
            value = self.real.get("/".join(parts[:3] + ["default", parts[4]]))
        return value

    def ledger(self):
        return self.real.ledger() if self._ledger is None else {k: dict(v) for k, v in self._ledger.items()}

    def claim(self, key, owner, value):
        self._ledger = _ledger.claimed(self.ledger(), key, owner, self.get(key))
        self._values[key] = str(value)

    def release(self, key, owner):
        self._ledger, restore = _ledger.released(self.ledger(), key, owner)
        if restore is not None and self.get(key) is not None:
            self._values[key] = str(restore)


class Firewall(_Wrapped):
    def __init__(self, real):
        super().__init__(real)
        self._state = None

    def read(self):
        return self.real.read() if self._state is None else self._state

    def stage(self, commands, after=None):
        self._state = after


class Sockets(_Wrapped):
    def __init__(self, real):
        super().__init__(real)
        self._claims = None

    def claims(self):
        return self.real.claims() if self._claims is None else {k: list(v) for k, v in self._claims.items()}

    def claim(self, name, ports):
        self._claims = _sockets.claimed(self.claims(), name, ports)


class Netlink(_Wrapped):
    """Reads without the links (by namespace name, None for the host) and namespace names that
    earlier ops remove."""

    def __init__(self, real):
        super().__init__(real)
        self._links, self._names = set(), set()
        self.made = set()  # host links earlier ops make (not modelled in reads; their sysctls and addresses are)
        self._addresses = {}  # {host link: (addresses earlier ops add, addresses they remove)}
        self._by_link = {}  # addresses_by_link's answers, until an op changes what they show

    def _made(self, name):
        self.made.add(name)
        self._by_link.clear()

    def link_add_bridge(self, name):
        self._made(name)

    def link_add_veth(self, name, peer, netns=None):
        self._made(name)

    def link_add_vxlan(self, name, vni, local, dstport, **_options):
        self._made(name)

    def link_add_macvlan(self, name, parent, *, netns=None, **_options):
        if netns is None:
            self._made(name)

    def addresses_set(self, name, netns=None, add=(), remove=()):
        if netns is not None:
            return
        self._by_link.clear()
        added, removed = self._addresses.setdefault(name, (set(), set()))
        for text in remove:
            added.discard(ipaddress.ip_interface(text))
            removed.add(ipaddress.ip_interface(text))
        for text in add:
            removed.discard(ipaddress.ip_interface(text))
            added.add(ipaddress.ip_interface(text))

    def _gone(self, name, netns):
        return netns in self._names or (netns, name) in self._links

    def link_delete(self, name, netns=None):
        # all_links: only a dump of the host's links tells in which namespace a veth's peer is
        link = next((x for x in self.real.all_links() if x.name == name), None) if netns is None else None
        self._links.add((netns, name))
        self._by_link.clear()
        if link is None or link.kind != "veth" or not link.peer_netns:
            return
        for other in [n for n, inode in self.netns_inodes().items() if inode == link.peer_netns]:
            for peer in self.real.all_links(other):
                if peer.index == link.peer_index:
                    self._links.add((other, peer.name))

    def netns_delete(self, name):
        self._names.add(name)
        self._by_link.clear()

    def netns_inode(self, name):
        return None if name in self._names else self.real.netns_inode(name)

    def netns_inodes(self):
        return {n: inode for n, inode in self.real.netns_inodes().items() if n not in self._names}

    def netns_names(self):
        return sorted(self.netns_inodes())

    def netns_record(self, name):
        return None if name in self._names else self.real.netns_record(name)

    def netns_owned(self, name):
        return False if name in self._names else self.real.netns_owned(name)

    def owned_markers(self):
        return [n for n in self.real.owned_markers() if n not in self._names]

    def link(self, name, netns=None, routes=True):
        return None if self._gone(name, netns) else self.real.link(name, netns, routes=routes)

    def all_links(self, netns=None):
        return [] if netns in self._names else [link for link in self.real.all_links(netns) if not self._gone(link.name, netns)]

    def link_names(self, netns=None):
        return {} if netns in self._names else {i: n for i, n in self.real.link_names(netns).items() if not self._gone(n, netns)}

    def addresses_by_link(self, netns=None):
        if netns not in self._by_link:
            self._by_link[netns] = self._addresses_by_link(netns)
        return dict(self._by_link[netns])

    def _addresses_by_link(self, netns):
        if netns in self._names:
            return {}
        out = {n: a for n, a in self.real.addresses_by_link(netns).items() if not self._gone(n, netns)}
        if netns is None:
            for name, (added, removed) in self._addresses.items():
                if name in out or (name in self.made and not self._gone(name, None)):
                    out[name] = frozenset((out.get(name, frozenset()) - removed) | added)
        return out

    def bridge_ports(self, name):
        return frozenset(p for p in self.real.bridge_ports(name) if not self._gone(p, None))


class Resolvers(_Wrapped):
    """The resolvers a plan writes and removes (which of them are left decides the unit template)."""

    def __init__(self, real):
        super().__init__(real)
        self._written, self._removed = set(), set()

    def networks(self):
        return sorted((set(self.real.networks()) | self._written) - self._removed)

    def write(self, network, **_files):
        self._written.add(network)
        self._removed.discard(network)

    def remove(self, network):
        self._removed.add(network)
        self._written.discard(network)


def preview(adapters):
    """The ADAPTERS as check mode of a batch sees them (see the module's docstring)."""
    out = dict(adapters)
    if "netlink" in adapters:
        out["netlink"] = Netlink(adapters["netlink"])
        if "sysctl" in adapters:
            out["sysctl"] = Sysctl(adapters["sysctl"], out["netlink"])
    out.update({owner: wrapper(adapters[owner]) for owner, wrapper in (("firewall", Firewall), ("sockets", Sockets), ("resolver", Resolvers))
                if owner in adapters})
    return out


def play(adapters, ops):
    """Record in the preview ADAPTERS what OPS (one resource's plan, in apply order) do."""
    for op in ops:
        method, kwargs = op.call
        owner, _sep, name = method.partition(".")
        if isinstance(adapters.get(owner), _Wrapped) and name in vars(type(adapters[owner])):
            getattr(adapters[owner], name)(**kwargs)
