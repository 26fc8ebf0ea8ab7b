# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dns_config resource (module netmodes.linux.dns_config)."""

from __future__ import annotations

import os

from ansible_collections.netmodes.linux.plugins.module_utils import _files
from ansible_collections.netmodes.linux.plugins.module_utils import _resolvconf as rc
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import address, hostname, netns_name
from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import NETNS_DIR


class DnsConfig(Resource):
    argument_spec = {
        "netns": {"type": "str", "required": True},
        "hostname": {"type": "str"},
        "domainname": {"type": "str"},
        "nameservers": {"type": "list", "elements": "str"},
        "search": {"type": "list", "elements": "str"},
        "options": {"type": "list", "elements": "str"},
        "extra_hosts": {"type": "raw"},
        "peers": {"type": "raw"},
        "share_with": {"type": "str"},
        "force": {"type": "bool", "default": False},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    # The sandboxes batch: in check mode the links' addresses it plans; the resolver of the
    # sandbox's network, (address, network), that its resolv.conf names (_resolver.serving).
    batch_options = ("planned_addresses", "resolver")

    def desired(self):
        p = self.params
        netns = netns_name(p["netns"], "netns", existing=p["state"] == "absent")
        if netns == _files.RECORDS:  # only an existing name can be (a sandbox name starts with a letter or digit)
            raise InvalidInput("netns: %s is reserved: /etc/netns/%s holds the module's records" % (netns, netns), "netns")
        if p["domainname"] and not p["hostname"]:
            raise InvalidInput("domainname: needs hostname; give hostname too (or a dotted hostname alone)", "domainname")
        share_with = netns_name(p["share_with"], "share_with") if p["share_with"] else None
        own = [key for key in _OWN if p[key] not in (None, [], "", {})]
        if share_with and (own or share_with == netns or p["state"] == "absent"):
            why = ("sandbox %s cannot share its own files; name another sandbox" % netns if share_with == netns
                   else "not with state absent (which removes the link)" if p["state"] == "absent"
                   else "the files are %s's; set %s on %s" % (share_with, ", ".join(own), share_with))
            raise InvalidInput("share_with: " + why, "share_with")
        return {"netns": netns, "state": p["state"], "force": p["force"], "share_with": share_with,
                "hostname": hostname(p["hostname"], "hostname") if p["hostname"] else None,
                "domainname": hostname(p["domainname"], "domainname") if p["domainname"] else None,
                "nameservers": [address(v, "nameservers[%d]" % i, scoped=True) for i, v in enumerate(p["nameservers"] or [])],
                "search": rc.search_domains(p["search"], "search"), "options": rc.resolver_options(p["options"], "options"),
                "extra_hosts": rc.host_entries(p["extra_hosts"], "extra_hosts"), "peers": rc.host_entries(p["peers"], "peers"),
                "resolver": (address(p["resolver"][0], "resolver"), p["resolver"][1]) if p.get("resolver") else None}

    def read(self, desired):
        files, netns = self.adapters["files"], desired["netns"]
        link, recorded = files.link_of(netns), files.recorded(netns)
        # A link of ours (container mode) shows another sandbox's files: those are read for the result.
        shown = _files.shown(files, netns)
        current = {"link": link, "ours": link is not None and link == recorded.get(_files.LINK), "recorded": recorded, "shown": shown,
                   "files": {name: files.read(netns, name) if link is None else None for name in rc.FILES}}
        if shown != netns:
            current["shown_files"] = {name: files.read(shown, name) for name in rc.FILES}
            current["shown_recorded"] = files.recorded(shown)
        if desired["state"] == "absent":
            current["stray"] = files.stray_records()
        else:
            net = self.adapters["netlink"]
            current["exists"] = net.netns_inode(netns) is not None
            current["addresses"] = net.addresses_by_link(netns) if current["exists"] else {}
            if self.params.get("planned_addresses") is not None:
                # The sandboxes module only, in check mode: the addresses its plan gives the sandbox.
                current["addresses"] = self.params["planned_addresses"]
            current["source"] = rc.host_source(files.host_file)
        return current

    def plan(self, current, desired):
        netns, present = desired["netns"], desired["state"] == "present"
        share = _files.plan_link(netns, desired["share_with"] if present else None, current, desired["force"], replaced=present)
        if desired["share_with"] or current["link"] is not None and not present:
            if present and desired["share_with"]:
                self._exists(current, netns)
            return share
        recorded = {name: mark for name, mark in current["recorded"].items() if name != _files.LINK}
        if desired["state"] == "absent":
            wanted = dict.fromkeys(name for name in recorded if name in rc.FILES)
            if current["stray"]:  # nothing is recorded for any sandbox: what a killed removal left
                return [Op("delete", "directory %s" % os.path.join(_files.ETC_NETNS, _files.RECORDS), call=("files.tidy", {}))]
        else:
            self._exists(current, netns)
            wanted, warnings = rc.sandbox_files(desired, current["addresses"], current["source"])
            self.warnings += warnings
        return share + _files.plan(netns, wanted, current["files"], recorded, desired["force"])

    def _exists(self, current, netns):
        if not current["exists"]:
            self.missing(NotFound("netns: sandbox %r does not exist (no %s/%s); create it with"
                                  " netmodes.linux.netns first" % (netns, NETNS_DIR, netns), "netns"), "netns %s" % netns)

    def diff(self, ops):
        return _files.diff(ops)

    def result(self, current, desired):
        files, recorded = current.get("shown_files", current["files"]), current.get("shown_recorded", current["recorded"])
        out = {"files": {name: _files.status(desired["netns"], name, content, recorded.get(name)) for name, content in files.items()},
               "share_with": current["shown"] if current["shown"] != desired["netns"] else None}
        out.update(rc.summary(files))
        return out


# The options that make a sandbox's own files: share_with takes another's instead.
_OWN = ("hostname", "domainname", "nameservers", "search", "options", "extra_hosts", "peers")
