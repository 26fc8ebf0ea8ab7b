# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory kernel that speaks the adapters' interface, so resources converge without root.

It is deliberately strict where the kernel is: names are exact, a veth peer is born in its
namespace, deleting one end of a veth deletes both, a route needs its link, a vxlan's vni, local
and port and a macvlan's parent cannot change, a bridge takes at most 1023 ports, an all-zero
fdb entry holds many remotes and a unicast one a single remote. Every mutating call is recorded in ``calls`` so tests can assert
that check mode applies nothing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _ledger, _lock, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils import _sysctl as sysctl_module
from ansible_collections.netmodes.linux.plugins.module_utils._engine import converge as engine_converge
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, KernelError, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._files import digest
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_state, iptables, nft_state, nftables
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.foreign_read import read_foreign
from ansible_collections.netmodes.linux.plugins.module_utils._model import Route
from ansible_collections.netmodes.linux.plugins.module_utils._netlink import ZERO_MAC
from ansible_collections.netmodes.linux.plugins.module_utils._records import OWNER_TAG, Link, RouteEntry, temp_name
from ansible_collections.netmodes.linux.plugins.modules.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns
from ansible_collections.netmodes.linux.plugins.modules.veth import Veth


class FakeNetlink:
    def __init__(self):
        self._inodes = itertools.count(4026532000)
        self._indexes = itertools.count(2)
        self.netns = {}      # name -> inode
        self.owned = {}      # name made by the collection -> the inode it recorded
        self.pending = set()  # names whose creation by the collection was interrupted
        self.stale = set()    # names of ours whose namespace is gone, their record left behind
        self.links = {}      # (namespace inode or None, name) -> Link
        self.fdb = {}        # link index -> set of (mac, dst address)
        self.neigh = {}      # link index -> {ip address: mac}
        self.missing_kinds = set()  # link kinds this kernel lacks (as ipvlan here)
        self.calls = []

    # -- namespaces
    def route_destinations(self, netns=None, version=4):
        inode = self._key("lo", netns)[0]
        out = {a.network for (ns, _name), link in self.links.items() if ns == inode for a in link.addresses if a.version == version}
        return out | {r.dst for (ns, _name), link in self.links.items() if ns == inode for r in link.routes if r.dst.version == version}

    def netns_inode(self, name):
        return self.netns.get(name)

    def netns_names(self):
        return sorted(self.netns)

    def netns_made_order(self):
        return list(self.netns)  # in the order they were made, as the kernel lists their mounts

    def netns_inodes(self):
        return dict(sorted(self.netns.items()))

    def netns_record(self, name):
        if name in self.pending:
            return "pending"
        return self.owned[name] if name in self.owned else (0 if name in self.stale else None)

    def netns_owned(self, name):
        return name in self.netns and (self.owned.get(name) == self.netns[name] or name in self.pending)

    def netns_finish(self, name, loopback=True):
        self.calls.append(("netns_finish", name, loopback))
        if loopback:
            self.link_set("lo", netns=name, state="up")
        self.pending.discard(name)
        self.owned[name] = self.netns[name]

    def netns_create(self, name):
        self.calls.append(("netns_create", name))
        self.netns[name] = next(self._inodes)
        self.owned[name] = self.netns[name]
        self.links[(self.netns[name], "lo")] = Link("lo", 1, "", 65536, "00:00:00:00:00:00", True)

    def netns_share(self, name, target):
        self.calls.append(("netns_share", name, target))
        self.netns[name] = self.netns[target]
        self.owned[name] = self.netns[name]

    def netns_delete(self, name):
        self.calls.append(("netns_delete", name))
        inode = self.netns.pop(name, None)
        self.owned.pop(name, None)
        self.pending.discard(name)
        self.stale.discard(name)
        if inode not in self.netns.values():  # the last name is gone, and the namespace with it
            for key in [k for k in self.links if k[0] == inode]:
                del self.links[key]

    def owned_markers(self):
        return sorted(set(self.owned) | self.pending | self.stale)

    def netns_forget(self, name):
        self.calls.append(("netns_forget", name))
        self.owned.pop(name, None)
        self.pending.discard(name)
        self.stale.discard(name)

    # -- links
    def _key(self, name, netns):
        if netns is not None and netns not in self.netns:
            raise KernelError("sandbox %s does not exist" % netns)
        return (self.netns.get(netns), name)

    def link(self, name, netns=None, routes=True):
        # As the adapter: only all_links (a dump of the host) tells a veth peer's namespace.
        link = self.links.get(self._key(name, netns))
        return dataclasses.replace(link, peer_netns=None) if link is not None and link.peer_netns is not None else link

    def bridge_ports(self, name):
        return frozenset(link.name for (where, _name), link in self.links.items() if where is None and link.master == name)

    def link_names(self, netns=None):
        return {link.index: link.name for link in self.all_links(netns)}

    def addresses_by_link(self, netns=None):
        inode = self._key("lo", netns)[0]
        return {name: link.addresses for (where, name), link in self.links.items() if where == inode}

    def all_links(self, netns=None):
        """Every link of NETNS in index order."""
        inode = self._key("lo", netns)[0]
        return sorted((link for (where, _name), link in self.links.items() if where == inode), key=lambda link: link.index)

    def routes(self, netns=None):
        """As the kernel lists them: a route per address's subnet (proto kernel), then the static ones."""
        out = []
        for link in self.all_links(netns):
            for addr in link.addresses:
                if not addr.ip.is_loopback and addr.network.prefixlen < addr.max_prefixlen:
                    metric = 256 if addr.version == 6 else 0
                    out.append(RouteEntry(Route(addr.network, None, metric), link.name, "kernel"))
            out += [RouteEntry(route, link.name, "static") for route in link.routes]
        return out

    def _new(self, name, netns, kind, alias):
        key = self._key(name, netns)
        if key in self.links:
            raise KernelError("create %s: File exists" % name)
        index = next(self._indexes)
        mac = "02:00:00:00:%02x:%02x" % divmod(index, 256)
        self.links[key] = Link(name, index, kind, 1500, mac, False, alias="%s %s" % (OWNER_TAG, alias))
        return self.links[key]

    def _drop_half_made(self, name):
        """As the adapter does first: remove a link left under NAME's temporary name (and its peer)."""
        half = self.links.pop((None, temp_name(name)), None)
        for key, other in list(self.links.items()):
            if half is not None and other.index == half.peer_index and other.peer_index == half.index:
                del self.links[key]

    def link_add_bridge(self, name):
        self.calls.append(("link_add_bridge", name))
        self._drop_half_made(name)
        bridge = self._new(name, None, "bridge", "bridge")
        bridge.stp, bridge.mac_fixed = False, True  # a MAC of its own, given at creation

    def link_add_veth(self, name, peer, netns=None):
        self.calls.append(("link_add_veth", name, peer, netns))
        self._drop_half_made(name)
        host = self._new(name, None, "veth", "veth")
        other = self._new(peer, netns, "veth", "veth-peer")
        host.peer_index, other.peer_index = other.index, host.index
        host.peer_netns = self.netns.get(netns)

    def link_add_vxlan(self, name, vni, local, dstport, *, learning=None, proxy=False, replace=False):
        self.calls.append(("link_add_vxlan", name, vni, local, dstport, learning, proxy, replace))
        if replace:
            self.link_delete(name)
        link = self._new(name, None, "vxlan", "vxlan")
        link.info = {"vni": vni, "local": ipaddress.ip_address(local), "dstport": dstport,
                     "learning": True if learning is None else learning, "proxy": proxy}

    def link_add_macvlan(self, name, parent, *, kind="macvlan", mode="bridge", netns=None, replace=False):
        self.calls.append(("link_add_macvlan", name, parent, kind, mode, netns, replace))
        if kind in self.missing_kinds:
            raise KernelError("create %s %s: Unknown device type (Operation not supported)" % (kind, name))
        lower = self.links.get((None, parent))
        if lower is None:
            raise NotFound("parent: %s does not exist on the host" % parent, "parent")
        if replace:
            self.link_delete(name, netns)
        link = self._new(name, netns, kind, kind)
        link.peer_index, link.info = lower.index, {"mode": mode}

    def _set_mode(self, link, mode):
        if link.kind == "macvlan" and (mode == "passthru") != (link.info["mode"] == "passthru"):
            raise KernelError("set macvlan_mode on %s: Invalid argument" % link.name)
        link.info["mode"] = mode

    def link_set(self, name, netns=None, **attrs):
        self.calls.append(("link_set", name, netns, attrs))
        link = self.links.get(self._key(name, netns))
        if link is None:
            raise NotFound("link %s vanished while it was being configured" % name)
        for attr, value in attrs.items():
            if attr == "master":
                if value and self._key(value, netns) not in self.links:
                    raise KernelError("set master on %s: No such device" % name)
                if value and link.master != value and netns is None and len(self.bridge_ports(value)) >= 1023:
                    raise KernelError("set master on %s: Exchange full" % name)  # BR_MAX_PORTS, port 0 never given
                link.master = value or None
            elif attr == "state":
                link.up = value == "up"
            elif attr == "address":
                link.mac = value
                link.mac_fixed = True if link.kind == "bridge" and netns is None else link.mac_fixed
            elif attr == "br_stp_state":
                link.stp = bool(value)
            elif attr == "br_nf_call_iptables":
                link.nf_call_iptables = bool(value)
            elif attr == "br_nf_call_ip6tables":
                link.nf_call_ip6tables = bool(value)
            elif attr == "vxlan_learning":
                link.info["learning"] = bool(value)
            elif attr in ("macvlan_mode", "ipvlan_mode"):
                self._set_mode(link, value)
            else:
                setattr(link, attr, value)

    def link_delete(self, name, netns=None):
        self.calls.append(("link_delete", name, netns))
        link = self.links.pop(self._key(name, netns), None)
        if link is not None:
            self.fdb.pop(link.index, None)
            self.neigh.pop(link.index, None)
        if link is not None and link.kind == "veth":
            for key, other in list(self.links.items()):
                if other.index == link.peer_index and other.peer_index == link.index:
                    del self.links[key]

    def addresses_set(self, name, netns=None, add=(), remove=()):
        self.calls.append(("addresses_set", name, netns, list(add), list(remove)))
        link = self.links[self._key(name, netns)]
        link.addresses = (link.addresses - {ipaddress.ip_interface(a) for a in remove}) | {ipaddress.ip_interface(a) for a in add}

    def routes_set(self, name, netns=None, add=(), remove=()):
        self.calls.append(("routes_set", name, netns, list(add), list(remove)))
        link = self.links[self._key(name, netns)]

        def route(spec):
            via = ipaddress.ip_address(spec["via"]) if spec.get("via") else None
            return Route(ipaddress.ip_network(spec["dst"]), via, spec.get("metric") or 0)

        for spec in add:
            rt = route(spec)
            if rt.via is not None and not any(rt.via in a.network for a in link.addresses):
                raise KernelError("add route %s on %s: Network is unreachable" % (spec["dst"], name))
        link.routes = (link.routes - {route(s) for s in remove}) | {route(s) for s in add}

    # -- a vxlan device's fdb and neighbours

    def _host_link(self, name):
        link = self.links.get((None, name))
        if link is None:
            raise NotFound("link %s vanished while it was being configured" % name)
        return link

    def vxlan_fdb(self, name):
        link = self.links.get((None, name))
        return frozenset(self.fdb.get(link.index, ())) if link else frozenset()

    def fdb_add(self, name, mac, dst):
        self.calls.append(("fdb_add", name, mac, dst))
        entries = self.fdb.setdefault(self._host_link(name).index, set())
        entry = (mac, ipaddress.ip_address(dst))
        if mac == ZERO_MAC and entry in entries:
            raise KernelError("append fdb entry %s dst %s on %s: File exists" % (mac, dst, name))
        if mac != ZERO_MAC:  # one remote per unicast MAC: replace
            entries -= {e for e in entries if e[0] == mac}
        entries.add(entry)

    def fdb_delete(self, name, mac, dst):
        self.calls.append(("fdb_delete", name, mac, dst))
        entries = self.fdb.setdefault(self._host_link(name).index, set())
        if (mac, ipaddress.ip_address(dst)) not in entries:
            raise KernelError("del fdb entry %s dst %s on %s: No such file or directory" % (mac, dst, name))
        entries.discard((mac, ipaddress.ip_address(dst)))

    def neighbours(self, name):
        link = self.links.get((None, name))
        return dict(self.neigh.get(link.index, {})) if link else {}

    def neigh_add(self, name, ip, mac):
        self.calls.append(("neigh_add", name, ip, mac))
        self.neigh.setdefault(self._host_link(name).index, {})[ipaddress.ip_address(ip)] = mac

    def neigh_delete(self, name, ip):
        self.calls.append(("neigh_delete", name, ip))
        del self.neigh.setdefault(self._host_link(name).index, {})[ipaddress.ip_address(ip)]


