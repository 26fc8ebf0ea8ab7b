# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pruning: what the collection made and the declaration no longer has.

``state: overridden`` of the networks and sandboxes modules (the roles' ``netmodes_prune: true``)
removes the sandboxes and bridges of ours that are not declared (the networks and sandboxes batches). A host also keeps
objects whose parent went away behind our back (``ip netns del``, a bridge deleted by hand, a
sandbox removed while a process kept its namespace alive); these are collected here:

- a veth of ours whose peer is in a namespace that no name holds any more: its sandbox is gone,
  a process keeps the namespace alive, and the veth still sits on the bridge with its address;
- a veth of ours still under its temporary name (``nmt…``): a run was interrupted between tagging
  it and renaming it, and the veth that was being made may not be declared any more (the host
  links networks make are collected by ``networks``, temporary names included: none is wanted);
- the firewall items of a sandbox (owner ``netns:NAME``) that is not declared, whoever made its
  namespace; those of a bridge (``bridge:NAME``) or VXLAN device (``vxlan:NAME``) that is gone,
  and the admission to the resolver (``resolver:NAME``) of a network no longer declared;
  and the sysctls either still holds in the ledger (put back when no one else uses them);
- the files and record of such a sandbox (/etc/netns/NAME, /etc/netns/.netmodes/NAME.json);
- what plugged a sandbox that is not declared into its networks when its namespace is someone
  else's (``ip netns add``), so that pruning does not remove the namespace itself: the veths of
  ours named for it (``_declaration.veth_name``) whose peer is in it, and the macvlan and ipvlan links
  of ours inside it;
- the port claims of a host-mode sandbox that is no longer declared;
- the marker (/run/netmodes/netns/NAME) of a namespace that is gone, or is another one now: left
  behind, it could one day match a namespace made by hand that was given the same inode;
- Docker's default network (bridge netmodes0) once no declared sandbox uses it.

Everything is found by what marks it as ours (the alias tag, the owner comment, the record, the
marker), never by its name alone, so a bridge, namespace, nftables table or file of someone else
is never touched. Removal goes through the same resources as every other change, so check mode
and diff show it.
"""

from __future__ import annotations

import re

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration, _sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._batches import links
from ansible_collections.netmodes.linux.plugins.module_utils._records import TEMP_PREFIX
from ansible_collections.netmodes.linux.plugins.module_utils._resources.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.module_utils._resources.dns_config import DnsConfig
from ansible_collections.netmodes.linux.plugins.module_utils._resources.host_ports import HostPorts
from ansible_collections.netmodes.linux.plugins.module_utils._resources.macvlan import Macvlan
from ansible_collections.netmodes.linux.plugins.module_utils._resources.portmap import Portmap
from ansible_collections.netmodes.linux.plugins.module_utils._resources.resolver_firewall import ResolverFirewall
from ansible_collections.netmodes.linux.plugins.module_utils._resources.stale_marker import StaleMarker
from ansible_collections.netmodes.linux.plugins.module_utils._resources.veth import Veth
from ansible_collections.netmodes.linux.plugins.module_utils._resources.view_port import ViewPort
from ansible_collections.netmodes.linux.plugins.module_utils._resources.view_redirect import ViewRedirect


def orphan_veths(net):
    """Host veths of ours whose peer is in a namespace no name holds (both ends on the host is a pair,
    not an orphan), and those an interrupted run left under a temporary name."""
    named = {net.netns_inode(name) for name in net.netns_names()}
    links = net.all_links()
    by_index = {link.index: link for link in links}
    out = []
    for link in links:
        if link.kind != "veth" or not link.ours:
            continue
        if link.name.startswith(TEMP_PREFIX):
            out.append(link.name)
            continue
        if link.peer_netns is not None and link.peer_netns in named:
            continue
        other = by_index.get(link.peer_index)
        if link.peer_netns is None and other is not None and other.kind == "veth" and other.peer_index == link.index \
                and other.peer_netns is None:
            continue
        out.append(link.name)
    return out


def plugs(net, names, networks):
    """What the sandboxes module plugged the namespaces NAMES (someone else's) into networks
    with, as (resource, options) that remove it: the host veths of ours, and the macvlan and
    ipvlan links of ours inside them.

    Each is known by the exact name the sandboxes module gives it: a veth by the sandbox and one
    of NETWORKS (or a bridge of ours), with its peer in that namespace, a macvlan or ipvlan as
    the sandbox's ``eth<index>``; a link of ours made for something else into a namespace of
    someone else's (by the veth or macvlan module) is not a sandbox's and stays.
    """
    host = [link for link in net.all_links() if link.ours]
    known = sorted(set(networks) | {_declaration.DEFAULT_NETWORK} | {link.name for link in host if link.kind == "bridge"})
    veths = {link.name: link for link in host if link.kind == "veth"}
    out = []
    for name in names:
        inode = net.netns_inode(name)
        found = [veths.get(_declaration.veth_name(name, network)) for network in known]
        out += [(Veth, {"name": veth.name}) for veth in found if veth is not None and veth.peer_netns == inode]
        out += [(Macvlan, {"name": link.name, "kind": link.kind, "netns": name})
                for link in net.all_links(name) if link.ours and link.kind in ("macvlan", "ipvlan")
                and re.fullmatch(r"eth[0-9]+", link.name)]
    return out


def still_running(net, sockets, names):
    """Warnings naming the processes that still run in the namespaces of the sandboxes NAMES that
    pruning removes: they lose their network (and their name) without a word otherwise."""
    out = []
    for name in names:
        inode = net.netns_inode(name)
        found = sockets.processes_in(inode) if inode is not None else []
        if found:
            what = ", ".join("pid %d (%s)" % (pid, command[:80] or "?") for pid, command in found[:10])
            more = " and %d more" % (len(found) - 10) if len(found) > 10 else ""
            out.append("sandbox %s is pruned (no longer declared) but processes still run in its namespace and lose their"
                       " network: %s%s; stop them, or declare %s again to keep it" % (name, what, more, name))
    return out


def sandboxes(batch, *, declared, removed, networks, force, backend):
    """Collect the leftovers of sandboxes that are not DECLARED ({name: SandboxSpec} of the present ones).

    REMOVED are the undeclared sandboxes this run already removes; NETWORKS the declared
    networks ({name: NetworkSpec}), for Docker's default network.
    """
    adapters = batch.adapters
    net = adapters["netlink"]
    keep = set(declared) | set(removed)

    for name in orphan_veths(net):
        batch.run(Veth, name=name, state="absent")
    foreign = [name for name in net.netns_names() if name not in keep and not net.netns_owned(name)]
    for resource, options in plugs(net, foreign, networks) if foreign else ():
        batch.run(resource, state="absent", **options)
    for owner in sorted(adapters["firewall"].read().owners() | _sysctl.users(adapters["sysctl"].ledger())):
        kind, _sep, name = owner.partition(":")
        if kind == "netns" and name not in keep:
            batch.run(Portmap, netns=name, bridge=_declaration.DEFAULT_BRIDGE, state="absent", firewall_backend=backend)
        elif kind == "dnsview" and name not in keep:
            batch.run(ViewRedirect, netns=name, state="absent", firewall_backend=backend)
        elif kind == "dnsport" and name not in adapters["resolver"].networks():  # a view gone (its own step removes it with it)
            batch.run(ViewPort, view=name, state="absent", firewall_backend=backend)
    for name in adapters["files"].recorded_sandboxes():
        if name not in keep:
            batch.run(DnsConfig, netns=name, state="absent", force=force)
    for name in sorted(adapters["sockets"].claims()):
        if name not in keep:
            batch.run(HostPorts, name=name, ports=[])
    for name in net.owned_markers():
        if not net.netns_owned(name):
            batch.run(StaleMarker, name=name)
    default = net.link(_declaration.DEFAULT_BRIDGE, routes=False)
    if default is not None and default.ours and default.kind == "bridge" and _declaration.DEFAULT_BRIDGE not in {n.bridge for n in networks.values()}:
        if not any(_declaration.DEFAULT_NETWORK in spec.networks for spec in declared.values()):
            batch.run(Bridge, name=_declaration.DEFAULT_BRIDGE, state="absent", firewall_backend=backend)


def networks(batch, *, wanted, backend):
    """Remove the host links of ours that networks make (bridges, VXLAN devices, shims) and that
    are not WANTED (names), and the firewall items (and sysctls) of bridges and VXLAN devices that are gone. Docker's default
    network is left to the sandboxes' pruning, which knows whether a sandbox still uses it."""
    net = batch.adapters["netlink"]
    for link in links.our_host_links(net):
        if link.name not in wanted and link.name != _declaration.DEFAULT_BRIDGE:
            batch.run(links.LINK_RESOURCES[link.kind], name=link.name, state="absent", **links.absent_options(link.kind, backend))
    for owner in sorted(batch.adapters["firewall"].read().owners() | _sysctl.users(batch.adapters["sysctl"].ledger())):
        kind, _sep, name = owner.partition(":")
        made = "%s %s" % (kind, name) in batch.created()  # in check mode, made by this run is not there yet
        if kind in ("bridge", "vxlan") and name not in wanted and net.link(name, routes=False) is None and not made:
            batch.run(links.LINK_RESOURCES[kind], name=name, state="absent", firewall_backend=backend)
        elif kind == "resolver" and name not in wanted:  # the admission to the resolver of a network gone
            batch.run(ResolverFirewall, device=name, state="absent", firewall_backend=backend)
