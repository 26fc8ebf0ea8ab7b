# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time restore: a host's declaration, saved on the host and applied again at boot.

Namespaces, links, addresses, routes, sysctls and firewall rules live in the kernel and are gone
after a reboot, as are the markers and port claims on /run; the sandboxes' files under /etc/netns
and their records stay. ``BootRestore`` (``_resources/boot_restore``, module netmodes.linux.boot_restore, which the site
playbook runs last) saves the declaration to /etc/netmodes/declared.json, pinned to what the runs
chose (subnets, addresses), and installs a command and a systemd unit that runs it at boot
(``_restore_units``: that unit, which the firewall services' restarts and reloads run again, and
the watch's).

The command (``_batches.restore.main``) converges the saved declaration through the same plan as
the site playbook (``_batches.restore.restore``: networks, then sandboxes, then their files) and
needs no Ansible on the host: it is a Python zip application that carries its module and the
module_utils it imports (found by reading their imports, as Ansible packs a module's), which need
only the standard library, pyroute2 and the firewall's library, and it runs with the interpreter
the modules ran with.

The file holds every network and sandbox of ours that exists, in the declaration's words: a run
replaces the entries it declares and keeps those of other runs (another playbook, an earlier
inventory) while their objects still exist, so a pruned or removed one leaves the file too.
Entries the restore could not make (a sandbox on a network that is not declared) are left out
with a warning, so that one of them cannot stop a host's whole restore at boot. With the entries
goes the fleet their overlay, macvlan and ipvlan networks span (the ``fleet`` option), since the
addresses, peers and hosts files of such a network are computed from it; and a file the restore
could not apply (the restore's plan fails on it: ``BootRestore.verify``) fails the task and is not written.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import io
import json
import os
import re
import zipfile

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _fleet, _fs
from ansible_collections.netmodes.linux.plugins.module_utils import _declaration as declaration
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._restore_units import UNIT, UNIT_HEADER, WATCH_UNIT

PACKAGE = __name__.rpartition(".")[0]
DECLARED = "/etc/netmodes/declared.json"
COMMAND = "/usr/local/lib/netmodes/netmodes-restore"
FORMAT = 1
WRITTEN_BY = "netmodes.linux.boot_restore"
COMMAND_DOC = '"""netmodes-restore:'
FIELDS = {"declared": "path", "command": "command", "unit": "unit_dir", "watch": "unit_dir", "wants": "unit_dir", "watch-wants": "unit_dir"}

# -- the declaration, pinned to what the runs chose ------------------------------------------------


class Pins:
    """Where the pins come from: the plan that saves the declaration, for what it gives (in check
    mode its links are not made yet, and a sandbox it moves still has its old address), else the
    host as read. PLANNED_SUBNETS: {bridge: {IP version: (subnet, gateway)}}; PLANNED_ADDRESSES:
    {sandbox: {network: [interface]}} (``_addresses.Planned``)."""

    def __init__(self, net, planned_subnets=None, planned_addresses=None):
        self.net, self.planned, self.addresses = net, planned_subnets or {}, planned_addresses or {}

    def subnets(self, bridge):
        """{IP version: (subnet, gateway)} of BRIDGE."""
        if bridge in self.planned:
            return dict(self.planned[bridge])
        return _addresses.bridge_subnets(self.net.link(bridge, routes=False))

    def exists(self, sandbox):
        return sandbox in self.addresses or self.net.netns_inode(sandbox) is not None

    def address(self, sandbox, network, subnet):
        """SANDBOX's address on NETWORK (in SUBNET), or None."""
        planned = [a.ip for a in self.addresses.get(sandbox, {}).get(network, ()) if a.ip in subnet]
        if planned:
            return planned[0]
        return _addresses.address_in(self.net, sandbox, [subnet]) if sandbox not in self.addresses else None


def pinned_networks(raws, pins):
    """NETWORKS entries with the subnet and gateway their bridges have (auto-picked subnets depend
    on the host's routes, which at boot are not the same); and {name: NetworkSpec}."""
    specs = declaration.network_specs(raws, "networks")
    out = []
    for index, spec in enumerate(specs):
        entry = dict(raws[index])
        if spec.bridge and not spec.multi_host:
            entry.update(_pinned(spec, pins.subnets(spec.bridge)))
        out.append(entry)
    return out, {spec.name: spec for spec in specs}


def _pinned(spec, found):
    """The subnet and gateway entries of network SPEC with every family's subnet: declared, else
    FOUND ({IP version: (subnet, gateway)} its bridge has); {} when nothing is to pin."""
    subnets, gateways = [], []
    for version in spec.families:
        subnet, gateway = spec.declared(version)
        if subnet is None:
            subnet, gateway = found.get(version, (None, None))
        if subnet is not None:
            subnets.append(str(subnet))
            gateways += [str(gateway)] if gateway else []
    if subnets == [str(s) for s in (spec.subnet, spec.subnet6) if s]:
        return {}  # all declared: the entry says it already
    return {"subnet": subnets[0] if len(subnets) == 1 else subnets, "gateway": gateways[0] if len(gateways) == 1 else gateways}


def default_network(specs, networks, pins):
    """The entry of Docker's default network when a sandbox uses it and it is not declared."""
    if declaration.DEFAULT_NETWORK in networks or not any(declaration.DEFAULT_NETWORK in s.networks for s in specs):
        return None
    entry = {"name": declaration.DEFAULT_NETWORK}
    entry.update(_pinned(declaration.NetworkSpec(declaration.DEFAULT_NETWORK, declaration.DEFAULT_BRIDGE),
                         pins.subnets(declaration.DEFAULT_BRIDGE)))
    return entry


def pinned_sandboxes(raws, networks, pins):
    """The present sandboxes' entries with the addresses they have on each network (allocation
    depends on the order sandboxes came and went, which the restore does not replay); and their specs."""
    specs = declaration.sandbox_specs(raws, "sandboxes")
    out = []
    for index, spec in enumerate(specs):
        raw = raws[index]
        if spec.state != "present":
            continue
        entry = dict(raw)
        if spec.mode == "network" and pins.exists(spec.name):
            found = _pins(spec, networks, pins)
            for key, version in (("ip", 4), ("ip6", 6)):
                if not raw.get(key) and (spec.networks[0], version) in found:
                    entry[key] = found[(spec.networks[0], version)]
            if raw.get("networks"):
                entry["networks"] = [_pin(item, found) for item in raw["networks"]]
        out.append(entry)
    return out, [s for s in specs if s.state == "present"]


def _pins(spec, networks, pins):
    out = {}
    for name in spec.networks:
        if name in networks and networks[name].multi_host:
            continue  # every host computes its members' addresses from the fleet, which is saved too
        subnets = _addresses.with_isolated(pins.subnets(declaration.bridge_of(name, networks)), networks.get(name))
        for version, (subnet, _gateway) in subnets.items():
            found = pins.address(spec.name, name, subnet)
            if found is not None:
                out[(name, version)] = str(found)
    return out


def _pin(item, pins):
    """A further network of a sandbox (ITEM, its entry) with its addresses pinned (PINS:
    {(network, IP version): address})."""
    name = str(item["name"]) if isinstance(item, dict) else str(item)
    out = {"name": name}
    for key, version in (("ip", 4), ("ip6", 6)):
        given = item.get(key) if isinstance(item, dict) else None
        if given or (name, version) in pins:
            out[key] = given or pins[(name, version)]
    return out if len(out) > 1 else item


def merged(old, networks, sandboxes, dropped, *, net, claims):
    """This run's NETWORKS and SANDBOXES entries, and those of OLD (the file's document) that this
    run does not declare (or DROPPED: declared absent) and whose objects still exist. Entries keep
    their place in the file and new ones follow in their declared order, so that runs of two
    playbooks do not reorder it, and the restore of a fresh host makes objects in the order the
    site playbook did (iptables rules are appended in that order)."""
    def network_alive(entry):
        try:
            link = net.link(declaration.network_spec(entry, "file").bridge, routes=False)
        except InvalidInput:
            return False
        return link is not None and link.ours

    def sandbox_alive(entry):
        try:
            spec = declaration.sandbox_spec(entry, "file")
        except InvalidInput:
            return False
        if spec.mode == "host":
            return spec.name in claims
        return net.netns_inode(spec.name) is not None and net.netns_owned(spec.name)

    return (_merge(old.get("networks"), networks, (), network_alive),
            _merge(old.get("sandboxes"), sandboxes, dropped, sandbox_alive))


def _merge(old, new, dropped, alive):
    fresh = {entry["name"]: entry for entry in new}
    out = []
    for entry in old if isinstance(old, list) else []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name in fresh:
            out.append(fresh.pop(name))
        elif name is not None and name not in dropped and alive(entry):
            out.append(entry)
    return out + [entry for entry in new if entry["name"] in fresh]


def restorable(networks, sandboxes):
    """SANDBOXES without those the restore could not make (on a network NETWORKS lacks, or sharing
    a sandbox that is left out), and a warning for each."""
    known, warnings = {e["name"] for e in networks}, []
    while True:
        names = {e["name"] for e in sandboxes}
        keep = []
        for entry in sandboxes:
            spec = declaration.sandbox_spec(entry, "sandboxes")
            missing = [n for n in spec.networks if n not in known]
            if missing:
                warnings.append("boot restore: sandbox %s is left out of the saved declaration: its network %s is not declared"
                                " (netmodes_networks), so it could not be made at boot; declare it" % (spec.name, missing[0]))
            elif spec.share_with and spec.share_with not in names:
                warnings.append("boot restore: sandbox %s is left out of the saved declaration: it shares %s, which is not"
                                " in it; declare %s" % (spec.name, spec.share_with, spec.share_with))
            else:
                keep.append(entry)
        if len(keep) == len(sandboxes):
            return keep, warnings
        sandboxes = keep


def saved_fleet(networks, new, old):
    """The fleet the saved NETWORKS need (the ``fleet`` option, as the filter netmodes.linux.fleet
    builds it): the hosts and groups their multi-host networks name, from this run's fleet NEW, or
    from the file's OLD for a network an earlier run declared; {} when no network spans hosts."""
    new, old = (f if isinstance(f, dict) else {} for f in (new, old))
    groups = dict(old.get("groups") or {}, **(new.get("groups") or {}))
    every = dict(old.get("hosts") or {}, **(new.get("hosts") or {}))
    named, names = {}, set()
    for entry in networks:
        hosts = entry.get("hosts") if entry.get("driver") in _fleet.MULTI_HOST else None
        if isinstance(hosts, str):
            named[hosts] = list(groups.get(hosts) or [])
            names.update(named[hosts])
        elif isinstance(hosts, list):
            names.update(str(h) for h in hosts)
    if not names:
        return {}
    return {"host": new.get("host") or old.get("host"), "groups": named,
            "hosts": {name: every[name] for name in sorted(names) if name in every}}


def document(networks, sandboxes, backend, fleet=None):
    """The saved declaration as text: what the restore converges (and the fleet its multi-host
    networks need, when they span hosts)."""
    doc = {"format": FORMAT, "written_by": WRITTEN_BY, "firewall_backend": backend,
           "networks": networks, "sandboxes": sandboxes}
    if fleet:
        doc["fleet"] = fleet
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


# -- the command: a zip application carrying the engine ---------------------------------------

ENTRY = "_batches.restore"  # the module of the command's main()
MAIN = COMMAND_DOC + ''' apply the declaration netmodes.linux saved on this host again (at boot).

Written by the module netmodes.linux.boot_restore, with the collection's module_utils inside;
run it with --help. It needs Python 3, pyroute2 and the firewall's library, not Ansible.
"""
import sys

from %s.%s import main

sys.exit(main())
''' % (PACKAGE, ENTRY)


# Import statements at the start of a line (also inside functions); ``from X import (a, b)`` may
# span lines. Read as text, not parsed: every module run that saves the restore reads them all.
_FROM = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n]*)", re.M)


def _names(text):
    """The imported names of an import list: ``a, b as c  # note`` or ``(a,\n b,)``: a, b."""
    text = "\n".join(line.partition("#")[0] for line in text.strip("()").splitlines())
    return [part.split()[0] for part in text.replace("\n", ",").split(",") if part.strip()]


def _imports(source):
    """The package's modules that SOURCE imports, anywhere in it (also inside functions)."""
    out = set()
    for match in _FROM.finditer(source):
        module, names = match.group(1), _names(match.group(2))
        if module == PACKAGE:
            out |= {"%s.%s" % (PACKAGE, name) for name in names}
        elif module.startswith(PACKAGE + "."):  # a module, or a package and maybe modules of it
            out.add(module)
            out |= {name for name in ("%s.%s" % (module, name) for name in names) if _is_module(name)}
    for match in _IMPORT.finditer(source):
        out |= {name for name in _names(match.group(1)) if name.startswith(PACKAGE + ".")}
    return out


def _is_module(name):
    """Whether NAME (PACKAGE.X.Y) is a module (Y of package X), not a name in module X."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # X is a module, not a package
        return False


@functools.cache
def carried():
    """{module name: (source, is a package)} of the command's module and all it imports from the package."""
    found, todo = {}, ["%s.%s" % (PACKAGE, ENTRY)]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        module = importlib.import_module(name)
        source = module.__spec__.loader.get_source(name)
        if isinstance(source, bytes):  # Ansible's collection loader gives bytes (zipimport and the file loader text)
            source = source.decode("utf-8")
        found[name] = (source, hasattr(module, "__path__"))
        parent = name.rpartition(".")[0]
        todo += sorted(_imports(source)) + ([parent] if parent != PACKAGE else [])
    return found


def command(python):
    """The restore command: a zip application for PYTHON, the same bytes for the same sources."""
    files = {"__main__.py": MAIN}
    parts = PACKAGE.split(".")
    for depth in range(1, len(parts) + 1):  # namespace packages in the collection: plain ones in the zip
        files["/".join(parts[:depth]) + "/__init__.py"] = ""
    for name, (source, package) in carried().items():
        files[name.replace(".", "/") + ("/__init__.py" if package else ".py")] = source
    buf = io.BytesIO()
    buf.write(b"#!" + python.encode() + b"\n")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path])
    return buf.getvalue()


def recognised(key, entry):
    """True when ENTRY (``Files.host_entry``) at the place of KEY was made by boot_restore: for a
    wants link, a link to our unit; else a file of root's whose content says it is ours."""
    kind, content, uid = entry
    if "wants" in key:
        return kind == "link" and os.path.basename(content) == (WATCH_UNIT if key.startswith("watch") else UNIT)
    if kind != "file" or not _fs.trusted_owner(uid):
        return False
    if key in ("unit", "watch"):
        return content.startswith(UNIT_HEADER.encode())
    if key == "declared":
        try:
            doc = json.loads(content)
        except ValueError:
            return False
        return isinstance(doc, dict) and doc.get("written_by") == WRITTEN_BY
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return archive.read("__main__.py").decode("utf-8", errors="replace").startswith(COMMAND_DOC)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return False


def field(key):
    """The option that places the file or link KEY ("wants:nftables.service": unit_dir)."""
    return FIELDS[key.partition(":")[0]]


def digest(data):
    return None if data is None else "sha256:" + hashlib.sha256(data).hexdigest()
