# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything a module run can change on a simulated host, as one JSON document (test only).

Run inside the host: ``python tests/integration/crash/state.py``. It reads with the kernel's own
tools (ip, nft, iptables-legacy-save) and the file system, never with the collection's code:

- the names in /run/netns (mounted or a bare file left behind) and which share a namespace;
- in the host and in every named namespace: links (name, kind, mtu, master, up, alias, bridge
  flags, and for the host's veths the namespace and name of the peer), addresses, routes;
- the host's forwarding and route_localnet sysctls;
- the nftables ruleset and the iptables-legacy tables;
- every file and directory under /etc/netns, /run/netmodes and /run/netns, with contents, and
  the mounts under them.

What the kernel picks on its own (link indexes, random MACs, namespace ids and inodes, IPv6
link-local addresses and routes, counters, carrier flags) is left out, so that two runs that
reach the same state compare equal.
"""

from __future__ import annotations

import json
import os
import subprocess

WATCHED = ("/etc/netns", "/run/netmodes", "/run/netns")
OWNED_DIR = "/run/netmodes/netns"


def run(*argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(argv), proc.stderr))
    return proc.stdout


def ip_json(netns, *argv):
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    return json.loads(run(*prefix, "-j", *argv) or "[]")


def namespaces():
    """{name: {mounted, shares}} of /run/netns, and {inode: [names]} of the mounted ones."""
    nsfs = os.stat("/proc/self/ns/net").st_dev
    out, inodes = {}, {}
    for name in sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []:
        st = os.stat(os.path.join("/run/netns", name))
        mounted = st.st_dev == nsfs
        out[name] = {"mounted": mounted}
        if mounted:
            inodes.setdefault(st.st_ino, []).append(name)
    for names in inodes.values():
        for name in names:
            out[name]["names"] = names
    return out, inodes


def nsids():
    """{nsid: namespace name} as the host numbers them (``ip netns list``)."""
    out = {}
    for line in run("ip", "netns", "list").splitlines():
        words = line.split()
        if len(words) == 3 and words[1] == "(id:":
            out[int(words[2].rstrip(")"))] = words[0]
    return out


def links(netns, ids, names_by_index):
    out = {}
    for link in ip_json(netns, "-d", "link", "show"):
        info = link.get("linkinfo", {})
        data = info.get("info_data", {}) if info.get("info_kind") == "bridge" else {}
        item = {"kind": info.get("info_kind"), "mtu": link["mtu"], "master": link.get("master"), "up": "UP" in link["flags"],
                "alias": link.get("ifalias"), "bridge": {k: data.get(k) for k in ("stp_state", "nf_call_iptables")} if data else None}
        if netns is None and info.get("info_kind") == "veth" and "link_netnsid" in link:
            peer_ns = ids.get(link["link_netnsid"], "nsid %s" % link["link_netnsid"])
            item["peer"] = [peer_ns, names_by_index.get(peer_ns, {}).get(link.get("link_index"))]
        out[link["ifname"]] = item
    return out


def addresses(netns):
    out = {}
    for link in ip_json(netns, "addr", "show"):
        found = sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", [])
                       if not (a.get("family") == "inet6" and a.get("scope") == "link"))
        if found:
            out[link["ifname"]] = found
    return out


def routes(netns):
    out = []
    for family in ("-4", "-6"):
        for route in ip_json(netns, family, "route", "show", "table", "all"):
            if route.get("dst", "").startswith(("fe80", "ff00")):
                continue
            out.append({k: route.get(k) for k in ("type", "dst", "gateway", "dev", "table", "protocol", "scope", "prefsrc", "metric")})
    return sorted(out, key=json.dumps)


def sysctls():
    out = {}
    for family, keys in (("ipv4", ("forwarding", "route_localnet")), ("ipv6", ("forwarding",))):
        base = "/proc/sys/net/%s/conf" % family
        for name in sorted(os.listdir(base)):
            for key in keys:
                with open(os.path.join(base, name, key)) as handle:
                    out["%s.%s.%s" % (family, name, key)] = handle.read().strip()
    return out


def _strip_handles(value):
    if isinstance(value, dict):
        return {k: _strip_handles(v) for k, v in value.items() if k != "handle"}
    if isinstance(value, list):
        return [_strip_handles(v) for v in value]
    return value


def nftables():
    """The ruleset: objects by kind and name, rules in order per chain, elements sorted."""
    out = {}
    for item in json.loads(run("nft", "-j", "list", "ruleset"))["nftables"]:
        for kind, body in _strip_handles(item).items():
            if kind == "metainfo":
                continue
            where = "%s %s %s" % (body.get("family"), body.get("table", body.get("name")), body.get("chain", ""))
            if kind == "rule":
                out.setdefault("rules " + where, []).append(body["expr"])
                continue
            if "elem" in body:
                body["elem"] = sorted(body["elem"], key=json.dumps)
            out["%s %s %s" % (kind, where, body.get("name"))] = body
    return out


def iptables_legacy():
    lines = run("iptables-legacy-save").splitlines()
    return [line.split(" [")[0] if line.startswith(":") else line for line in lines if not line.startswith("#")]


def files(inodes):
    """{path: what it is} under the watched directories; a namespace's owner record says only
    whether it names the inode of that namespace now."""
    owned_inode = {name: inode for inode, names in inodes.items() for name in names}
    out = {}
    for top in WATCHED:
        for root, dirs, names in os.walk(top):
            dirs.sort()
            out[root] = "dir %o" % (os.stat(root).st_mode & 0o7777)
            for name in sorted(names):
                path = os.path.join(root, name)
                if top == "/run/netns":
                    out[path] = "file"
                    continue
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
                if root == OWNED_DIR:
                    text = "records the inode of /run/netns/%s: %s" % (name, text.strip() == str(owned_inode.get(name)))
                out[path] = "file %o %s" % (os.stat(path).st_mode & 0o7777, text)
    with open("/proc/self/mountinfo") as handle:
        mounts = sorted(line.split()[4] for line in handle if line.split()[4].startswith(WATCHED))
    return out, mounts


def main():
    table, inodes = namespaces()
    mounted = [name for name, item in table.items() if item["mounted"]]
    names_by_index = {name: {link["ifindex"]: link["ifname"] for link in ip_json(name, "link", "show")} for name in mounted}
    ids = nsids()
    spaces = {}
    for name in [None] + mounted:
        spaces[name or "(host)"] = {"links": links(name, ids, names_by_index), "addresses": addresses(name), "routes": routes(name)}
    tree, mounts = files(inodes)
    print(json.dumps({"netns": table, "spaces": spaces, "sysctl": sysctls(), "nftables": nftables(),
                      "iptables-legacy": iptables_legacy(), "files": tree, "mounts": mounts}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
