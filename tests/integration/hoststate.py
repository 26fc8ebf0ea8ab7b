# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole network state of a simulated host, for before/after comparisons: links, addresses and
routes in the host and in every sandbox, both firewalls, the /etc/netns tree, the sysctls we set
and our records on /run; without what the kernel picks anew each time (MACs, indexes, ids)."""

from __future__ import annotations

import difflib
import json

from conftest import firewall, sh, sh_json

# What a reboot loses, as far as the collection goes; run inside a simulated host only.
REBOOT = r"""
for ns in $(ls /run/netns 2>/dev/null); do umount -l /run/netns/$ns 2>/dev/null; rm -f /run/netns/$ns; done
rm -rf /run/netmodes
for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
  case $l in lo|eth0) ;; *) ip link del "$l" 2>/dev/null ;; esac
done
nft delete table inet netmodes 2>/dev/null
if [ -n "$(iptables-legacy-save 2>/dev/null)" ]; then  # flushing loads the tables, which a fresh boot does not have
  for t in raw nat filter; do iptables-legacy -t $t -F 2>/dev/null; iptables-legacy -t $t -X 2>/dev/null; done
fi
for key in $(sysctl -N -a 2>/dev/null | grep -E '^net\.ipv[46]\.conf\.(all|default|eth0|lo)\.(forwarding|route_localnet)$'); do
  sysctl -qw "$key=0"
done
true
"""


def _links(host, netns):
    prefix = "ip -n %s" % netns if netns else "ip"
    out = []
    for link in sh_json(host, "%s -j -d link show" % prefix):
        info = link.get("linkinfo", {})
        data = {k: v for k, v in (info.get("info_data") or {}).items() if k in ("stp_state", "nf_call_iptables")}
        out.append({"name": link["ifname"], "kind": info.get("info_kind"), "mtu": link["mtu"], "master": link.get("master"),
                    "up": "UP" in link["flags"], "alias": link.get("ifalias"), "data": data,
                    "peer_elsewhere": "link_netnsid" in link})
    return sorted(out, key=lambda link: link["name"])


def _addresses(host, netns):
    prefix = "ip -n %s" % netns if netns else "ip"
    out = {}
    for link in sh_json(host, "%s -j addr show" % prefix):
        out[link["ifname"]] = sorted("%s/%d" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", [])
                                     if not (a.get("family") == "inet6" and a.get("scope") == "link"))
    return out


def _routes(host, netns):
    prefix = "ip -n %s" % netns if netns else "ip"
    routes = [r for r in sh_json(host, "%s -j route show table all" % prefix) if not r.get("dst", "").startswith(("fe80", "ff00"))]
    keep = ("dst", "gateway", "dev", "protocol", "scope", "prefsrc", "type", "table", "metric")
    return sorted(json.dumps({k: r.get(k) for k in keep}, sort_keys=True) for r in routes)


def _nftables(host):
    listing = json.loads(sh(host, "nft -j list table inet netmodes 2>/dev/null || echo '{\"nftables\": []}'"))
    items = []
    for item in listing["nftables"]:
        for kind, body in item.items():
            if kind == "metainfo":
                continue
            body = {k: v for k, v in body.items() if k != "handle"}
            if "elem" in body:
                body["elem"] = sorted(json.dumps(e, sort_keys=True) for e in body["elem"])
            items.append(json.dumps({kind: body}, sort_keys=True))
    return sorted(items)


def state(host):
    """The host's network state as plain data (equal before and after a faithful restore)."""
    names = sorted(sh(host, "ls -1 /run/netns 2>/dev/null || true").split())
    inodes = {name: sh(host, "stat -L -c %%i /run/netns/%s" % name).strip() for name in names}
    shared = sorted(sorted(n for n in names if inodes[n] == inode) for inode in set(inodes.values()))
    where = [None] + [group[0] for group in shared]
    return {
        "netns": names, "shared": shared, "owned": sorted(sh(host, "ls -1 /run/netmodes/netns 2>/dev/null || true").split()),
        "links": {ns: _links(host, ns) for ns in where}, "addresses": {ns: _addresses(host, ns) for ns in where},
        "routes": {ns: _routes(host, ns) for ns in where},
        "nftables": _nftables(host), "iptables": firewall(host).split("--- iptables-legacy ---")[1],
        "files": sh(host, "cd /etc && find netns -type f 2>/dev/null | sort | xargs -r sha256sum"),
        "sysctl": sh(host, "sysctl -a 2>/dev/null | grep -E '\\.(forwarding|route_localnet) =' | sort"),
        "claims": sh(host, "cat /run/netmodes/host-ports.json 2>/dev/null || true"),
    }


def diff(before, after):
    """The keys (and for dicts the sub-keys) where two states differ, for assertion messages."""
    out = {}
    for key in before:
        if before[key] != after.get(key):
            if isinstance(before[key], str):
                out[key] = "\n".join(difflib.unified_diff(before[key].splitlines(), after[key].splitlines(), lineterm=""))
            elif isinstance(before[key], dict):
                out[key] = {k: (before[key].get(k), after[key].get(k)) for k in set(before[key]) | set(after[key] or {})
                            if before[key].get(k) != (after[key] or {}).get(k)}
            else:
                out[key] = (before[key], after.get(key))
    return out
