# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What net_info reports: the host's networks and sandboxes, as ``docker network inspect`` and
``docker inspect`` show a Docker host's.

``read`` gathers what the report needs through the adapters (netlink, firewall, files) and
changes nothing; ``report`` turns it into the module's result with pure functions. A network is
a bridge of the collection's own; its members are the sandboxes whose veth peers are enslaved to
it, found by the namespace that holds each peer (``Link.peer_netns``).
"""

from __future__ import annotations

import os

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _files, _firewall, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils import _resolvconf as rc
from ansible_collections.netmodes.linux.plugins.module_utils._errors import NetmodesError, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import jsonable
from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import NETNS_DIR
from ansible_collections.netmodes.linux.plugins.module_utils._ports import docker_ports
from ansible_collections.netmodes.linux.plugins.module_utils._records import RouteEntry


def read(adapters, sandboxes=None, networks=None, dns=True):
    """Everything ``report`` needs. SANDBOXES and NETWORKS are the names to report (None: all);
    DNS false leaves the sandboxes' DNS files unread (``brief`` does not report them).

    Each namespace is read once, under its first name, when it is reported or holds a member of
    a reported network. A sandbox removed while it is being read is left out.
    """
    net, files = adapters["netlink"], adapters["files"]
    host = net.all_links()
    bridges = [link for link in host if link.kind == "bridge" and link.ours and (networks is None or link.name in networks)]
    inodes = net.netns_inodes()
    wanted = [name for name in inodes if sandboxes is None or name in sandboxes]
    ports = {link.name for link in bridges}
    needed = {inodes[name] for name in wanted} | {link.peer_netns for link in host if link.master in ports and link.peer_netns}
    spaces = {}
    for name, inode in inodes.items():
        if inode in needed and inode not in spaces:
            try:
                spaces[inode] = {"links": net.all_links(name), "routes": net.routes(name)}
            except NotFound:
                continue
    firewall, firewall_error = _read_firewall(adapters["firewall"])
    return {
        "filters": {"netns": sandboxes, "network": networks},
        "host": host, "bridges": bridges, "inodes": inodes, "spaces": spaces,
        "sandboxes": [name for name in wanted if inodes[name] in spaces], "made": net.netns_made_order(),
        "owned": {name: net.netns_owned(name) for name in wanted},
        "files": {name: ({file: files.read(name, file) for file in rc.FILES}, files.recorded(name)) if dns else None for name in wanted},
        "backend": adapters["firewall"], "firewall": firewall, "firewall_error": firewall_error,
        "resolvers": _read_resolvers(adapters.get("resolver")),
    }


def _read_resolvers(resolvers):
    """{network: {"listen": [address], "running": bool}} of the host's resolvers (_resolver); a
    view's also has the networks it answers for, its port and the sandboxes that use it."""
    if resolvers is None:
        return {}
    out = {}
    for network in resolvers.networks():
        found = resolvers.read(network)
        out[network] = {"listen": _resolver.listening(found["config"]), "running": bool(found["running"])}
        if _resolver.is_view(network):
            out[network].update(networks=_resolver.answering(found["config"]), port=_resolver.port_of(found["config"]),
                                sandboxes=(found["users"] or "").split())
    return out


def _read_firewall(backend):
    """(state, None), or (None, why) when the firewall cannot be read: the rest is still worth reporting."""
    try:
        return backend.read(), None
    except (NetmodesError, OSError) as exc:
        return None, getattr(exc, "msg", None) or str(exc)


def brief(result):
    """RESULT (``report``'s) cut to a line per object, like ``docker network ls`` and ``docker ps``:
    a network's subnets, gateway, options and member names; a sandbox's names, addresses by
    interface (C(lo) and interfaces without one left out), networks and published ports."""
    networks = [{"name": n["name"], "subnets": n["subnets"], "gateway": n["gateway"], "gateway6": n["gateway6"], "options": n["options"],
                 "resolver": n["resolver"], "members": [m["sandbox"] for m in n["members"]]} for n in result["networks"]]
    sandboxes = [{"name": s["name"], "names": s["names"], "owned": s["owned"],
                  "addresses": {i["name"]: i["addresses"] for i in s["interfaces"] if i["addresses"] and i["name"] != "lo"},
                  "networks": sorted({i["network"] for i in s["interfaces"] if i["network"]}),
                  "published": s["published"], "ports": s["ports"]} for s in result["sandboxes"]]
    return dict(result, networks=networks, sandboxes=sandboxes)


def report(snap):
    """(result, warnings): the module's ``firewall``, ``networks`` and ``sandboxes`` from SNAP (``read``)."""
    warnings = _missing(snap)
    # A namespace's names, the one it was made under first (web, not its sidecar), then in the
    # order they were given; names the mount list does not order come after, by name.
    made = {name: i for i, name in enumerate(snap["made"])}
    names = {}
    for name, inode in sorted(snap["inodes"].items(), key=lambda item: (made.get(item[0], len(made)), item[0])):
        names.setdefault(inode, []).append(name)
    # The host end of every veth whose peer is in a sandbox, by (sandbox inode, peer index).
    host_ends = {(link.peer_netns, link.peer_index): link for link in snap["host"] if link.peer_netns}
    if snap["firewall"] is None:
        warnings.append("firewall: cannot read %s (%s); network options and published ports are reported as null"
                        % (snap["backend"].name, snap["firewall_error"]))
    networks = [_network(bridge, snap, names, warnings) for bridge in snap["bridges"]]
    sandboxes = [_sandbox(name, snap, names, host_ends) for name in snap["sandboxes"]]
    resolvers = [dict(found, network=network) for network, found in sorted(snap["resolvers"].items())]
    for found in resolvers:
        if not found["running"]:
            what = "resolver view %s" % found["network"] if "port" in found else "resolver of network %s" % found["network"]
            warnings.append("%s: not running; the next run of the sandboxes module starts it again" % what)
    return {"firewall": snap["backend"].name, "networks": networks, "sandboxes": sandboxes, "resolvers": resolvers}, warnings