class FakeSysctl:
    """Sysctls (every key reads "0" until set) and the ledger, in memory, kept as the real adapter
    keeps them (through the same functions of _sysctl)."""

    deferred = sysctl_module.Sysctl.deferred

    def __init__(self, values=None):
        self.values = dict(values or {})
        self.entries = {}   # the ledger
        self.calls = []

    def get(self, key):
        return self.values.get(key, "0")

    def set(self, key, value):
        self.calls.append((key, value))
        self.values[key] = value

    def ledger(self):
        return {key: dict(entry, users=list(entry["users"])) for key, entry in self.entries.items()}

    def claim(self, key, owner, value):
        self.calls.append(("claim", key, owner))
        self.entries = _ledger.claimed(self.entries, key, owner, self.get(key))
        self.set(key, value)

    def release(self, key, owner):
        self.calls.append(("release", key, owner))
        self.entries, restore = _ledger.released(self.entries, key, owner)
        if restore is not None:
            self.set(key, restore)


class FakeBackend:
    """What both fake firewalls share: others' rules, and what the tests read of them (their own
    reading of the raw state, below, not the product's parsers)."""

    def foreign_chains(self):
        return foreign_chains(self)

    def ruleset(self):
        return self.others

    def owners(self):
        return owners(self)

    def owned(self, owner):
        return owned(self, owner)

    def published(self):
        return published(self)

    def table_exists(self):
        return table_exists(self)


