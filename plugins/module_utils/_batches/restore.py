# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot restore in the host's plan, and the command that plans the saved declaration at boot.

``HostPlan`` is the sandboxes module's resource: the sandboxes batch, then the boot restore as
the last step of the same plan (so what it saves is the host the plan leaves, in check mode
too). ``restore`` converges a saved declaration through the sandboxes batch, as the site did;
the boot restore checks a declaration with it before saving it (``SavedDeclaration``), and the
command netmodes-restore (``main``) runs it at boot, without Ansible (``_restore.carried`` packs
this module and what it imports).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ansible_collections.netmodes.linux.plugins.module_utils import _adapters, _lock, _restore, _restore_units
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._engine import converge
from ansible_collections.netmodes.linux.plugins.module_utils._errors import NetmodesError
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import detect, nft_rules
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.nft_events import TableEvents
from ansible_collections.netmodes.linux.plugins.module_utils._netlink import HAS_PYROUTE2, Netlink
from ansible_collections.netmodes.linux.plugins.module_utils._resources.boot_restore import BOOT_RESTORE_OPTION, BootRestore


def restore(doc, adapters, check_mode=False):
    """Converge DOC (the declaration the boot restore saved) as the site playbook does, in one
    plan: networks, then sandboxes, then their files; merged, so nothing that is not in it is
    touched."""
    # An error names the document's own keys (sandboxes[2] (web)), not the module's config.
    params = Sandboxes.params_with(config=doc.get("sandboxes", []), networks=doc.get("networks", []), fleet=doc.get("fleet") or {},
                                   state="merged", firewall_backend=doc.get("firewall_backend") or "auto", converge_networks=True,
                                   declared_in={"config": "sandboxes", "networks": "networks"})
    result = converge(Sandboxes(params, adapters, check_mode))
    result.setdefault("warnings", [])
    return result


class SavedDeclaration(BootRestore):
    """The boot restore (module netmodes.linux.boot_restore), whose declaration is checked by
    planning it as the restore will."""

    def verify(self, doc):
        restore(doc, self.adapters, check_mode=True)


class HostPlan(Sandboxes):
    """The sandboxes module: every sandbox of the host and, with the boot_restore option, the
    boot restore as the plan's last step."""

    argument_spec = dict(Sandboxes.argument_spec, boot_restore=BOOT_RESTORE_OPTION)

    def steps(self, batch):
        out = super().steps(batch)
        p = self.params
        if p["boot_restore"] and p["state"] != "gathered":  # last: what it saves is the host this plan leaves
            # None or '' keeps a setting's default: the site playbook passes a variable the inventory
            # does not set (netmodes_boot_restore_command) as ''.
            settings = {key: value for key, value in p["boot_restore"].items() if value not in (None, "")}
            sandboxes = [dict(s, state="absent") for s in p["config"]] if p["state"] == "deleted" else p["config"]
            where = p["declared_in"] or {}  # the restore saves the sandboxes module's config as its sandboxes
            named = {"sandboxes": where.get("config", "config"), "networks": where.get("networks", "networks")}
            result = batch.run(SavedDeclaration, networks=p["networks"], sandboxes=sandboxes, fleet=p["fleet"], declared_in=named,
                               firewall_backend=p["firewall_backend"], planned_subnets=self.planned_subnets,
                               planned_addresses=self.planned.ips, **settings)
            # Whether it changed: a changed unit wants systemd reloaded (the role's handler).
            out["boot_restore"] = {key: value for key, value in result.items() if key not in ("operations", "diff", "warnings")}
        return out


# -- the command netmodes-restore: no Ansible from here on ------------------------------------------

def _say(text, stream=None):
    (stream or sys.stdout).write("%s\n" % text)