def _missing(snap):
    found = {"netns": set(snap["sandboxes"]), "network": {bridge.name for bridge in snap["bridges"]}}
    what = {"netns": "no sandbox named %s", "network": "no bridge of netmodes.linux named %s"}
    return ["%s: %s" % (option, what[option] % name)
            for option, wanted in sorted(snap["filters"].items()) for name in wanted or () if name not in found[option]]


def _network(bridge, snap, names, warnings):
    """One network: the bridge, its firewall policy and its members."""
    gateway, gateway6 = _addresses.lowest_ip(bridge.addresses), _addresses.lowest_ip(bridge.addresses, 6)
    options = None
    if snap["firewall"] is not None:
        have = snap["firewall"].owned_by(_firewall.bridge_owner(bridge.name))
        options = _firewall.recognise(snap["backend"], bridge.name, _addresses.policy_subnets(bridge.addresses), have)
        if options == _firewall.UNRECOGNISED:
            warnings.append("network %s: its firewall rules are %s; run netmodes.linux.bridge to rewrite them" % (bridge.name, options))
            options = None
    # Its resolver: the one that listens on its gateway (a network's resolver is named by the network, its bridge may not be).
    resolver = next((network for network, found in sorted(snap["resolvers"].items())
                     if not _resolver.is_view(network) and {str(g) for g in (gateway, gateway6) if g} & set(found["listen"])), None)
    return {"name": bridge.name, "driver": "bridge", "subnets": jsonable(_addresses.all_subnets(bridge.addresses)),
            "gateway": str(gateway) if gateway else None, "gateway6": str(gateway6) if gateway6 else None, "resolver": resolver,
            "ipv6": gateway6 is not None, "addresses": jsonable(bridge.addresses),
            "mtu": bridge.mtu, "mac": bridge.mac, "up": bridge.up, "options": options,
            "members": _members(bridge, snap, names)}


def _members(bridge, snap, names):
    """The sandboxes plugged into BRIDGE: each veth enslaved to it whose peer is in a sandbox."""
    out = []
    for port in snap["host"]:
        space = snap["spaces"].get(port.peer_netns) if port.master == bridge.name else None
        peer = next((link for link in space["links"] if link.index == port.peer_index), None) if space else None
        if peer is None:
            continue
        out.append({"sandbox": names[port.peer_netns][0], "names": names[port.peer_netns], "interface": peer.name,
                    "host_interface": port.name, "mac": peer.mac, "addresses": jsonable(peer.addresses)})
    return sorted(out, key=lambda member: (member["sandbox"], member["interface"]))


def _sandbox(name, snap, names, host_ends):
    """One sandbox: its namespace's interfaces, routes and published ports, and its own DNS files."""
    inode = snap["inodes"][name]
    space = snap["spaces"][inode]
    mappings = _published(snap["firewall"], names[inode], space["links"])
    return {"name": name, "path": os.path.join(NETNS_DIR, name), "inode": inode, "names": names[inode],
            "owned": snap["owned"][name],
            "interfaces": [_interface(link, host_ends.get((inode, link.index))) for link in space["links"]],
            "routes": [entry.describe() for entry in sorted(space["routes"], key=RouteEntry.sort_key)],
            "published": None if mappings is None else sorted({str(m) for m in mappings}),
            "ports": None if mappings is None else docker_ports(mappings),
            "dns": _dns(name, *snap["files"][name]) if snap["files"][name] else None}


def _interface(link, host_end):
    return {"name": link.name, "kind": link.kind or None, "mac": link.mac, "mtu": link.mtu, "up": link.up,
            "addresses": jsonable(link.addresses), "ipv6": link.ipv6,
            "host_interface": host_end.name if host_end else None, "network": host_end.master if host_end else None}


def _published(state, names, links):
    """The mappings published for the namespace (one family each): under any of its NAMES, or for
    one of its addresses (portmap's ``address`` option); None when the firewall cannot be read."""
    if state is None:
        return None
    owners = {_firewall.sandbox_owner(netns=name) for name in names}
    owners |= {_firewall.sandbox_owner(address=a.ip) for link in links for a in link.addresses}
    return [mapping for owner, mapping in state.published() if owner in owners]


def _dns(name, files, recorded):
    """The sandbox's hostname, hosts and resolv.conf as dns_config reports them, and which of
    the files were edited by hand since it wrote them; None when there are none."""
    if all(content is None for content in files.values()) and not recorded:
        return None
    out = {"files": {}}
    for file, content in files.items():
        status = _files.status(name, file, content, recorded.get(file))
        status["edited"] = file in recorded and not status["managed"]
        out["files"][file] = status
    out.update(rc.summary(files))
    return out