class FakeFirewall(FakeBackend):
    """Our nftables table in memory: it understands the commands _nftables generates."""

    name = "nftables"
    render = staticmethod(nft.render)
    changes = staticmethod(nft_state.changes)
    after = staticmethod(nftables.Nftables.after)

    def __init__(self):
        self.listing = None   # the `nft -j list table` answer, or None: no table
        self.staged, self.commits = [], 0
        self.others = None    # the whole ruleset, as `nft -j list ruleset` prints it (others' tables)
        self.saves = {}       # iptables-legacy-save / iptables-nft-save -> what it prints

    def read(self):
        return nft_state.checked(nft_state.TableState(self.listing))

    def stage(self, commands, after=None):
        self.staged += commands

    def commit(self):
        items = list((self.listing or {"nftables": []})["nftables"])
        for cmd in self.staged:
            (verb, body), = cmd.items()
            (kind, obj), = body.items()
            if kind == "table":
                items = [] if verb == "delete" else items
                continue
            if kind in ("map", "set") and not any(obj["name"] == i.get(kind, {}).get("name") for i in items):
                items.append({kind: dict(obj, elem=[])})
            elif kind == "chain" and verb == "add" and not any(obj["name"] == i.get("chain", {}).get("name") for i in items):
                items.append({"chain": obj})
            elif kind == "chain" and verb == "flush":
                items = [i for i in items if i.get("rule", {}).get("chain") != obj["name"]]
            elif kind == "chain" and verb == "delete":
                assert not any(i.get("rule", {}).get("chain") == obj["name"] for i in items), "deleting a chain that has rules"
                items = [i for i in items if i.get("chain", {}).get("name") != obj["name"]]
            elif kind == "rule":
                items.append({"rule": obj})
            elif kind == "element":
                target = next(i.get("map") or i.get("set") for i in items if (i.get("map") or i.get("set") or {}).get("name") == obj["name"])
                if verb == "add":   # a set holds an element once, as nft keeps it
                    target["elem"] += [e for e in obj["elem"] if json_key(e) not in [json_key(t) for t in target["elem"]]]
                else:
                    gone = [json_key(e) for e in obj["elem"]]
                    target["elem"] = [e for e in target["elem"] if json_key(e) not in gone]
        dropped = any("table" in c.get("delete", {}) for c in self.staged)
        self.listing = None if dropped else {"nftables": items}
        self.staged, self.commits = [], self.commits + 1


