# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vxlan resource (module netmodes.linux.vxlan): one host's end of an overlay network.

No multicast group and no key-value store: the remotes are static fdb entries. Each peer (the
underlay address of another host) is an all-zero-MAC entry, so what has no entry of its own is
sent to every peer (head-end replication); ``fdb`` and ``neigh`` are Docker's peerdb, the
members' MAC and IP addresses on other hosts, which let learning and ARP flooding be off.

The kernel takes VXLAN from any sender, so the device is also a firewall owner
(``vxlan:NAME``): VXLAN with its VNI to its port is accepted from its remotes (the peers and the
hosts of the fdb entries) and dropped from anyone else.
"""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall, _fleet, _links
from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._netlink import ZERO_MAC

# Outer Ethernet (14) + IP + UDP (8) + VXLAN (8) headers, by the underlay's IP version.
OVERHEAD = _fleet.VXLAN_OVERHEAD
# What the kernel cannot change on an existing device: a change means delete and create again.
FIXED = ("vni", "local", "dstport", "proxy")


def _entries(values, field_name, *, key, value, parse_key, parse_value):
    """A list of dicts {KEY, VALUE} as {key: value}; each key at most once."""
    if values is None:
        return None
    out = {}
    for i, spec in enumerate(values):
        where = "%s[%d]" % (field_name, i)
        if not isinstance(spec, dict) or set(spec) != {key, value}:
            raise InvalidInput("%s: an entry is a dict with exactly '%s' and '%s', got %r" % (where, key, value, spec), where)
        found = parse_key(spec[key], where + "." + key)
        if found in out:
            raise InvalidInput("%s: %s %s is listed twice; give each one entry" % (where, key, found), where)
        out[found] = parse_value(spec[value], where + "." + value)
    return out


class Vxlan(Resource):
    argument_spec = {
        "name": {"type": "str", "required": True},
        "vni": {"type": "int"},
        "local": {"type": "str"},
        "dstport": {"type": "int", "default": 4789},
        "mtu": {"type": "int"},
        "bridge": {"type": "str"},
        "learning": {"type": "bool"},
        "peers": {"type": "list", "elements": "str"},
        "fdb": {"type": "list", "elements": "dict"},
        "neigh": {"type": "list", "elements": "dict"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "firewall_backend": _firewall.BACKEND_OPTION,
    }
    required_if = [("state", "present", ("vni", "local"))]

    def desired(self):
        p = self.params
        d = {"name": m.ifname(p["name"], "name", existing=p["state"] == "absent"), "state": p["state"]}
        if p["state"] == "absent":
            return d
        for required in ("vni", "local"):
            if p[required] is None:
                raise InvalidInput("%s: required with state=present" % required, required)
        local = m.address(p["local"], "local")
        d.update(vni=m.number(p["vni"], "vni", 1, 16777215, "a VXLAN network identifier has 24 bits and 0 is not one"),
                 local=local, dstport=m.number(p["dstport"], "dstport", 1, 65535, "a UDP port"), mtu=m.mtu(p["mtu"], "mtu"),
                 bridge=m.ifname(p["bridge"], "bridge") if p["bridge"] else None,
                 peers=m.addresses(p["peers"], "peers", local.version))
        if d["peers"] and local in d["peers"]:
            raise InvalidInput("peers: %s is this host's own local address; list the other hosts only" % local, "peers")
        d["fdb"] = _entries(p["fdb"], "fdb", key="mac", value="dst", parse_key=self._unicast,
                            parse_value=lambda v, f: m.address(v, f, local.version))
        d["neigh"] = _entries(p["neigh"], "neigh", key="ip", value="mac", parse_key=m.address, parse_value=m.mac)
        static = d["fdb"] is not None or d["neigh"] is not None
        # With a peerdb the remotes are known: learning off, unless asked for. Without one, the
        # kernel's default (on) for a new device, and what it is for an existing one.
        d["learning"] = p["learning"] if p["learning"] is not None else (False if static else None)
        # The device answers ARP from its neighbour entries (and does not flood it) when it has them.
        d["proxy"] = True if d["neigh"] is not None else None
        return d

    @staticmethod
    def _unicast(value, field_name):
        found = m.mac(value, field_name)
        if found == ZERO_MAC:
            raise InvalidInput("%s: the all-zero MAC is the default destination; list that host under peers" % field_name, field_name)
        return found

    def read(self, desired):
        net, name = self.adapters["netlink"], desired["name"]
        link = net.link(name, routes=False)
        ours = link is not None and link.kind == "vxlan"
        current = {"link": link, "fdb": net.vxlan_fdb(name) if ours else frozenset(), "neigh": net.neighbours(name) if ours else {},
                   "firewall": self.adapters["firewall"].read()}
        if desired["state"] == "present":
            current["bridge"] = net.link(desired["bridge"], routes=False) if desired["bridge"] else None
            carrier = next((n for n, addrs in net.addresses_by_link().items() if any(a.ip == desired["local"] for a in addrs)), None)
            current["underlay"] = net.link(carrier, routes=False) if carrier else None
        return current

    def plan(self, current, desired):
        name, link, obj = desired["name"], current["link"], "vxlan %s" % desired["name"]
        _links.require_ours(link, "vxlan", "vxlan")
        if desired["state"] == "absent":
            ops = [Op("delete", obj, before={"vni": link.info["vni"]}, call=("netlink.link_delete", {"name": name}))] if link else []
            return ops + self._filter_ops(current, desired, None)
        _links.check_bridge(self, desired["bridge"], current["bridge"])
        underlay, mtu = current["underlay"], desired["mtu"]
        if underlay is None:
            self.missing(NotFound("local: %s is not an address of any link on this host; give this host's underlay address"
                                  " (the one its peers reach it at)" % desired["local"], "local"))
        elif mtu is None:
            mtu = underlay.mtu - OVERHEAD[desired["local"].version]
        ops, fdb, neigh = self._device_ops(obj, link, desired), current["fdb"], current["neigh"]
        if ops:  # a new device: nothing on it yet
            link, fdb, neigh = None, frozenset(), {}
        attrs = {"mtu": mtu, "master": desired["bridge"], "state": "up"}
        have = _links.link_attrs(link)
        if link is not None:  # a new device was made with it
            attrs["vxlan_learning"], have["vxlan_learning"] = desired["learning"], link.info["learning"]
        ops += _links.plan_attrs(obj, name, None, have, attrs)
        peers = None if desired["peers"] is None else dict.fromkeys(desired["peers"], ZERO_MAC)
        ops += _plan_table(obj + " peer", "mac", {dst: mac for mac, dst in fdb if mac == ZERO_MAC}, peers,
                           add=lambda dst, mac: ("netlink.fdb_add", {"name": name, "mac": mac, "dst": str(dst)}),
                           delete=lambda dst, mac: ("netlink.fdb_delete", {"name": name, "mac": mac, "dst": str(dst)}))
        ops += _plan_table(obj + " fdb", "dst", {mac: dst for mac, dst in fdb if mac != ZERO_MAC}, desired["fdb"],
                           add=lambda mac, dst: ("netlink.fdb_add", {"name": name, "mac": mac, "dst": str(dst)}),
                           delete=lambda mac, dst: ("netlink.fdb_delete", {"name": name, "mac": mac, "dst": str(dst)}))
        ops += _plan_table(obj + " neigh", "mac", neigh, desired["neigh"],
                           add=lambda ip, mac: ("netlink.neigh_add", {"name": name, "ip": str(ip), "mac": mac}),
                           delete=lambda ip, mac: ("netlink.neigh_delete", {"name": name, "ip": str(ip)}))
        peers = desired["peers"] if desired["peers"] is not None else {dst for mac, dst in fdb if mac == ZERO_MAC}
        hosts = set(desired["fdb"].values()) if desired["fdb"] is not None else {dst for mac, dst in fdb if mac != ZERO_MAC}
        filtered = _firewall.VxlanPeers(name, desired["vni"], desired["dstport"], desired["local"].version, tuple(sorted(set(peers) | hosts)))
        return ops + self._filter_ops(current, desired, filtered)

    def _filter_ops(self, current, desired, filtered):
        """The op that lets the device's VXLAN in from FILTERED.sources only (None: the device goes)."""
        firewall, state, owner = self.adapters["firewall"], current["firewall"], _firewall.vxlan_owner(desired["name"])
        want = firewall.render(owner, [filtered]) if filtered else set()
        before = self._admitted(current, owner) if state.owned_by(owner) else None
        after = m.jsonable(list(filtered.sources)) if filtered else None
        return _firewall.plan("vxlan %s firewall" % desired["name"], "peers", firewall, state, owner, want=want, before=before, after=after)

    def _admitted(self, current, owner):
        """Whom OWNER's rules admit now, when they are those of the device as it is; else a word for them."""
        link, firewall = current["link"], self.adapters["firewall"]
        if link is None or link.info.get("local") is None:
            return "those of a device that is gone"
        remotes = tuple(sorted({dst for _mac, dst in current["fdb"]}))
        now = _firewall.VxlanPeers(link.name, link.info["vni"], link.info["dstport"], link.info["local"].version, remotes)
        return m.jsonable(list(remotes)) if firewall.render(owner, [now]) == current["firewall"].owned_by(owner) else "others, or changed by hand"

    @staticmethod
    def _device_ops(obj, link, desired):
        """The op that creates the device, or recreates it when a FIXED field differs."""
        spec = {"name": desired["name"], "vni": desired["vni"], "local": str(desired["local"]), "dstport": desired["dstport"],
                "learning": desired["learning"], "proxy": bool(desired["proxy"])}
        if link is None:
            after = {"vni": desired["vni"], "local": desired["local"], "dstport": desired["dstport"]}
            return [Op("create", obj, after=after, call=("netlink.link_add_vxlan", spec))]
        changed = [f for f in FIXED if desired[f] is not None and link.info[f] != desired[f]]
        if not changed:
            return []
        return [Op("recreate", obj, before={f: link.info[f] for f in changed}, after={f: desired[f] for f in changed},
                   call=("netlink.link_add_vxlan", dict(spec, replace=True)))]

    def result(self, current, desired):
        link = current["link"]
        if link is None:
            return {"name": desired["name"], "exists": False}
        fdb = current["fdb"]
        out = {"name": link.name, "exists": True, "mtu": link.mtu, "mac": link.mac, "master": link.master,
               "peers": m.jsonable({dst for mac, dst in fdb if mac == ZERO_MAC}),
               "fdb": [{"mac": mac, "dst": str(dst)} for mac, dst in sorted(fdb, key=str) if mac != ZERO_MAC],
               "neigh": [{"ip": str(ip), "mac": mac} for ip, mac in sorted(current["neigh"].items(), key=str)]}
        out.update(m.jsonable(link.info or {}))
        return out


def _plan_table(obj, field, have, want, *, add, delete):
    """One op per entry of a table KEY -> FIELD that differs: an entry added, changed or removed
    is one op on the object "OBJ KEY", and the other entries are not touched. WANT None: not managed."""
    if want is None:
        return []
    ops = []
    for key in sorted(set(have) | set(want), key=str):
        before, after, entry = have.get(key), want.get(key), "%s %s" % (obj, key)
        if before is None:
            ops.append(Op("create", entry, after={field: after}, call=add(key, after)))
        elif after is None:
            ops.append(Op("delete", entry, before={field: before}, call=delete(key, before)))
        elif before != after:
            ops.append(Op("set", entry, field, before, after, call=add(key, after)))
    return ops
