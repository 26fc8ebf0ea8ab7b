# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sandbox's resolv.conf, hosts and hostname files, made by Docker's rules. Pure functions.

resolv.conf follows moby's ``libnetwork/internal/resolvconf`` for a network without Docker's
internal resolver (its "legacy" transform): start from the host's file, or from systemd-resolved's
own file when the host's only nameserver is the 127.0.0.53 stub; explicit nameservers, search
domains and options replace the host's; otherwise loopback nameservers are dropped (they mean the
host's loopback, unreachable from a sandbox), IPv6 ones too when the sandbox has no IPv6, and
when none is left Google's public servers are used. hosts follows ``libnetwork/etchosts``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._model import address, hostname, resolver_option

HOST_RESOLV_CONF = "/etc/resolv.conf"
RESOLVED_RESOLV_CONF = "/run/systemd/resolve/resolv.conf"
RESOLVED_STUB = ipaddress.ip_address("127.0.0.53")
DEFAULT_NAMESERVERS_V4 = tuple(ipaddress.ip_address(a) for a in ("8.8.8.8", "8.8.4.4"))
DEFAULT_NAMESERVERS_V6 = tuple(ipaddress.ip_address(a) for a in ("2001:4860:4860::8888", "2001:4860:4860::8844"))
HEADER = (
    "# Written by netmodes.linux dns_config. An edit by hand is kept: the next run\n"
    "# fails on it unless the task sets force: true.\n"
)
LOCALHOST_V4 = (("127.0.0.1", "localhost"),)
LOCALHOST_V6 = (
    ("::1", "localhost ip6-localhost ip6-loopback"),
    ("fe00::", "ip6-localnet"),
    ("ff00::", "ip6-mcastprefix"),
    ("ff02::1", "ip6-allnodes"),
    ("ff02::2", "ip6-allrouters"),
)


@dataclass
class ResolvConf:
    """What a resolv.conf says, as the resolver (and Docker) reads it."""

    nameservers: list = field(default_factory=list)
    search: list = field(default_factory=list)
    options: list = field(default_factory=list)
    other: list = field(default_factory=list)     # unknown directives, kept verbatim
    invalid: list = field(default_factory=list)   # nameserver values that are no IP address

    def option(self, name):
        """True when an option called NAME (``ndots`` for ``ndots:2``) is set."""
        return any(opt.partition(":")[0] == name for opt in self.options)


def parse(text):
    """A ResolvConf from file text. Comments and blank lines are dropped; the last ``search``
    (or its old name ``domain``) wins; ``options`` accumulate; unknown lines are kept as they are."""
    conf = ResolvConf()
    for line in (text or "").split("\n"):
        line = line.rstrip("\r")
        words = line.split()
        if not words or words[0][0] in "#;":
            continue
        if words[0] in ("nameserver", "search", "domain", "options") and len(words) < 2:
            continue
        if words[0] == "nameserver":
            try:
                conf.nameservers.append(ipaddress.ip_address(words[1]))
            except ValueError:
                conf.invalid.append(words[1])
        elif words[0] in ("search", "domain"):
            conf.search = words[1:]
        elif words[0] == "options":
            conf.options += words[1:]
        else:
            conf.other.append(line)
    return conf


def host_source(read):
    """(path, text) of the host file a sandbox's resolv.conf starts from.

    READ(path) returns a file's text or None when it does not exist. When the host's only
    nameserver is systemd-resolved's stub, its upstream servers are in RESOLVED_RESOLV_CONF; as
    in Docker, that file is then used even when it is missing (it counts as empty).
    """
    text = read(HOST_RESOLV_CONF) or ""
    if parse(text).nameservers == [RESOLVED_STUB]:
        return RESOLVED_RESOLV_CONF, read(RESOLVED_RESOLV_CONF) or ""
    return HOST_RESOLV_CONF, text