class FakeIptables(FakeBackend):
    """Our iptables chains in memory: it understands the commands _iptables generates."""

    name = "iptables"
    render = staticmethod(ipt.render)
    changes = staticmethod(ipt_state.changes)
    after = staticmethod(iptables.Iptables.after)

    def __init__(self):
        self.chains, self.hooks = {}, {}
        self.staged, self.commits = [], 0
        self.others, self.saves = None, {}   # as FakeFirewall's

    def read(self):
        return ipt_state.checked(ipt_state.State({k: list(v) for k, v in self.chains.items()}, {k: list(v) for k, v in self.hooks.items() if v}))

    def stage(self, commands, after=None):
        self.staged += commands

    def commit(self):
        for cmd in self.staged:
            verb, key = cmd[0], (cmd[1], cmd[2])
            rules = self.hooks.setdefault(key, []) if key in ipt.HOOKS or key in ipt.HOOKS6 else self.chains.get(key)
            if verb == "chain":
                self.chains.setdefault(key, [])
            elif verb == "delete_chain":
                assert not self.chains[key], "deleting a chain that has rules"
                del self.chains[key]
            elif verb == "flush":
                rules.clear()
            elif verb == "delete":
                rules.remove(cmd[3])
            elif verb == "append":
                rules.append(cmd[3])
            elif verb == "insert":
                rules.insert(cmd[4], cmd[3])
        self.staged, self.commits = [], self.commits + 1


