# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one snapshot of a simulated host: everything the collection's modules can write, as one
JSON document, for every "same state" and "nothing changed" check of the tests.

Run inside a host (``python tests/harness/hostsnap.py``; tests/harness/modrun.py imports it). It
reads with the kernel's own tools (ip, bridge, nft, iptables-legacy-save) and the file system,
never with the collection's code, and fails (exit status 1, the failing command on stderr) when
one of them fails: a snapshot that cannot be taken is never an empty one.

- ``netns``: the names in /run/netns (mounted or a bare file left behind) and which share one;
- ``spaces``: for the host and every named namespace, the links with all their details (bridge
  and port flags such as hairpin, vxlan and macvlan settings, the peer of a veth by namespace and
  name), addresses, routes of every table, static fdb entries, permanent neighbours, and the
  sysctls of ours: ip_forward, forwarding and route_localnet of every IPv4 interface, forwarding,
  force_forwarding, disable_ipv6 and accept_ra of every IPv6 interface, br_netfilter's bridge-nf-call-*;
- ``nftables`` (every table), ``iptables-legacy`` and ``ip6tables-legacy``;
- ``files``: every file, directory and symlink under the paths the collection writes
  (/etc/netns, /etc/netmodes, /run/netmodes, /run/netns, the resolvers' /run/netmodes-resolver, the
  restore unit and command) with modes and contents (a resolver's pid file: whether it names its
  running resolver), and the mounts under them;