def resolv_conf(source, text, *, nameservers=None, search=None, options=None, ipv6=False, resolver=None):
    """(content, warnings): the sandbox's resolv.conf from host file SOURCE holding TEXT.

    NAMESERVERS (ip addresses), SEARCH and OPTIONS replace the host's when not empty; explicit
    nameservers are kept as given, loopback and IPv6 ones too. IPV6 says whether the sandbox
    has an IPv6 address beyond loopback. RESOLVER, (address, network), is the resolver of the
    sandbox's network: without NAMESERVERS it is the one nameserver (Docker's 127.0.0.11), and
    the host's search and options are kept as without it.
    """
    conf, warnings, notes, overrides = parse(text), [], [], []
    if nameservers:
        conf.nameservers, overrides = list(nameservers), ["nameservers"]
    elif resolver:
        conf.nameservers = [resolver[0]]
        notes.append("Nameserver: the resolver of network %s." % resolver[1])
    else:
        conf.nameservers = [ns for ns in conf.nameservers if not ns.is_loopback and (ipv6 or ns.version == 4)]
        if not conf.nameservers:
            conf.nameservers = list(DEFAULT_NAMESERVERS_V4 + (DEFAULT_NAMESERVERS_V6 if ipv6 else ()))
            notes.append("Used default nameservers.")
            warnings.append("resolv.conf: %s leaves no nameserver a sandbox can reach (loopback ones are dropped%s);"
                            " using %s. Set nameservers to choose others."
                            % (source, "" if ipv6 else ", and IPv6 ones as the sandbox has no IPv6",
                               ", ".join(str(ns) for ns in conf.nameservers)))
    if search:
        conf.search = [domain for domain in search if domain != "."]
        overrides.append("search")
    ndots_from = "host" if conf.option("ndots") else None
    if options:
        conf.options = list(options)
        overrides.append("options")
        ndots_from = "override" if conf.option("ndots") else None
    lines = ["nameserver %s" % ns for ns in conf.nameservers]
    if conf.search:
        lines.append("search " + " ".join(conf.search))
    if conf.options:
        lines.append("options " + " ".join(conf.options))
    lines += conf.other
    # The trailer is Docker's: where the file came from and what was changed.
    lines += ["", "# Based on host file: '%s'" % source] + ["# " + note for note in notes]
    if conf.invalid:
        lines.append("# Invalid nameservers: [%s]" % " ".join(conf.invalid))
    lines.append("# Overrides: [%s]" % " ".join(overrides))
    if ndots_from:
        lines.append("# Option ndots from: %s" % ndots_from)
    return HEADER + "\n" + "\n".join(lines) + "\n", warnings


def hosts_file(entries, ipv6=True):
    """The sandbox's hosts file: localhost lines, then ENTRIES [(ip address, names)] in order.

    Without IPV6 (no IPv6 address at all in the sandbox, not even ::1) the IPv6 localhost lines
    and every IPv6 entry are left out, as Docker does for a container without IPv6.
    """
    records = list(LOCALHOST_V4) + (list(LOCALHOST_V6) if ipv6 else [])
    records += [(str(ip), names) for ip, names in entries if ipv6 or ip.version == 4]
    return HEADER + "".join("%s\t%s\n" % record for record in records)


def own_entries(name, domainname, addresses):
    """Hosts entries of the sandbox itself: each address (in the order given) with
    ``name.domainname`` and ``name``.

    As Docker does, a dotted name gets its first label as a second name; no name, no entries.
    """
    if not name:
        return []
    names = "%s.%s" % (name, domainname) if domainname else name
    if "." in names:
        names += " " + names.split(".")[0]
    return [(ip, names) for ip in addresses]


def _link_order(name):
    """A sandbox's links in the order of its networks (eth0, eth1, … eth10), any other after."""
    number = name[3:]
    return (0, int(number), "") if name.startswith("eth") and number.isdigit() else (1, 0, name)


def own_addresses(addresses):
    """The sandbox's own addresses from ADDRESSES ({link: addresses}) in Docker's order for its
    hosts file: network by network in the order of its networks, IPv4 then IPv6 on each."""
    return [a.ip for link in sorted(addresses, key=_link_order)
            for a in sorted(addresses[link], key=lambda a: (a.version, a)) if not a.ip.is_loopback]


def hostname_file(name):
    """The hostname file: the bare host name, as Docker writes it (the domain goes to hosts only)."""
    return "%s\n" % name


def search_domains(values, field_name):
    """Search domains, each a valid domain (a trailing dot dropped) or ``.`` (Docker's "none")."""
    return [str(value).strip(" ") if str(value).strip(" ") == "." else hostname(str(value).strip(" ").rstrip("."), "%s[%d]" % (field_name, i))
            for i, value in enumerate(values or [])]