def foreign_chains(fake):
    """What the adapters' foreign_chains read, from a fake's ``others`` and ``saves``."""
    return read_foreign(fake, assume_hook=fake.name == "iptables", save=lambda tool: fake.saves.get(tool, ""))


def json_key(element):
    if isinstance(element, list):
        element = element[0]
    if "elem" in element:
        element = element["elem"]["val"]
    return repr(element)


# -- what a test reads of a fake firewall -------------------------------------------------------
# The tests' own reading of the raw state a fake firewall holds, in the form the tools print it:
# with nftables every element's comment names its owner, with iptables every rule of an owner is
# commented "netmodes:OWNER". Never through the product's parsers (they are under test), so a parser
# that loses or invents something cannot hide it from the tests.

def raw_owned(fw):
    """{owner: [(set or chain, raw entry)]} of everything an owner holds in FW."""
    out = {}
    if fw.name == "nftables":
        for item in (fw.listing or {"nftables": []})["nftables"]:
            body = item.get("set") or item.get("map") or {}
            for entry in body.get("elem", []):
                key = entry[0] if isinstance(entry, list) else entry
                comment = key.get("elem", {}).get("comment") if isinstance(key, dict) else None
                if comment and body["name"] != nft.MARK_SET:
                    out.setdefault(comment, []).append((body["name"], entry))
            # a bridge's (a VXLAN device's, a resolver's) chains carry its name: isolate-BR, ..., vxlan-DEV, resolver-DEV
            rule = item.get("rule") or {}
            for prefix, kind in (("isolate-", "bridge"), ("fwd-in-", "bridge"), ("fwd-out-", "bridge"), ("nat-out-", "bridge"), ("vxlan-", "vxlan"),
                                 ("resolver-", "resolver")):
                if rule.get("chain", "").startswith(prefix):
                    out.setdefault("%s:%s" % (kind, rule["chain"][len(prefix):]), []).append((rule["chain"], rule["expr"]))
            if rule.get("chain", "").startswith("allow-"):   # a published port's allow-list: allow-PORT@OWNER
                out.setdefault(rule["chain"].rpartition("@")[2], []).append((rule["chain"], rule["expr"]))
        return out
    for (table, chain), rules in list(fw.chains.items()) + list(fw.hooks.items()):
        for head, matches, target in rules:
            comment = dict(dict(matches).get("comment", ())).get("comment", "")
            if comment.startswith("netmodes:"):
                out.setdefault(comment[len("netmodes:"):], []).append(("%s %s" % (table, chain), (head, matches, target)))
    return out


