# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine: read -> desired -> plan -> apply.

A resource (one per module) turns options into a desired model, reads the current state, and
plans a list of ``Op``. The plan is plain data: each op names a method of a kernel adapter and
its arguments, so check mode is "plan without apply", and ``operations`` and ``diff`` are both
made from the same list the real run executes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.netmodes.linux.plugins.module_utils import _preview
from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError, NetmodesError
from ansible_collections.netmodes.linux.plugins.module_utils._model import jsonable

# Ops are applied in this fixed order; inside a phase, in the order they were planned.
PHASES = ("create", "set", "delete")
# A recreate (delete and create again, for what the kernel cannot change in place) is applied
# with the creates: what is then set on the object needs the new one.
PHASE_OF = {"recreate": "create"}


@dataclass(frozen=True)
class Op:
    """One planned change: ``call`` is (adapter method, keyword arguments)."""

    action: str
    obj: str
    field: str = None
    before: object = None
    after: object = None
    call: tuple = ()

    def describe(self):
        """The op as returned to the user in ``operations``."""
        out = {"action": self.action, "object": self.obj}
        if self.field:
            out["field"] = self.field
        if self.action != "create" and self.before is not None:
            out["before"] = jsonable(self.before)
        if self.action != "delete" and self.after is not None:
            out["after"] = jsonable(self.after)
        return out


def ordered(ops):
    """The ops in apply order: create (and recreate), then set, then delete (stable inside a phase)."""
    return sorted(ops, key=lambda op: PHASES.index(PHASE_OF.get(op.action, op.action)))


def diff(ops):
    """Ansible's before/after diff, made from the plan alone.

    A created object appears only in ``after`` (with the fields set on it), a deleted one only
    in ``before``; a changed field appears on both sides. A recreated object shows what forced
    the recreate on both sides, and then only the fields set on the new object.
    """
    before, after = {}, {}
    created = {op.obj for op in ops if op.action in ("create", "recreate")}
    for op in ordered(ops):
        if op.action == "create":
            after[op.obj] = dict(jsonable(op.after or {}))
        elif op.action == "recreate":
            before[op.obj] = dict(jsonable(op.before or {}))
            after[op.obj] = dict(jsonable(op.after or {}))
        elif op.action == "delete":
            before[op.obj] = jsonable(op.before if op.before is not None else {})
        else:
            if op.obj not in created:
                before.setdefault(op.obj, {})[op.field] = jsonable(op.before)
            after.setdefault(op.obj, {})[op.field] = jsonable(op.after)
    return {"before": before, "after": after}


class Resource:
    """Base of the small resource classes in plugins/modules.

    Subclasses set ``argument_spec`` and implement ``desired`` (options -> model, raising
    InvalidInput), ``read`` (kernel -> model; never creates anything), ``plan`` (pure:
    current + desired -> list of Op, raising NotFound/Conflict before anything is applied)
    and ``result`` (the module's return values from the state after the run).
    """

    argument_spec = {}
    # Options a batch alone passes (check mode's planned addresses...), beside the module's own.
    batch_options = ()
    mutually_exclusive = []
    required_if = []
    required_one_of = []

    def __init__(self, params, adapters, check_mode=False):
        self.params = params
        self.adapters = adapters
        self.check_mode = check_mode
        self.diff_mode = True  # False: no one asked for the diff (Ansible without --diff), so it is not made
        self.warnings = []
        self.planned = frozenset()   # objects an earlier step of the same batch creates (see Batch)

    @classmethod
    def params_with(cls, **options):
        """The params a run of this resource takes: OPTIONS over its argument_spec's defaults (as
        Ansible fills in what a task leaves out)."""
        params = {key: spec.get("default") for key, spec in cls.argument_spec.items()}
        params.update(options)
        return params

    def missing(self, error, needs=None):
        """A referenced object (a sandbox, a bridge) does not exist.

        In a real run that is an error. In check mode nothing earlier in the play was applied, so
        an earlier task may well create it: plan as if it existed and warn instead. When NEEDS
        (the object as ops name it, "netns web") is created by an earlier step of the same batch,
        the plan is whole and there is nothing to warn about.
        """
        if not self.check_mode:
            raise error
        if needs is not None and needs in self.planned:
            return
        self.warnings.append("%s (check mode: planned as if an earlier task creates it)" % error.msg)

    def desired(self):
        raise NotImplementedError

    def read(self, desired):
        raise NotImplementedError

    def plan(self, current, desired):
        raise NotImplementedError

    def result(self, current, desired):
        return {}

    def diff(self, ops):
        """Ansible's diff of OPS; by default the before/after made by ``diff``."""
        return diff(ops)