def main(argv=None):
    """netmodes-restore [--file PATH] [--check] [--lock-timeout S] [--watch [--interval S]]: exit 0
    when the host is as declared; with --watch, run again whenever the firewall lost our rules."""
    parser = argparse.ArgumentParser(prog="netmodes-restore", description="Apply again the networks and sandboxes netmodes.linux"
                                     " declared on this host (saved by the module boot_restore); run at boot by " + _restore_units.UNIT + ".")
    parser.add_argument("--file", default=_restore.DECLARED, help="the saved declaration (default %(default)s)")
    parser.add_argument("--check", action="store_true", help="only print what would change")
    parser.add_argument("--lock-timeout", type=int, default=int(os.environ.get(_lock.TIMEOUT_ENV) or _lock.DEFAULT_TIMEOUT),
                        help="seconds to wait for a netmodes.linux run that holds the host's lock (default %(default)s)")
    parser.add_argument("--watch", action="store_true", help="keep running: apply it again whenever our nftables table is deleted"
                        " (nft flush ruleset, a firewall's reload), or every --interval seconds on an iptables-legacy host")
    parser.add_argument("--interval", type=float, default=30.0, help="with --watch on iptables-legacy: seconds between runs"
                        " (default %(default)s)")
    args = parser.parse_args(argv)
    if not os.path.exists(args.file):
        _say("netmodes-restore: %s does not exist: nothing to restore" % args.file)
        return 0
    if not HAS_PYROUTE2:
        _say("netmodes-restore: the Python library pyroute2 is missing for %s; install it (pip install 'pyroute2>=0.9,<0.10'"
             " or the package python3-pyroute2)" % sys.executable, sys.stderr)
        return 1
    return _watch(args) if args.watch and not args.check else _once(args)


def _once(args, quiet=False):
    """Converge the declaration once, read under the host's lock (a run of the site may be writing
    it); with QUIET, say nothing when nothing changed. The exit code."""
    try:
        with Netlink() as netlink, _lock.host_lock("netmodes-restore", exclusive=not args.check, timeout=args.lock_timeout):
            doc, code = _load(args.file)
            if doc is None:
                return code
            result = restore(doc, _adapters.adapters(netlink, doc.get("firewall_backend") or "auto"), args.check)
    except NetmodesError as exc:
        _say("netmodes-restore: %s" % exc.msg, sys.stderr)
        if exc.applied:
            _say("netmodes-restore: applied before the failure: %s" % json.dumps(exc.applied), sys.stderr)
        return 1
    for op in result["operations"]:
        _say("%s %s%s" % (op["action"], op["object"], " " + op["field"] if op.get("field") else ""))
    for warning in result["warnings"]:
        _say("warning: %s" % warning, sys.stderr)
    count = len(result["operations"])
    mode = " (check mode: nothing applied)" if args.check else ""
    if count or not quiet:
        _say("netmodes-restore: %d %s from %s%s" % (count, "change" if count == 1 else "changes", args.file, mode))
    return 0


def _load(path):
    """(the saved declaration at PATH, None), or (None, the exit code) after saying why there is none."""
    try:
        with open(path) as handle:
            doc = json.load(handle)
    except FileNotFoundError:
        _say("netmodes-restore: %s does not exist: nothing to restore" % path)
        return None, 0
    except ValueError as exc:
        _say("netmodes-restore: %s is not valid JSON (%s); run the site playbook again to rewrite it" % (path, exc), sys.stderr)
        return None, 1
    if not isinstance(doc, dict):  # was returned as the exit code itself
        _say("netmodes-restore: %s is not a saved declaration (a JSON object); run the site playbook again to rewrite it" % path,
             sys.stderr)
        return None, 1
    return doc, None


def _watch(args):
    """Run once, then again after each deletion of our nftables table (the kernel's events), or
    every args.interval seconds where the firewall is iptables-legacy (which has no events), and
    after args.interval when a run failed. Subscribed before the first run, so that nothing
    between is missed."""
    doc, _code = _load(args.file)
    choice = (doc.get("firewall_backend") or "auto") if doc is not None else "auto"
    events = TableEvents(nft_rules.FAMILY, nft_rules.TABLE) if (detect() if choice == "auto" else choice) == "nftables" else None
    _say("netmodes-restore: watching %s" % ("for the deletion of table %s %s" % (nft_rules.FAMILY, nft_rules.TABLE) if events
                                            else "every %g s (iptables-legacy has no events)" % args.interval))
    sys.stdout.flush()
    while True:
        failed = _once(args, quiet=True)  # a failure (a long run of the site held the lock) is tried again
        sys.stdout.flush()
        if events and not failed:
            events.wait()
        else:
            time.sleep(args.interval)