def owners(fw):
    return set(raw_owned(fw))


def owned(fw, owner):
    """What OWNER holds in FW, as [(set or chain, raw entry)]; empty if nothing."""
    return raw_owned(fw).get(owner, [])


def table_exists(fw):
    """Our nftables table, or any chain of ours with iptables."""
    return fw.listing is not None if fw.name == "nftables" else bool(fw.chains)


def published(fw):
    """[(owner, "[HOSTIP:]HOSTPORT:PORT/PROTO")] of the published ports in FW, sorted: read from the
    nftables DNAT maps or the iptables DNAT rules, in Docker's -p words."""
    out = []
    for owner, entries in raw_owned(fw).items():
        for where, entry in entries:
            if where == "any-port4":
                (proto, host_port), port = entry[0]["elem"]["val"]["concat"], entry[1]
                out.append((owner, "%s:%s/%s" % (host_port, port, proto)))
            elif where == "port4":
                (host_ip, proto, host_port), port = entry[0]["elem"]["val"]["concat"], entry[1]
                out.append((owner, "%s:%s:%s/%s" % (host_ip, host_port, port, proto)))
            elif where == "range4":
                prefix, proto, span = entry[0]["elem"]["val"]["concat"]
                ports = "%s-%s" % tuple(span["range"])
                host_ip = "" if prefix == {"prefix": {"addr": "0.0.0.0", "len": 0}} else prefix + ":"
                out.append((owner, "%s%s:%s/%s" % (host_ip, ports, ports, proto)))
            elif where == "nat NETMODES-DNAT":
                head, matches, target = dict(entry[0]), dict(entry[1]), dict(entry[2][1])
                proto = head["-p"]
                host_ip = head["-d"][:-len("/32")] + ":" if "-d" in head else ""
                host_port = dict(matches[proto])["dport"].replace(":", "-")
                port = target["to-destination"].partition(":")[2] or host_port
                out.append((owner, "%s%s:%s/%s" % (host_ip, host_port, port, proto)))
    return sorted(out)


class FakeSockets:
    def __init__(self):
        self.listening = []   # (protocol, address, port, inode)
        self.claimed = {}
        self.running = {}     # network namespace inode -> [(pid, command line)]

    def claims(self):
        return {k: [list(p) for p in v] for k, v in self.claimed.items()}

    def claim(self, name, ports):
        if ports:
            self.claimed[name] = [list(p) for p in ports]
        else:
            self.claimed.pop(name, None)

    def listeners(self):
        return list(self.listening)

    def process_of(self, inode):
        return "python3 (pid %d)" % inode

    def processes_in(self, netns_inode):
        return list(self.running.get(netns_inode, []))


def make_firewall(backend):
    return FakeFirewall() if backend == "nftables" else FakeIptables()


