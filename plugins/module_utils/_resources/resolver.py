# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolver of one network on this host (a step of the sandboxes batch; _resolver says what
it is): its config and hosts file, and its process. A resolver view (NETWORK is its name, ANSWERS
the networks whose hosts files it reads, PORT its own) has no hosts file but the list of the
sandboxes that use it (USERS).

A new member, or one gone, changes the hosts file alone, which dnsmasq reads again by itself (no
restart); a change of where it listens or where it forwards restarts it; a resolver that is not
running (stopped by hand, killed, or the host rebooted) is started again.
"""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import address


class Resolver(Resource):
    argument_spec = {
        "network": {"type": "str", "required": True},
        "listen": {"type": "list", "elements": "str", "default": []},
        "servers": {"type": "list", "elements": "str", "default": []},
        "hosts": {"type": "str", "default": ""},
        "port": {"type": "int", "default": _resolver.PORT},
        "answers": {"type": "list", "elements": "str"},
        "users": {"type": "list", "elements": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }

    def desired(self):
        p = self.params
        out = {"network": p["network"], "state": p["state"]}
        if p["state"] == "present":
            listen = [address(v, "listen[%d]" % i) for i, v in enumerate(p["listen"])]
            # a link-local server of the host's keeps its interface (dnsmasq reads fe80::1%eth0)
            servers = [address(v, "servers[%d]" % i, scoped=True) for i, v in enumerate(p["servers"])]
            view = p["answers"] is not None
            out.update(config=_resolver.config(p["network"], listen, servers, port=p["port"], answers=p["answers"]),
                       hosts=None if view else p["hosts"], users="".join(n + "\n" for n in sorted(set(p["users"] or []))) if view else None)
        return out

    def read(self, desired):
        current = self.adapters["resolver"].read(desired["network"])
        if desired["state"] == "present" and not self.adapters["resolver"].installed():
            # in check mode too: the real run plans first, and must fail before its first change
            raise NotFound("network %s has dns (a resolver on every host with members) but %s is not installed: install"
                           " the package %s (the netmodes.linux.requirements role does), or set dns: false on the"
                           " network" % (desired["network"], _resolver.DNSMASQ, _resolver.PACKAGE), "networks")
        return current

    def plan(self, current, desired):
        name = desired["network"]
        obj = "resolver %s" % name
        if desired["state"] == "absent":
            there = current["directory"] or current["running"]  # its files live in its directory, or what a killed removal left
            return [Op("delete", obj, call=("resolver.remove", {"network": name}))] if there else []
        if current["config"] is None:
            files = {field: desired[field] for field in ("config", "hosts", "users") if desired[field] is not None}
            return [Op("create", obj, after=files, call=("resolver.write", dict(files, network=name))),
                    Op("set", obj, "process", "stopped", "running", call=("resolver.restart", {"network": name}))]
        ops = []
        for field in ("config", "hosts", "users"):
            if desired[field] is not None and current[field] != desired[field]:
                ops.append(Op("set", obj, field, current[field], desired[field],
                              call=("resolver.write", {"network": name, field: desired[field]})))
        if not current["running"]:
            ops.append(Op("set", obj, "process", "stopped", "running", call=("resolver.restart", {"network": name})))
        elif current["config"] != desired["config"]:
            ops.append(Op("set", obj, "process", "running", "restarted", call=("resolver.restart", {"network": name})))
        return ops
