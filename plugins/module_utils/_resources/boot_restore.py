# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot_restore resource (module netmodes.linux.boot_restore): the saved declaration, the
restore command and its systemd unit, as ``_restore`` writes and runs them."""

from __future__ import annotations

import json
import os
import sys

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration as declaration
from ansible_collections.netmodes.linux.plugins.module_utils import _firewall, _fleet, _model, _naming, _restore, _restore_units
from ansible_collections.netmodes.linux.plugins.module_utils._batches.networks import FLEET_OPTION
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource, ordered
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NetmodesError


class BootRestore(Resource):
    """The saved declaration, the restore command and its systemd unit (module netmodes.linux.boot_restore,
    through ``_batches.sandboxes.SavedDeclaration``, which gives ``verify``)."""

    argument_spec = {
        "networks": {"type": "list", "elements": "dict", "default": []},
        "sandboxes": {"type": "list", "elements": "dict", "default": []},
        "fleet": FLEET_OPTION,
        "firewall_backend": _firewall.BACKEND_OPTION,
        "path": {"type": "path", "default": _restore.DECLARED},
        "command": {"type": "path", "default": _restore.COMMAND},
        "unit_dir": {"type": "path", "default": _restore_units.UNIT_DIR},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "watch": {"type": "bool", "default": False},
        "declared_in": _naming.DECLARED_IN_OPTION,
    }
    # The sandboxes batch that saves the declaration in its plan: the subnets and addresses it
    # plans (in check mode not made yet), to pin the declaration to (``_restore.Pins``).
    batch_options = ("planned_subnets", "planned_addresses")
    before = None  # {path: its content when the run began}

    def desired(self):
        p = self.params
        for key in ("path", "command", "unit_dir"):  # path and command are words of the unit's ExecStart
            _model.unit_path(p[key], key)
        unit_path, watch_path = (os.path.join(p["unit_dir"], name) for name in (_restore_units.UNIT, _restore_units.WATCH_UNIT))
        # The links of the units that want ours, and their targets: "wants:multi-user.target",
        # "wants:nftables.service"..., and the watch's "watch-wants:multi-user.target".
        wants = {"wants:" + name: (path, unit_path) for name, path in _restore_units.wants(p["unit_dir"]).items()}
        wants.update({"watch-wants:" + name: (path, watch_path) for name, path in _restore_units.wants(p["unit_dir"], _restore_units.WATCH_UNIT).items()})
        out = {"state": p["state"], "paths": {"declared": p["path"], "command": p["command"], "unit": unit_path, "watch": watch_path},
               "wants": wants, "unit_path": unit_path}
        if p["state"] == "present":
            where = _naming.declared_in(p, "sandboxes", "networks")
            declaration.sandbox_specs(p["sandboxes"], where["sandboxes"])  # both lists are checked before anything is read
            declaration.network_specs(p["networks"], where["networks"])
            _fleet.fleet_from(p["fleet"])
            python = sys.executable
            out["content"] = {"command": _restore.command(python), "unit": _restore_units.unit(python, p["command"], p["path"]).encode()}
            if p["watch"]:
                out["content"]["watch"] = _restore_units.watch_unit(python, p["command"], p["path"]).encode()
        return out

    def read(self, desired):
        files, where = self.adapters["files"], dict(desired["paths"], **{key: link[0] for key, link in desired["wants"].items()})
        for key, path in where.items():
            problem, field = files.host_path_problem(path), _restore.field(key)
            if problem:
                raise InvalidInput("%s: %s: %s; the restore runs as root at boot, so its files must be where no other user can"
                                   " change them: choose another %s" % (field, path, problem, field), field)
        current = {key: files.host_entry(path) for key, path in where.items()}
        foreign = [key for key, entry in current.items() if entry is not None and not _restore.recognised(key, entry)]
        if foreign:
            raise Conflict("; ".join("%s exists and was not made by netmodes.linux (boot_restore)" % where[key] for key in foreign)
                           + ". Nothing was changed, and it is left alone: choose another %s, or move it away if it is not"
                           " needed" % _restore.field(foreign[0]), _restore.field(foreign[0]))
        current = {key: entry[1] if entry else None for key, entry in current.items()}
        if self.before is None:  # the diff's "before": the engine reads again after the write, and then makes the diff
            self.before = {where[key]: content for key, content in current.items()}
        current["systemd"] = os.path.isdir("/run/systemd/system")
        if desired["state"] == "present":
            current["document"] = self._document(current["declared"])
        return current

    def _document(self, old_bytes):
        net, p = self.adapters["netlink"], self.params
        old = json.loads(old_bytes) if old_bytes else {}  # ours (``recognised``): valid JSON
        old = old if isinstance(old, dict) else {}
        pins = _restore.Pins(net, p.get("planned_subnets"), p.get("planned_addresses"))
        networks, by_name = _restore.pinned_networks(p["networks"], pins)
        sandboxes, present = _restore.pinned_sandboxes(p["sandboxes"], by_name, pins)
        extra = _restore.default_network(present, by_name, pins)
        networks += [extra] if extra else []
        dropped = [s["name"] for s in p["sandboxes"] if s.get("state") == "absent"]
        nets, boxes = _restore.merged(old, networks, sandboxes, dropped, net=net, claims=self.adapters["sockets"].claims())
        try:
            text = self._restorable(nets, boxes, old, old_bytes)
        except InvalidInput as exc:  # an entry of another run no longer fits with this run's
            if (nets, boxes) == (networks, sandboxes):
                raise
            self.warnings.append("boot restore: the entries of earlier runs are dropped (%s)" % exc.msg)
            text = self._restorable(networks, sandboxes, old, old_bytes)
        return text

    def _restorable(self, nets, boxes, old, old_bytes):
        """The document of NETS and BOXES, checked as the restore will use it: the restore command
        planned on it (in check mode) must not fail, or the boot would. Unchanged, it was checked
        when it was written."""
        declaration.network_specs(nets, "file")
        declaration.sandbox_specs(boxes, "file")
        boxes, warnings = _restore.restorable(nets, boxes)
        p = self.params
        text = _restore.document(nets, boxes, p["firewall_backend"], _restore.saved_fleet(nets, p["fleet"], old.get("fleet")))
        if old_bytes != text.encode():
            try:
                self.verify(json.loads(text))
            except Conflict as exc:
                if not self.check_mode:
                    raise self._unrestorable(exc) from exc
                # In check mode the host is still as it was before the run (a port the run moves
                # is still held by its old sandbox): the real run checks this again on the host
                # it made, and fails there if the conflict is real.
                self.warnings.append("boot restore: the restore of this declaration is checked by the real run, on the"
                                     " host that run makes (in check mode the host is still as before: %s)" % exc.msg)
            except NetmodesError as exc:
                raise self._unrestorable(exc) from exc
        self.warnings += warnings
        return text

    def verify(self, doc):
        """Plan DOC as the restore command will, changing nothing; a NetmodesError when that
        fails. The batch that plans a declaration gives it (``_batches.sandboxes.SavedDeclaration``,
        which the modules run): a resource does not import a batch."""
        raise NotImplementedError

    @staticmethod
    def _unrestorable(exc):
        return InvalidInput("the declaration cannot be restored at boot, so it is not saved: netmodes-restore would fail"
                            " with \"%s\"; fix the declaration (netmodes_networks, netmodes_sandboxes) or pass the"
                            " fleet (the role boot_restore does)" % exc.msg, "networks")

    def plan(self, current, desired):
        """Write the files and links the state wants (the watch's only with the watch option),
        remove those of ours it does not."""
        paths, ops = desired["paths"], []
        want = dict(desired["content"], declared=current["document"].encode()) if desired["state"] == "present" else {}
        for key in ("declared", "command", "unit", "watch"):
            have = current[key]
            if key not in want:
                if have is not None:
                    # Its directory too once empty, when it is one of ours (the defaults' netmodes).
                    mine = key in ("declared", "command") and os.path.basename(os.path.dirname(paths[key])) == "netmodes"
                    ops.append(Op("delete", "file %s" % paths[key], before=_restore.digest(have),
                                  call=("files.remove_host_file", {"name": paths[key], "directory": mine})))
                continue
            if have == want[key]:
                continue
            call = ("files.write_host_file", {"name": paths[key], "content": want[key], "mode": 0o755 if key == "command" else 0o644})
            if have is None:
                ops.append(Op("create", "file %s" % paths[key], after=_restore.digest(want[key]), call=call))
            else:
                ops.append(Op("set", "file %s" % paths[key], "content", _restore.digest(have), _restore.digest(want[key]), call))
        for key, (path, target) in desired["wants"].items():
            if (key.startswith("watch") and "watch" not in want) or not want:
                if current[key] is not None:
                    ops.append(Op("delete", "link %s" % path, before=current[key], call=("files.remove_host_file", {"name": path})))
            elif current[key] != target:
                ops.append(Op("create" if current[key] is None else "set", "link %s" % path, "target", current[key],
                              target, ("files.link_host_file", {"name": path, "target": target})))
        return ops

    def diff(self, ops):
        """The declaration and the unit as unified diffs; the command (a zip) by its digest."""
        out = []
        for op in ordered(ops):
            name = op.obj.partition(" ")[2]
            kwargs = op.call[1]
            if op.obj.startswith("file ") and name != self.params["command"]:
                before = self.before.get(name) if op.action != "create" else None
                after = kwargs.get("content") if op.action != "delete" else None
                out.append({"before_header": name if before is not None else "/dev/null", "before": (before or b"").decode(),
                            "after_header": name if after is not None else "/dev/null", "after": (after or b"").decode()})
            else:
                out.append({"before_header": name, "before": "%s\n" % (op.before or ""),
                            "after_header": name, "after": "%s\n" % (op.after if op.action != "delete" else "")})
        return out

    def result(self, current, desired):
        out = {"path": desired["paths"]["declared"], "command": desired["paths"]["command"], "unit": desired["unit_path"],
               "systemd": current["systemd"]}
        if desired["state"] == "present":
            doc = json.loads(current["document"])
            out["declared"] = {"networks": doc["networks"], "sandboxes": doc["sandboxes"]}
            out["watch"] = desired["paths"]["watch"] if self.params["watch"] else None
        return out


# The sandboxes module's boot_restore option: the site saves the declaration in the host's one
# plan, with the settings of this resource (None keeps a setting's default).
BOOT_RESTORE_OPTION = {"type": "dict", "default": None,
                       "options": {key: BootRestore.argument_spec[key] for key in ("path", "command", "unit_dir", "state", "watch")}}