class FakeFiles:
    """The host's files and the sandboxes' /etc/netns files in memory, recorded as the real adapter does."""

    def __init__(self):
        self.host = {}      # absolute path -> text (or bytes), e.g. /etc/resolv.conf
        self.links = {}     # absolute path -> target of a symbolic link
        self.owners = {}    # absolute path -> uid of a host file not root's
        self.unsafe = {}    # directory -> why users other than root could change what is in it
        self.files = {}     # (netns, name) -> text
        self.records = {}   # netns -> {name: hash of what was written}
        self.stray = False  # an empty records directory, left by an interrupted removal
        self.shared = {}    # netns -> the sandbox whose directory /etc/netns/NETNS is a symbolic link to
        self.calls = []

    def host_file(self, name):
        return self.host.get(name)

    def host_entry(self, name):
        if name in self.links:
            return "link", self.links[name], 0
        value = self.host.get(name)
        if value is None:
            return None
        return "file", value.encode() if isinstance(value, str) else value, self.owners.get(name, 0)

    def host_path_problem(self, name):
        return next((why for where, why in self.unsafe.items() if name.startswith(where + "/")), None)

    def write_host_file(self, name, content, mode=0o644):
        self.calls.append(("write_host_file", name, mode))
        self.host[name] = content

    def link_host_file(self, name, target):
        self.calls.append(("link_host_file", name, target))
        self.links[name] = target

    def remove_host_file(self, name, directory=False):
        self.calls.append(("remove_host_file", name))
        self.host.pop(name, None)
        self.links.pop(name, None)

    def read(self, netns, name):
        return self.files.get((netns, name))

    def recorded(self, netns):
        return dict(self.records.get(netns, {}))

    def recorded_sandboxes(self):
        return sorted(name for name, marks in self.records.items() if marks)

    def write(self, netns, name, content):
        self.calls.append(("write", netns, name))
        self.files[(netns, name)] = content
        self.records.setdefault(netns, {})[name] = digest(content)

    def remove(self, netns, name):
        self.calls.append(("remove", netns, name))
        self.files.pop((netns, name), None)
        self.records.get(netns, {}).pop(name, None)

    def link_of(self, netns):
        return self.shared.get(netns)

    def link(self, netns, target, remove=()):
        self.calls.append(("link", netns, target))
        left = [name for (owner, name) in self.files if owner == netns and name not in remove]
        if left:
            raise Conflict("/etc/netns/%s holds %s" % (netns, ", ".join(left)))
        for name in remove:
            self.files.pop((netns, name), None)
        self.shared[netns] = target
        self.records[netns] = {"link": target}

    def unlink(self, netns):
        self.calls.append(("unlink", netns))
        self.shared.pop(netns, None)
        self.records.get(netns, {}).pop("link", None)

    def stray_records(self):
        return self.stray

    def tidy(self):
        self.calls.append(("tidy",))
        self.stray = False


class FakeResolvers:
    """The resolvers' adapter in memory: {network: {"config", "hosts", "users", "running" (a pid)}}."""

    def __init__(self):
        self.resolvers = {}
        self.present = True  # dnsmasq is installed
        self.units, self.unit_text = False, None  # resolvers run as systemd units; the unit template's text
        self.calls = []
        self._pids = itertools.count(100)

    def installed(self):
        return self.present

    def networks(self):
        return sorted(self.resolvers)

    def read(self, network):
        return dict({"config": None, "hosts": None, "users": None, "running": None}, **self.resolvers.get(network, {}),
                    directory=network in self.resolvers)

    def write(self, network, config=None, hosts=None, users=None):
        self.calls.append(("write", network, config is not None, hosts is not None))
        found = self.resolvers.setdefault(network, {"config": None, "hosts": None, "users": None, "running": None})
        found.update({k: v for k, v in (("config", config), ("hosts", hosts), ("users", users)) if v is not None})

    def restart(self, network):
        self.calls.append(("restart", network))
        self.resolvers[network]["running"] = next(self._pids)

    def remove(self, network):
        self.calls.append(("remove", network))
        self.resolvers.pop(network, None)

    def unit(self):
        return self.units, self.unit_text

    def write_unit(self):
        self.calls.append(("write_unit",))
        self.unit_text = _resolver.UNIT_TEMPLATE

    def remove_unit(self):
        self.calls.append(("remove_unit",))
        self.unit_text = None


@pytest.fixture(autouse=True)
def lock_path(monkeypatch, tmp_path):
    """The host's lock of a run in a unit test: a file of the test's own, never /run/netmodes/lock."""
    path = tmp_path / "netmodes" / "lock"
    monkeypatch.setattr(_lock, "LOCK_PATH", str(path))
    return path


@pytest.fixture
def files():
    return FakeFiles()


@pytest.fixture
def firewall():
    """The nftables fake; firewall tests override this fixture with ``each_firewall``."""
    return FakeFirewall()


@pytest.fixture(params=["nftables", "iptables"])
def each_firewall(request):
    return make_firewall(request.param)