def _call(adapters, op, applied, method, kwargs):
    owner, _sep, name = method.partition(".")
    try:
        getattr(adapters[owner], name)(**kwargs)
    except NetmodesError as exc:
        exc.operation, exc.applied = op.describe(), applied
        raise
    except OSError as exc:
        err = KernelError("%s %s failed: %s" % (op.action, op.obj, getattr(exc, "strerror", None) or exc))
        err.operation, err.applied = op.describe(), applied
        raise err from exc


def apply(ops, adapters):
    """Execute ops in order; on failure the raised error records the op and what was applied.

    A transactional adapter (one with ``commit``, like the firewall) only stages what its ops
    ask for, in the order they were planned (each was planned on the state the ones before it
    leave); it is committed once, after every other op, so its whole share of the plan applies
    atomically. Its ops count as applied only when the commit succeeds. An adapter's
    ``deferred`` methods run after the commits: switching forwarding on comes after the firewall
    rules that keep the host closed, and does not happen when they could not be written.
    """
    applied, staged, later = [], {}, []
    for op in ops:
        owner = op.call[0].partition(".")[0]
        if hasattr(adapters[owner], "commit"):
            staged.setdefault(owner, []).append(op)
    for op in ordered(ops):
        method, kwargs = op.call
        owner, _sep, name = method.partition(".")
        if name in getattr(type(adapters[owner]), "deferred", ()):
            later.append(op)
        elif owner not in staged:
            _call(adapters, op, applied, method, kwargs)
            applied.append(op.describe())
    for owner, owner_ops in staged.items():
        for op in owner_ops:
            _call(adapters, op, applied, *op.call)
        _call(adapters, owner_ops[0], applied, owner + ".commit", {})
        applied += [op.describe() for op in owner_ops]
    for op in later:
        _call(adapters, op, applied, *op.call)
        applied.append(op.describe())
    return applied


def converge(resource, reread=True):
    """Run one resource to its desired state (or only plan it, in check mode); the module result.

    The state is read again after a change so that the result describes it; a batch, which
    does not return its parts' results, skips that (REREAD false).
    """
    if isinstance(resource, BatchResource):
        return resource.converge()
    desired = resource.desired()
    current = resource.read(desired)
    ops = resource.ops = resource.plan(current, desired)
    if ops and not resource.check_mode:
        apply(ops, resource.adapters)
        if reread:
            current = resource.read(desired)
    result = {"changed": bool(ops), "operations": [op.describe() for op in ordered(ops)], "diff": resource.diff(ops) if resource.diff_mode else {}}
    result.update(resource.result(current, desired))
    if resource.warnings:
        result["warnings"] = list(resource.warnings)
    return result


