# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A resolver per network (Docker's embedded DNS, podman's aardvark-dns): the facts every part
shares about it.

Every user-defined network with ``dns`` (the default) has, on every host that has members of it,
one DNS server (dnsmasq, from Debian's ``dnsmasq-base``) that answers for every member and alias
of the network on every host of the fleet and forwards other names. It listens on the network's
own address on this host, which every member reaches without a route off the network:

- a bridge network: the bridge's gateway address of each family (the sandboxes' gateway), but
  of a family in gateway mode isolated, whose bridge has no address: its members cannot reach
  the host, so the resolver is not theirs in that family. A network isolated in each of its
  families has no resolver, and its members get hosts files as with ``dns: false`` (Docker's
  resolver, 127.0.0.11 inside each container, needs no way to the host; ours does);
- an overlay network: the host's bridge on it, the first address of the host's slice (also the
  gateway of the host's own sandboxes);
- a macvlan or ipvlan network with ``shim: true``: the host's shim, the first address of its
  slice. Without a shim the host cannot be reached from the network (the kernel keeps a macvlan
  parent and its children apart), so such a network has no resolver and its members get hosts
  files as with ``dns: false``.

Docker's default ``bridge`` network never has one (the declaration refuses ``dns: true`` on it).

Its files, under ``RUN_DIR/<network>/`` (docs/names.md says why each option):

- ``dnsmasq.conf``: where it listens, its upstream servers (the host's, by Docker's rule; none
  for an internal network), no DHCP, no /etc/hosts and no /etc/resolv.conf of the host;
- ``hosts/<network>``: every present member and alias of the network on every host of the fleet,
  read again by dnsmasq (inotify) when it is replaced: a change of members needs no restart;
- ``dnsmasq.pid``: the process, checked by its command line (``CONF_ARG``), never by its name.

dnsmasq drops to the user ``nobody`` and reads its hosts directory again as that user, so the
directory is public (0755) and not under /run/netmodes, which is root's alone.
"""

from __future__ import annotations

import hashlib
import posixpath

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _fleet
from ansible_collections.netmodes.linux.plugins.module_utils import _resolvconf as rc
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.intents import VIEW_PORTS

PORT = 53                       # udp and tcp
RUN_DIR = "/run/netmodes-resolver"
DNSMASQ = "/usr/sbin/dnsmasq"
PACKAGE = "dnsmasq-base"        # Debian's: the binary alone, no service of its own
CONFIG, PID_FILE, HOSTS_DIR = "dnsmasq.conf", "dnsmasq.pid", "hosts"
USERS = "sandboxes"             # a view's: the sandboxes of this host that use it
VIEW_PREFIX = "view:"           # a view's name (a network's name has no colon)
UNIT = "netmodes-resolver@%s.service"
UNIT_PATH = "/etc/systemd/system/netmodes-resolver@.service"
# The unit template (where systemd runs): one instance per network, dnsmasq in the foreground.
UNIT_TEMPLATE = """\
# Written by netmodes.linux: the resolver of a network (instance: the network's name).
[Unit]
Description=netmodes.linux resolver of network %%i
After=network.target

[Service]
ExecStart=%s --keep-in-foreground --conf-file=%s/%%i/%s
Restart=on-failure
""" % (DNSMASQ, RUN_DIR, CONFIG)


def has_resolver(spec):
    """Network SPEC has a resolver on the hosts that have its members."""
    if spec.driver == "bridge":
        return spec.dns and not spec.fully_isolated
    return spec.dns and (spec.driver == "overlay" or spec.shim)


def addresses(spec, gateways=None, index=None):
    """The addresses (ip_address, IPv4 first) the resolver of network SPEC listens on, on this host;
    [] when the network has none. GATEWAYS: {IP version: gateway address} of a bridge network as
    the address plan gives it (declared, or picked with its subnet); INDEX: this host's index on a
    multi-host network."""
    if not has_resolver(spec):
        return []
    if spec.driver == "bridge":
        return [gateways[version] for version in sorted(gateways or {}) if version not in spec.isolated]
    return [_addresses.host_address(spec, index, version) for version in spec.families]


def device(spec):
    """The host's device on network SPEC its members' queries to its resolver arrive on: its
    bridge (a bridge or an overlay network), else its shim."""
    return spec.bridge if spec.driver in ("bridge", "overlay") else _fleet.shim_name(spec.name)


def directory(network, root=RUN_DIR):
    """The directory of network NETWORK's resolver (its name is a valid network name: no slash)."""
    return posixpath.join(root, network)


def conf_arg(network, root=RUN_DIR):
    """The argument that names our config on the resolver's command line (how its process is known)."""
    return "--conf-file=" + posixpath.join(directory(network, root), CONFIG)


def servers(spec, read):
    """The upstream servers (ip_address) of network SPEC's resolver: none for an internal network;
    else the host's nameservers, from the file a sandbox's resolv.conf starts from (Docker's rule,
    ``_resolvconf.host_source``: systemd-resolved's upstreams when the host names only its stub),
    loopback and IPv6 ones kept (the resolver runs in the host's namespace), and Docker's defaults
    when the host names none. READ(path): a host file's text or None."""
    if spec.internal:
        return []
    found = rc.parse(rc.host_source(read)[1]).nameservers
    return found or list(rc.DEFAULT_NAMESERVERS_V4 + rc.DEFAULT_NAMESERVERS_V6)


def config(network, listen, upstream, root=RUN_DIR, *, port=PORT, answers=None):
    """dnsmasq.conf of network NETWORK's resolver, listening on LISTEN (ip_address) and forwarding
    to UPSTREAM (ip_address; none: other names are refused). A view (NETWORK is its name) listens
    on PORT and ANSWERS for the members of those networks (their resolvers' hosts files)."""
    where = directory(network, root)
    what = "the resolver view of networks %s" % ", ".join(answers) if answers else "the resolver of network %s" % network
    lines = ["# Written by netmodes.linux: %s (docs/names.md)." % what, "port=%d" % port]
    lines += ["listen-address=%s" % ip for ip in listen]
    # bind-dynamic: a listen address that is not there yet (a tentative IPv6 one) is bound when it comes.
    lines += ["bind-dynamic", "no-hosts", "no-resolv", "no-negcache"]
    lines += ["hostsdir=%s" % posixpath.join(directory(name, root), HOSTS_DIR) for name in answers or [network]]
    lines += ["pid-file=%s" % posixpath.join(where, PID_FILE)]
    lines += ["server=%s" % ip for ip in upstream]
    return "\n".join(lines) + "\n"


def _values(config_text, key):
    prefix = key + "="
    return [line[len(prefix):] for line in (config_text or "").splitlines() if line.startswith(prefix)]


def listening(config_text):
    """The addresses (strings, as written) a resolver's dnsmasq.conf (``config``'s) listens on."""
    return _values(config_text, "listen-address")


def forwarding(config_text):
    """The upstream servers (strings, as written) of a resolver's dnsmasq.conf."""
    return _values(config_text, "server")


def port_of(config_text):
    """The port a resolver's dnsmasq.conf listens on (None: no config)."""
    found = _values(config_text, "port")
    return int(found[0]) if found else None


def answering(config_text, root=RUN_DIR):
    """The networks whose members a resolver's dnsmasq.conf answers (from its hostsdir lines)."""
    return [posixpath.basename(posixpath.dirname(path)) for path in _values(config_text, "hostsdir")
            if posixpath.dirname(posixpath.dirname(path)) == root]


def is_view(name):
    """Resolver NAME (a directory of RUN_DIR) is a view, not a network's."""
    return name.startswith(VIEW_PREFIX)


def view_name(networks, upstreams):
    """The name of the view of NETWORKS (names, any order) forwarding to UPSTREAMS (addresses, in
    order; None: the host's): the same on every run for the same view, a valid unit instance."""
    key = "%s|%s" % (",".join(sorted(networks)), "host" if upstreams is None else ",".join(str(ip) for ip in upstreams))
    return VIEW_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:12]