@pytest.fixture
def sockets():
    return FakeSockets()


@pytest.fixture
def kernel():
    return FakeNetlink()


@pytest.fixture
def sysctl():
    return FakeSysctl()


@pytest.fixture
def resolvers():
    return FakeResolvers()


@pytest.fixture
def adapters(kernel, sysctl, firewall, sockets, files, *, resolvers):
    return {"netlink": kernel, "sysctl": sysctl, "firewall": firewall, "sockets": sockets, "files": files, "resolver": resolvers}


@pytest.fixture
def rebooted(firewall, files):
    """The adapters of the same host after a reboot: empty kernel, sysctls, firewall and /run, the same files."""
    return {"netlink": FakeNetlink(), "sysctl": FakeSysctl(), "firewall": type(firewall)(), "sockets": FakeSockets(), "files": files,
            "resolver": FakeResolvers()}


@pytest.fixture
def converge(adapters):
    """converge(ResourceClass, check=False, **options) -> the module result, as Ansible would run it."""
    def run(resource_class, check=False, **options):
        unknown = set(options) - set(resource_class.argument_spec)
        assert not unknown, "not options of %s: %s" % (resource_class.__name__, unknown)
        return engine_converge(resource_class(resource_class.params_with(**options), adapters, check))

    return run


def names_field(error, options):
    """Whether ERROR's message begins with the field it names ("mtu: ...", "config[0].subnet: ...",
    at least as precisely as error.field), or, for a conflict between entries of a batch, with
    the name of a declared entry ("web: ip: ...", "web: publish: ...")."""
    msg, field = error.msg, error.field or ""
    if field and msg.startswith(field) and msg[len(field):len(field) + 1] in (":", ".", "["):
        return True
    names = [entry.get("name") for entry in options.get("config") or [] if isinstance(entry, dict)]
    return field == "config" and any(name and msg.startswith((name + ":", name + ".")) for name in names)


@pytest.fixture
def refused(converge, kernel, sysctl, firewall, files):
    """refused(ResourceClass, error, fragment, **options): the run fails with ERROR matching
    FRAGMENT, the message begins with the field it names, and nothing reached the kernel, the
    sysctls, the firewall (staged or committed) or the files."""

    def run(resource_class, error, fragment, **options):
        calls = (len(kernel.calls), len(sysctl.calls), firewall.commits, len(firewall.staged), len(files.calls))
        with pytest.raises(error, match=fragment) as caught:
            converge(resource_class, **options)
        assert names_field(caught.value, options), "the message does not begin with the field: %r %s" % (caught.value.field, caught.value.msg)
        assert (len(kernel.calls), len(sysctl.calls), firewall.commits, len(firewall.staged), len(files.calls)) == calls, \
            "a refused run changed something (kernel, sysctl, firewall commits, staged firewall commands, file calls)"
        return caught.value

    return run


@pytest.fixture
def four_steps(converge, kernel, sysctl, firewall, files):
    """The idempotence pattern: check changes nothing, run changes, repeat and repeat-check don't."""

    def run(resource_class, **options):
        calls = (len(kernel.calls), len(sysctl.calls), firewall.commits, len(files.calls))
        check = converge(resource_class, check=True, **options)
        assert check["changed"], "check mode should report a change"
        assert (len(kernel.calls), len(sysctl.calls), firewall.commits, len(files.calls)) == calls, "check mode applied something"
        first = converge(resource_class, **options)
        assert first["changed"]
        assert first["operations"] == check["operations"], "check mode planned something else"
        again = converge(resource_class, **options)
        assert not again["changed"], "not idempotent: %s" % again["operations"]
        assert not converge(resource_class, check=True, **options)["changed"]
        return first

    return run


@pytest.fixture
def bridge_world(converge, kernel):
    """A bridge br0 (172.18.0.1/16) with sandboxes web (.10) and db (.11) on it: what a published port needs."""
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    for name, ip in (("web", "172.18.0.10"), ("db", "172.18.0.11")):
        converge(Netns, name=name)
        converge(Veth, name="veth-" + name, netns=name, bridge="br0", addresses=[ip + "/16"], gateway="172.18.0.1")