- ``ids``: what the kernel picks anew each time an object is made (link indexes, random MACs, a
  bridge's MAC, which the collection picks at random and fixes (whether it is fixed is state),
  namespace inodes, nftables handles, bridge and port ids, the resolvers' pids). Two snapshots of one host with nothing
  done in between are equal, ``ids`` included; ``comparable()`` drops ``ids`` for comparing a
  host with another run that made the same objects anew (crash re-runs, boot restore).

Left out as noise that no module sets: counters, timers, carrier and operational state, STP port
states, IPv6 link-local addresses and their routes, learned fdb entries and neighbours, and
/run/netmodes/lock with its directory (every run, check mode and refused input too, takes the lock
before it reads, and the file records who held it last).
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

RESOLVERS, RESOLVER_PID = "/run/netmodes-resolver", "dnsmasq.pid"  # a resolver's pid: in ids
WATCHED = ("/etc/netns", "/etc/netmodes", "/run/netmodes", "/run/netns", "/usr/local/lib/netmodes", RESOLVERS)
UNIT_GLOBS = ("/etc/systemd/system/netmodes*", "/etc/systemd/system/*.wants/netmodes*")
LOCK = "/run/netmodes/lock"
OWNED_DIR = "/run/netmodes/netns"
SYSCTLS = ("/proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/forwarding /proc/sys/net/ipv4/conf/*/route_localnet"
           " /proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv6/conf/*/force_forwarding /proc/sys/net/ipv6/conf/*/disable_ipv6"
           " /proc/sys/net/ipv6/conf/*/accept_ra /proc/sys/net/bridge/bridge-nf-call-*")

_NOISE_FLAGS = {"LOWER_UP", "NO-CARRIER", "M-DOWN", "DORMANT"}
_NOISE_LINK = {"ifindex", "operstate", "linkmode", "link_index", "link_netnsid", "address", "flags", "stats", "stats64"}
# Bridge and port data that STP and time move, or that holds the bridge's MAC (in ``ids``).
_TIMERS = ("_timer",)
_BRIDGE_IDS = {"bridge_id", "root_id", "designated_root", "designated_bridge", "root_port", "root_path_cost", "id", "no",
               "designated_port", "designated_cost"}
_BRIDGE_NOISE = {"state", "topology_change", "topology_change_detected", "topology_change_ack", "config_pending"}
_RANDOM_MAC = "1"  # /sys/class/net/*/addr_assign_type: 0 permanent, 1 random, 2 stolen, 3 set
_OURS = "netmodes.linux "  # the alias a link of ours is tagged with


class SnapshotError(Exception):
    pass


def run(*argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SnapshotError("%s failed (%d): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))
    return proc.stdout


def ip_json(netns, *argv, tool="ip"):
    prefix = [tool, "-n", netns] if netns else [tool]
    return json.loads(run(*prefix, "-j", *argv) or "[]")


def in_netns(netns, script):
    """Output of the shell SCRIPT run in NETNS (None: the host's)."""
    return run(*(["ip", "netns", "exec", netns] if netns else []), "sh", "-c", script)


def namespaces():
    """({name: {mounted, names}}, {first name of each mounted namespace: inode})."""
    nsfs = os.stat("/proc/self/ns/net").st_dev
    table, by_inode = {}, {}
    for name in sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []:
        st = os.stat(os.path.join("/run/netns", name))
        mounted = st.st_dev == nsfs
        table[name] = {"mounted": mounted}
        if mounted:
            by_inode.setdefault(st.st_ino, []).append(name)
    for names in by_inode.values():
        for name in names:
            table[name]["names"] = names
    return table, {names[0]: inode for inode, names in by_inode.items()}


def nsid_names(netns):
    """{nsid: name} as NETNS numbers the other namespaces; an nsid without a name is the host's."""
    return {item["nsid"]: item.get("name") for item in ip_json(netns, "netns", "list-id")}


def _bridge_data(data, ids, where):
    out = {}
    for key, value in data.items():
        if key in _BRIDGE_IDS:
            ids[where + " " + key] = value
        elif key not in _BRIDGE_NOISE and not key.endswith(_TIMERS):
            out[key] = value
    return out


def links(netns, space, indexes, ids):
    """{name: details} of the links of NETNS; identity (index, random MAC) goes to IDS."""
    names = nsid_names(netns)
    assign = dict(line.rsplit(":", 1) for line in in_netns(netns, "cd /sys/class/net && grep -H . */addr_assign_type").split())
    out = {}
    for link in ip_json(netns, "-d", "link", "show"):
        name, where = link["ifname"], "%s %s" % (space, link["ifname"])
        item = {k: v for k, v in link.items() if k not in _NOISE_LINK}
        item["flags"] = sorted(set(link.get("flags", [])) - _NOISE_FLAGS)
        ids[where + " ifindex"] = link["ifindex"]
        assigned = assign.get(name + "/addr_assign_type")
        bridge_of_ours = link.get("linkinfo", {}).get("info_kind") == "bridge" and link.get("ifalias", "").startswith(_OURS)
        if bridge_of_ours:
            item["mac assigned"] = assigned  # "3" (set): fixed, whatever its ports; "1": the lowest port's, moving
        if assigned == _RANDOM_MAC or bridge_of_ours:   # a bridge of ours is made with a random MAC of its own
            ids[where + " mac"] = link.get("address")
        else:
            item["address"] = link.get("address")
        if "link_netnsid" in link:
            # A namespace without a name is the host seen from a sandbox, or the machine outside
            # seen from the host (the lab cable's other end).
            peer_space = names.get(link["link_netnsid"]) or ("(host)" if netns else "(outside)")
            peer = indexes.get(peer_space, {}).get(link.get("link_index"))
            item["peer"] = [peer_space, peer]
            if peer is None:
                ids[where + " peer index"] = link.get("link_index")
        elif "link_index" in link:
            item["peer"] = [space, indexes[space].get(link["link_index"])]
        info = dict(link.get("linkinfo", {}))
        for key, kind in (("info_data", "info_kind"), ("info_slave_data", "info_slave_kind")):
            if key in info and info.get(kind) == "bridge":
                info[key] = _bridge_data(info[key], ids, "%s %s" % (where, key))
        if info:
            item["linkinfo"] = info
        out[name] = item
    return out


def addresses(netns):
    out = {}
    for link in ip_json(netns, "addr", "show"):
        found = [{k: v for k, v in a.items() if k not in ("valid_life_time", "preferred_life_time", "tentative")}
                 for a in link.get("addr_info", []) if not (a.get("family") == "inet6" and a.get("scope") == "link")]
        if found:
            out[link["ifname"]] = sorted(found, key=json.dumps)
    return out


def routes(netns):
    out = []
    for family in ("-4", "-6"):
        for route in ip_json(netns, family, "route", "show", "table", "all"):
            if route.get("dst", "").startswith(("fe80", "ff00")):
                continue
            route = {k: v for k, v in route.items() if k not in ("expires",)}
            route["flags"] = [f for f in route.get("flags", []) if f != "linkdown"]
            out.append(route)
    return sorted(out, key=json.dumps)


def fdb(netns, macs, local):
    """Static and permanent fdb entries but the multicast ones the kernel adds on its own; the
    MAC of the entry's own link is written "own", any other random MAC of a link on this host
    "local" (a bridge takes the lowest MAC of its ports, whichever that is; a macvlan's MAC, in a
    sandbox, shows on its parent)."""
    out = []
    for entry in ip_json(netns, "fdb", "show", tool="bridge"):
        mac = entry.get("mac", "")
        learned = entry.get("state") not in ("permanent", "static", "noarp")
        if learned or (int(mac.split(":")[0], 16) & 1 and "dst" not in entry):
            continue
        entry = {k: v for k, v in entry.items() if k not in ("updated", "used")}
        if mac == macs.get(entry.get("ifname")):
            entry["mac"] = "own"
        elif mac in local:
            entry["mac"] = "local"
        out.append(entry)
    return sorted(out, key=json.dumps)


def neighbours(netns):
    """Permanent and noarp neighbours (what a module declares); learned ones come with traffic."""
    out = [n for n in ip_json(netns, "neigh", "show") + ip_json(netns, "neigh", "show", "proxy")
           if set(n.get("state", ["PERMANENT"])) & {"PERMANENT", "NOARP"} or "proxy" in n]
    return sorted(out, key=json.dumps)


def sysctls(netns):
    out = {}
    for line in in_netns(netns, "grep -H . %s 2>/dev/null; true" % SYSCTLS).splitlines():
        path, _sep, value = line.partition(":")
        out[path[len("/proc/sys/"):]] = value
    if not any(key.endswith("ip_forward") for key in out):
        raise SnapshotError("no ip_forward in %s: the sysctls cannot be read" % (netns or "the host"))
    return out


def nftables(ids):
    """The ruleset: objects by kind and name, rules in order per chain, counters zeroed; the
    handles (a rule removed and added back has a new one) in IDS."""
    out = {}
    for item in json.loads(run("nft", "-j", "list", "ruleset"))["nftables"]:
        for kind, body in item.items():
            if kind == "metainfo":
                continue
            where = "%s %s %s %s" % (kind, body.get("family"), body.get("table", body.get("name")), body.get("chain", body.get("name")))
            body = dict(body)
            handle = body.pop("handle", None)
            if kind == "rule":
                ids.setdefault("nft " + where, []).append(handle)
                out.setdefault(where, []).append([{k: ("counter" if k == "counter" else v) for k, v in e.items()} for e in body["expr"]])
                continue
            ids["nft " + where] = handle
            for key in ("packets", "bytes"):
                body.pop(key, None)
            if "elem" in body:
                body["elem"] = sorted(body["elem"], key=json.dumps)
            out[where] = body
    return out


def legacy(tool):
    return [line.split(" [")[0] if line.startswith(":") else line for line in run(tool).splitlines() if not line.startswith("#")]


def _entry(path, inodes):
    st = os.lstat(path)
    if os.path.islink(path):
        return "symlink -> %s" % os.readlink(path)
    if os.path.isdir(path):
        return "dir %o" % (st.st_mode & 0o7777)
    if path.startswith("/run/netns/"):
        return "file"
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    if os.path.dirname(path) == OWNED_DIR:
        name = os.path.basename(path)
        text = "records the inode of /run/netns/%s: %s" % (name, text.strip() == str(inodes.get(name)))
    return "file %o %s" % (st.st_mode & 0o7777, text)


def _resolver_pid(path, entry):
    """(what a resolver's pid file says that a new run would say alike, the pid): whether it names
    a process whose command line names that resolver's config."""
    mode, _sep, text = entry[len("file "):].partition(" ")
    conf = "--conf-file=" + os.path.join(os.path.dirname(path), "dnsmasq.conf")
    try:
        with open("/proc/%d/cmdline" % int(text.strip()), "rb") as handle:
            running = conf in handle.read().decode("utf-8", "replace").split("\0")
    except (OSError, ValueError):
        running = False
    return "file %s names its running resolver: %s" % (mode, running), text.strip()


def files(inodes, ids):
    """{path: what it is} under the watched paths; a namespace's owner record says only whether
    it names that namespace's inode now (the inode is in IDS)."""
    out = {}
    paths = [p for pattern in UNIT_GLOBS for p in glob.glob(pattern)]
    for top in WATCHED:
        for root, dirs, names in os.walk(top):
            dirs.sort()
            paths += [root] + [os.path.join(root, name) for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]]
    for path in sorted(set(paths)):
        if path not in ("/run/netmodes", LOCK):  # the lock and its directory: any run makes them
            out[path] = _entry(path, inodes)
        if path.startswith(RESOLVERS + "/") and path.endswith("/" + RESOLVER_PID) and out[path].startswith("file "):
            out[path], ids["pid of " + path] = _resolver_pid(path, out[path])
    for name, inode in inodes.items():
        ids["inode of " + name] = inode
    with open("/proc/self/mountinfo") as handle:
        mounts = sorted(line.split()[4] for line in handle if line.split()[4].startswith(WATCHED))
    return out, mounts


def take():
    """The snapshot of the host this runs in, as a dict (raises SnapshotError)."""
    table, inodes = namespaces()
    mounted = sorted(inodes)
    ids = {}
    indexes = {space: {link["ifindex"]: link["ifname"] for link in ip_json(ns, "link", "show")}
               for space, ns in [("(host)", None)] + [(name, name) for name in mounted]}
    where = [("(host)", None)] + [(name, name) for name in mounted]
    spaces = {space: {"links": links(ns, space, indexes, ids)} for space, ns in where}
    local = {mac for key, mac in ids.items() if key.endswith(" mac")}
    for space, ns in where:
        macs = {name: ids.get("%s %s mac" % (space, name), item.get("address")) for name, item in spaces[space]["links"].items()}
        spaces[space].update({"addresses": addresses(ns), "routes": routes(ns), "fdb": fdb(ns, macs, local),
                              "neighbours": neighbours(ns), "sysctl": sysctls(ns)})
    if "lo" not in spaces["(host)"]["links"]:
        raise SnapshotError("the host has no lo: this is not a host's state")
    tree, mounts = files(inodes, ids)
    return {"netns": table, "spaces": spaces, "nftables": nftables(ids), "iptables-legacy": legacy("iptables-legacy-save"),
            "ip6tables-legacy": legacy("ip6tables-legacy-save"), "files": tree, "mounts": mounts, "ids": ids}


def comparable(snapshot):
    """SNAPSHOT without what the kernel picks anew when the same objects are made again."""
    return {k: v for k, v in snapshot.items() if k != "ids"}


def differences(want, have, where=""):
    """Readable lines for what differs between two snapshots (or any JSON values)."""
    if isinstance(want, dict) and isinstance(have, dict):
        out = []
        for key in sorted(set(want) | set(have)):
            if key not in have:
                out.append("%s.%s: missing (want %s)" % (where, key, json.dumps(want[key])[:300]))
            elif key not in want:
                out.append("%s.%s: extra %s" % (where, key, json.dumps(have[key])[:300]))
            else:
                out += differences(want[key], have[key], "%s.%s" % (where, key))
        return out
    if isinstance(want, list) and isinstance(have, list) and want != have:
        wanted, had = [json.dumps(w, sort_keys=True) for w in want], [json.dumps(h, sort_keys=True) for h in have]
        out = ["%s: missing %s" % (where, w[:400]) for w in wanted if w not in had]
        out += ["%s: extra %s" % (where, h[:400]) for h in had if h not in wanted]
        return out or ["%s: the same items in another order: want %s, have %s" % (where, wanted, had)]
    if want != have:
        return ["%s: want %s, have %s" % (where, json.dumps(want)[:300], json.dumps(have)[:300])]
    return []


def main():
    """hostsnap.py [--without-ids]: the snapshot as JSON on stdout (without ``ids``: to compare
    with a host that made the same objects anew)."""
    try:
        snapshot = take()
    except (SnapshotError, OSError, ValueError) as exc:
        sys.exit("hostsnap: %s" % exc)
    if "--without-ids" in sys.argv[1:]:
        snapshot = comparable(snapshot)
    print(json.dumps(snapshot, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