def resolver_options(values, field_name):
    """resolv.conf options (``ndots:2``, ``edns0``) as given, each one word."""
    return [resolver_option(value, "%s[%d]" % (field_name, i)) for i, value in enumerate(values or [])]


def _one_entry(item, field_name):
    """(name, ip) from Docker's ``--add-host`` forms: ``name:ip``, ``name=ip``, ``name:[v6]``, ``name:::1``;
    or from a dict with ``name`` and ``address``."""
    if isinstance(item, dict):
        if set(item) != {"name", "address"}:
            raise InvalidInput("%s: an entry given as a dict has exactly the keys name and address" % field_name, field_name)
        return str(item["name"]), item["address"]
    text = str(item).strip()
    name, sep, value = text.partition("=")
    if not sep:
        name, sep, value = text.partition(":")
    if not sep or not name or ":" in name:
        raise InvalidInput("%s: %r is not NAME:IP (Docker's --add-host form, e.g. db:10.231.9.9 or db:[fd12::9])"
                           % (field_name, text), field_name)
    if value == "host-gateway":
        raise InvalidInput("%s: %r: host-gateway is Docker's own name for its bridge's gateway; give the address"
                           % (field_name, text), field_name)
    if len(value) > 2 and value[0] == "[" and value[-1] == "]":
        value = value[1:-1]
    return name, value


def host_entries(value, field_name):
    """[(ip address, name)] in the order given, from a list (of ``name:ip`` strings or
    ``{name, address}`` dicts) or a dict name -> ip.

    A dict value may also be a list of addresses (a dual-stack peer); a comma-separated string is
    a list, as Ansible's ad hoc ``k=v`` form gives it.
    """
    if value is None:
        return []
    if isinstance(value, str):
        value = [item for item in value.split(",") if item.strip()]
    if isinstance(value, dict):
        found = [(name, ip, "%s.%s" % (field_name, name))
                 for name, ips in value.items() for ip in (ips if isinstance(ips, list) else [ips])]
    elif isinstance(value, (list, tuple)):
        found = [_one_entry(item, "%s[%d]" % (field_name, i)) + ("%s[%d]" % (field_name, i),) for i, item in enumerate(value)]
    else:
        raise InvalidInput("%s: give a list of NAME:IP strings or a dict NAME: IP" % field_name, field_name)
    return [(address(ip, where), hostname(name, where)) for name, ip, where in found]


FILES = ("hostname", "hosts", "resolv.conf")


def sandbox_files(desired, addresses, source):
    """({file name: content}, warnings) of the files a sandbox gets.

    DESIRED holds the parsed options (hostname, domainname, nameservers, search, options,
    extra_hosts, peers, and the resolver of the sandbox's network or None), ADDRESSES is {link: addresses} inside the sandbox, SOURCE the host's
    (path, text) from host_source. The hostname file is only managed when a hostname is given.
    """
    ips = [a.ip for addrs in addresses.values() for a in addrs]
    own = own_addresses(addresses)
    resolv, warnings = resolv_conf(*source, nameservers=desired["nameservers"], search=desired["search"],
                                   options=desired["options"], ipv6=any(ip.version == 6 for ip in own),
                                   resolver=desired.get("resolver"))
    entries = desired["extra_hosts"] + own_entries(desired["hostname"], desired["domainname"], own) + desired["peers"]
    out = {"resolv.conf": resolv, "hosts": hosts_file(entries, ipv6=any(ip.version == 6 for ip in ips))}
    if desired["hostname"]:
        out["hostname"] = hostname_file(desired["hostname"])
    return out, warnings


def summary(files):
    """What the sandbox's files say, from {file name: content or None}, for the module result."""
    conf = parse(files.get("resolv.conf")) if files.get("resolv.conf") is not None else None
    hosts = [line.split(None, 1) for line in (files.get("hosts") or "").split("\n")
             if line.strip() and not line.lstrip().startswith("#")]
    resolv = None
    if conf is not None:
        resolv = {"nameservers": [str(ns) for ns in conf.nameservers], "search": conf.search, "options": conf.options}
    return {
        "resolv_conf": resolv,
        "hosts": [{"address": fields[0], "names": fields[1].split() if len(fields) > 1 else []} for fields in hosts],
        "hostname": (files.get("hostname") or "").strip() or None,
    }