def needs_view(networks, upstreams):
    """A sandbox whose resolver networks are NETWORKS (those of its networks that have a resolver
    here) and whose own ``dns`` servers are UPSTREAMS (None: none given) needs a view: several
    networks, or servers of its own; one network with the host's servers is that network's resolver."""
    return bool(networks) and (len(networks) > 1 or upstreams is not None)


def view_servers(specs, upstreams, read):
    """The upstream servers of the view of networks SPECS (NetworkSpec): none when all of them are
    internal; the sandbox's own UPSTREAMS when given; else the host's (``servers``)."""
    if all(spec.internal for spec in specs):
        return []
    return list(upstreams) if upstreams is not None else servers(next(s for s in specs if not s.internal), read)


def free_port(taken):
    """The first port of VIEW_PORTS not in TAKEN (the ports of the host's views); None when all are."""
    return next((port for port in range(VIEW_PORTS[0], VIEW_PORTS[1] + 1) if port not in taken), None)


def hosts(network, members):
    """The hosts file of network NETWORK's resolver: a line for each address of every present
    member (_fleet.Member, on any host) under its name and its aliases, in member order, once
    each; dnsmasq answers a name with every address it has, and PTR from the same lines."""
    lines = ["# Written by netmodes.linux: the members of network %s, on every host." % network]
    for name, _member, ip in _fleet.hosts_entries(members, None, None):
        line = "%s\t%s" % (ip, name)
        if line not in lines:
            lines.append(line)
    return "\n".join(lines) + "\n"


def names_by_address(hosts_text):
    """{address (as written): [names, in file order]} of a resolver's hosts file (``hosts``'s)."""
    out = {}
    for line in (hosts_text or "").splitlines():
        fields = line.split()
        if len(fields) == 2 and not line.startswith("#"):
            out.setdefault(fields[0], []).append(fields[1])
    return out


def serving(names, specs):
    """Which of a sandbox's networks NAMES (in its order) answers its resolv.conf: the first that
    has a resolver, or None. SPECS: {name: NetworkSpec} of the declared networks; a network not
    declared to this run (made by another) counts as having none, as its ``dns`` is not known."""
    return next((name for name in names if name in specs and has_resolver(specs[name])), None)


def nameserver(listening):
    """The one address a sandbox's resolv.conf names of a resolver listening on LISTENING
    (``addresses``, IPv4 first): its IPv4 one, else (an IPv6-only network) its IPv6 one; None
    when it listens nowhere."""
    return listening[0] if listening else None
