# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services resource (module netmodes.linux.services): existing systemd services wired to
sandboxes by drop-ins (``_services``), restarted when their wiring changes."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration as declaration
from ansible_collections.netmodes.linux.plugins.module_utils import _model, _naming, _preflight, _resolver, _restore_units, _services
from ansible_collections.netmodes.linux.plugins.module_utils._declaration.common import no_duplicates, unknown_keys
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource, ordered
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound


class Services(Resource):
    """The drop-ins of the services wired to sandboxes, and the units' restarts."""

    argument_spec = {
        "services": {"type": "list", "elements": "dict", "default": []},
        "sandboxes": {"type": "list", "elements": "dict", "default": []},
        "networks": {"type": "list", "elements": "dict", "default": []},
        "prune": {"type": "bool", "default": False},
        "unit_dir": {"type": "path", "default": _restore_units.UNIT_DIR},
        "declared_in": _naming.DECLARED_IN_OPTION,
    }
    before = None  # {drop-in path: its content when the run began}

    def desired(self):
        p = self.params
        _model.unit_path(p["unit_dir"], "unit_dir")
        where = _naming.declared_in(p, "services", "sandboxes", "networks")
        boxes = {s.name: s for s in declaration.sandbox_specs(p["sandboxes"], where["sandboxes"]) if s.state == "present"}
        nets = {s.name: s for s in declaration.network_specs(p["networks"], where["networks"])}
        out = {}
        for i, raw in enumerate(p["services"]):
            at = _naming.entry(where["services"], i, raw.get("unit") if isinstance(raw, dict) else None)
            unit = self._unit(raw, at)
            no_duplicates(list(out) + [unit], where["services"], "unit")  # a unit runs in one sandbox
            out[unit] = self._wiring(raw, at, boxes, nets, where["sandboxes"])
        return out

    @staticmethod
    def _unit(raw, at):
        if not isinstance(raw, dict):
            raise InvalidInput("%s: %r is not a dict; give {sandbox: NAME, unit: NAME.service}" % (at, raw), at)
        unknown_keys(raw, ("sandbox", "unit", "state"), at)
        return _services.unit_name(raw.get("unit"), at)

    def _wiring(self, raw, at, boxes, nets, sandboxes_var):
        unit, state = raw["unit"], raw.get("state", "present")
        if state not in ("present", "absent"):
            raise InvalidInput("%s: state: %r is not a state; choose present or absent" % (at, state), at)
        path = _services.dropin_path(self.params["unit_dir"], unit)
        if state == "absent":
            return {"at": at, "path": path, "content": None, "start": False}
        name = raw.get("sandbox")
        spec = boxes.get(name) if isinstance(name, str) else None
        if spec is None:
            known = ", ".join(sorted(boxes)) or "none is declared"
            raise InvalidInput("%s: sandbox: %r is not a sandbox declared (present) in %s; declare it there, or name one of"
                               " them (%s)" % (at, name, sandboxes_var, known), at)
        out = {"at": at, "path": path, "sandbox": name, "start": True, "ports": spec.ports, "content": None, "netns": None}
        if spec.mode == "host":  # the host's namespace and files: nothing to wire, only its ports to check
            return out
        netns = spec.share_with or spec.name  # container mode: the target's namespace and files
        shared = boxes.get(spec.share_with, spec)  # a target not declared here: its networks are not known
        serving = _resolver.serving(shared.networks, nets)
        out["netns"] = netns
        out["content"] = _services.dropin(unit, name, netns, _resolver.UNIT % serving if serving else None).encode()
        return out

    def read(self, desired):
        files, systemd, net = self.adapters["files"], self.adapters["systemd"], self.adapters["netlink"]
        current = {"systemd": systemd.running(), "units": {}, "netns": {}, "pruned": {}}
        if self.params["prune"]:  # our drop-ins of units not given: removed, their units restarted out of the sandbox
            for unit, content in systemd.wired(self.params["unit_dir"]).items():
                if unit not in desired and _services.ours(content):
                    path = _services.dropin_path(self.params["unit_dir"], unit)
                    current["pruned"][unit] = {"at": unit, "path": path, "content": None, "start": False}
        desired = self._with_pruned(desired, current)
        for unit, want in desired.items():
            entry = files.host_entry(want["path"])
            if entry is not None and (entry[0] != "file" or not _services.ours(entry[1])):
                raise Conflict("%s: %s exists and was not written by netmodes.linux (services); nothing was changed. Move it away,"
                               " or put its settings in another drop-in of %s" % (want["at"], want["path"], unit), want["at"])
            info = systemd.unit(unit) if current["systemd"] else {"load": None, "active": None, "pid": 0}
            current["units"][unit] = dict(info, dropin=entry[1] if entry else None)
            if want.get("netns"):
                current["netns"][want["netns"]] = net.netns_inode(want["netns"])
        if any(w.get("ports") and current["units"][u]["active"] != "active" for u, w in desired.items()):
            current["listeners"] = self.adapters["sockets"].listeners()
        if self.before is None:
            self.before = {w["path"]: current["units"][u]["dropin"] for u, w in desired.items()}
        return current

    @staticmethod
    def _with_pruned(desired, current):
        """DESIRED with the units that pruning unwires (found by ``read``)."""
        return dict(desired, **current.get("pruned", {}))

    def plan(self, current, desired):
        """A drop-in to write, replace or remove, with its unit's restart, per unit whose wiring changes."""
        ops = []
        for unit, want in self._with_pruned(desired, current).items():
            have = current["units"][unit]
            if want.get("sandbox") is not None:
                self._check(unit, want, have, current)
            if have["dropin"] == want["content"]:
                continue
            call = ("systemd.wire", {"unit": unit, "path": want["path"], "content": want["content"], "start": want["start"]})
            before, after = ({"sandbox": _services.wired_to(have["dropin"]), "dropin": want["path"]} if have["dropin"] else None,
                             {"sandbox": want.get("sandbox"), "dropin": want["path"]} if want["content"] else None)
            action = "delete" if after is None else "create" if before is None else "set"
            if action == "set":
                ops.append(Op("set", "service %s" % unit, "sandbox", before["sandbox"], after["sandbox"], call))
            else:
                ops.append(Op(action, "service %s" % unit, before=before, after=after, call=call))
        return ops

    def _check(self, unit, want, have, current):
        at = want["at"]
        if not current["systemd"]:
            raise InvalidInput("%s: systemd does not run this host, so no unit can be wired to a sandbox; run the service"
                               " with 'ip netns exec %s' instead" % (at, want["sandbox"]), at)
        if have["load"] == "not-found":
            self.missing(NotFound("%s: unit: systemd knows no unit %s on this host; install the service first" % (at, unit), at))
        if want["netns"] and current["netns"][want["netns"]] is None:
            self.missing(NotFound("%s: sandbox: %s does not exist on this host; make it first (the role netmodes.linux.sandboxes)"
                                  % (at, want["netns"]), at), "netns %s" % want["netns"])
        for port, proto in want["ports"] if have["active"] != "active" else ():
            for lproto, addr, lport, inode in current.get("listeners", ()):
                if (lproto, lport) == (proto, port):
                    raise Conflict(_preflight.in_use("%s: port %d/%s of host-mode sandbox %s" % (at, port, proto, want["sandbox"]),
                                                     self.adapters["sockets"].process_of(inode), addr, lport,
                                                     "stop it, or give the sandbox another port"), at)

    def diff(self, ops):
        """Each drop-in as a unified diff."""
        out = []
        for op in ordered(ops):
            path, after = op.call[1]["path"], op.call[1]["content"]
            before = self.before.get(path)
            out.append({"before_header": path if before is not None else "/dev/null", "before": (before or b"").decode(),
                        "after_header": path if after is not None else "/dev/null", "after": (after or b"").decode()})
        return out

    def result(self, current, desired):
        return {"services": [{"unit": unit, "sandbox": want.get("sandbox"), "dropin": want["path"] if want["content"] else None,
                              "active": current["units"][unit]["active"], "pid": current["units"][unit]["pid"]}
                             for unit, want in self._with_pruned(desired, current).items()]}