class Batch:
    """Converge many resources in one module run, one after another.

    Each resource plans against the state the ones before it left (a veth after its sandbox is
    made), so a whole host converges in one Ansible task. In check mode nothing is applied: the
    batch reads through ``_preview``, which plays each resource's plan in memory, so the next one
    plans on the state the real run would leave (what that cannot model, an object an earlier
    step creates, is planned through ``missing``).
    The batch's result adds up its resources': changed, operations, diff, warnings. ``plans``
    keeps each step's ops, in the order of the steps.
    """

    def __init__(self, adapters, check_mode=False, diff_mode=True):
        self.adapters, self.check_mode = _preview.preview(adapters) if check_mode else adapters, check_mode
        self.diff_mode = diff_mode
        self.changed, self.operations, self.diffs, self.warnings = False, [], [], []
        self.plans = []
        self._created = set()

    def created(self):
        """The objects (as ops name them: "netns web") that the steps so far create (the batch's
        own set, which grows with each step: read it, do not keep it)."""
        return self._created

    def run(self, resource_class, **options):
        """Converge one resource with OPTIONS (the rest take their argument_spec defaults); an
        option neither in its argument_spec nor in its batch_options is a bug: TypeError."""
        unknown = sorted(set(options) - set(resource_class.argument_spec) - set(resource_class.batch_options))
        if unknown:
            raise TypeError("%s: unknown option %s" % (resource_class.__name__, ", ".join(unknown)))
        resource = resource_class(resource_class.params_with(**options), self.adapters, self.check_mode)
        resource.planned, resource.diff_mode = self.created(), self.diff_mode
        try:
            result = converge(resource, reread=False)
        except NetmodesError as exc:
            exc.applied = ([] if self.check_mode else list(self.operations)) + list(exc.applied)
            raise
        if self.check_mode:
            _preview.play(self.adapters, resource.ops)
        self.plans.append(resource.ops)
        self.changed = self.changed or result["changed"]
        self.operations += result["operations"]
        self._created.update(op["object"] for op in result["operations"] if op["action"] in ("create", "recreate"))
        found = result["diff"]
        self.diffs += found if isinstance(found, list) else [found] if found.get("before") or found.get("after") else []
        self.warnings += result.get("warnings", [])
        return result

    def result(self):
        out = {"changed": self.changed, "operations": self.operations, "diff": self.diffs}
        if self.warnings:
            out["warnings"] = self.warnings
        return out


class BatchResource(Resource):
    """A resource made of others: ``steps(batch)`` validates everything first, then runs the
    single-object resources through BATCH in dependency order, and returns extra result keys;
    ``gather(adapters)`` reads the keys that describe the state the steps leave."""

    def steps(self, batch):
        raise NotImplementedError

    def gather(self, adapters):
        """Result keys read from ADAPTERS once the steps ran (in check mode: the preview's state)."""
        return {}

    def converge(self):
        """Plan the whole batch first, as check mode does: an error any step's plan raises (a
        conflict, a bad reference) is raised before the first change, so a batch never half
        applies what planning could refuse; with nothing to change the plan is the result.

        A whole plan (no step planned anything as if an earlier task made it, nothing to warn
        about) is then applied as it is, step by step: check mode's operations are the run's by
        construction, and the host is read and planned once. A plan that is not whole is made
        again step by step on the state each step leaves, as before.
        """
        if self.check_mode:
            return self.run_steps()
        dry = type(self)(self.params, self.adapters, check_mode=True)
        dry.diff_mode = self.diff_mode
        planned = dry.run_steps(gather=False)  # what the state is once applied is read then
        if planned.get("warnings"):
            return self.run_steps()
        if not planned["changed"]:
            planned.update(dry.gather(dry.batch.adapters))
            return planned
        done = []
        for ops in dry.batch.plans:
            try:
                done += apply(ops, self.adapters) if ops else []
            except NetmodesError as exc:
                exc.applied = done + list(exc.applied)
                raise
        planned.update(dry.gather(self.adapters))
        return planned

    def run_steps(self, gather=True):
        batch = self.batch = Batch(self.adapters, self.check_mode, self.diff_mode)
        real = self.adapters
        self.adapters = batch.adapters  # in check mode, what the steps before leave (see Batch)
        extra = self.steps(batch) or {}
        result = batch.result()
        result.update(extra)
        if gather:
            result.update(self.gather(batch.adapters))
        self.adapters = real
        if self.warnings:
            result["warnings"] = result.get("warnings", []) + self.warnings
        return result
