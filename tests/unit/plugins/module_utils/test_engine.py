# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import errno

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _engine as e
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, KernelError, NetmodesError
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces


class Recorder:
    """An adapter that records calls and can be told to fail on one method."""

    def __init__(self, fail=None, error=None):
        self.calls, self.fail, self.error = [], fail, error

    def __getattr__(self, name):
        if name == "commit":  # not transactional
            raise AttributeError(name)

        def call(**kwargs):
            if name == self.fail:
                raise self.error
            self.calls.append((name, kwargs))
        return call


def op(action, obj="thing a", field=None, before=None, after=None, method="r.do"):
    return e.Op(action, obj, field, before, after, (method, {"obj": obj, "field": field}))


def test_ordered_puts_creates_first_and_deletes_last_stably():
    ops = [op("delete", "x"), op("set", "a", "mtu"), op("create", "b"), op("set", "a", "state"), op("create", "c")]
    assert [(o.action, o.obj, o.field) for o in e.ordered(ops)] == [
        ("create", "b", None), ("create", "c", None),
        ("set", "a", "mtu"), ("set", "a", "state"),
        ("delete", "x", None),
    ]


def test_a_recreate_is_applied_with_the_creates():
    ops = [op("set", "vxlan vx0", "mtu"), op("delete", "vxlan vx0 peer a"), op("recreate", "vxlan vx0"), op("create", "vxlan vx0 peer b")]
    assert [o.action for o in e.ordered(ops)] == ["recreate", "create", "set", "delete"]


def test_the_diff_of_a_recreate_shows_what_forced_it_and_what_the_new_object_gets():
    d = e.diff([op("recreate", "vxlan vx0", before={"vni": 1}, after={"vni": 2}), op("set", "vxlan vx0", "mtu", None, 1450)])
    assert d == {"before": {"vxlan vx0": {"vni": 1}}, "after": {"vxlan vx0": {"vni": 2, "mtu": 1450}}}
    assert op("recreate", before={"vni": 1}, after={"vni": 2}).describe() == {
        "action": "recreate", "object": "thing a", "before": {"vni": 1}, "after": {"vni": 2}}


def test_describe_shows_only_meaningful_sides():
    assert op("create", after={"kind": "bridge"}).describe() == {"action": "create", "object": "thing a", "after": {"kind": "bridge"}}
    assert op("delete", before={"addresses": []}).describe() == {"action": "delete", "object": "thing a", "before": {"addresses": []}}
    assert op("set", field="mtu", before=1500, after=9000).describe() == {
        "action": "set", "object": "thing a", "field": "mtu", "before": 1500, "after": 9000}


def test_describe_is_json_data():
    described = op("set", field="addresses", before=frozenset(), after=interfaces(["10.231.0.1/24"], "a")).describe()
    assert described["before"] == [] and described["after"] == ["10.231.0.1/24"]


def test_diff_of_a_change():
    d = e.diff([op("set", "bridge br0", "mtu", 1500, 9000), op("set", "bridge br0", "state", "down", "up")])
    assert d == {"before": {"bridge br0": {"mtu": 1500, "state": "down"}}, "after": {"bridge br0": {"mtu": 9000, "state": "up"}}}


def test_diff_of_a_creation_has_no_before():
    d = e.diff([op("create", "bridge br0", after={"kind": "bridge"}), op("set", "bridge br0", "mtu", None, 9000)])
    assert d == {"before": {}, "after": {"bridge br0": {"kind": "bridge", "mtu": 9000}}}


def test_diff_of_a_deletion_has_no_after():
    d = e.diff([op("delete", "netns web", before={"path": "/run/netns/web"})])
    assert d == {"before": {"netns web": {"path": "/run/netns/web"}}, "after": {}}


def test_diff_of_nothing_is_empty():
    assert e.diff([]) == {"before": {}, "after": {}}


def test_apply_calls_the_adapters_in_order():
    rec = Recorder()
    applied = e.apply([op("set", "a", "mtu"), op("create", "b")], {"r": rec})
    assert [c[1]["obj"] for c in rec.calls] == ["b", "a"]
    assert [a["object"] for a in applied] == ["b", "a"]


def test_apply_turns_os_errors_into_kernel_errors_with_progress():
    rec = Recorder(fail="boom", error=OSError(errno.EEXIST, "File exists"))
    ops = [op("create", "b"), op("set", "a", "mtu", method="r.boom"), op("delete", "c")]
    with pytest.raises(KernelError) as info:
        e.apply(ops, {"r": rec})
    err = info.value
    assert err.msg == "set a failed: File exists"
    assert err.operation == {"action": "set", "object": "a", "field": "mtu"}
    assert [a["object"] for a in err.applied] == ["b"]
    assert len(rec.calls) == 1  # the delete after the failure never ran
    details = err.details()
    assert details["error"] == "KernelError" and details["applied"] == err.applied


def test_apply_keeps_our_own_errors_and_adds_progress():
    rec = Recorder(fail="boom", error=Conflict("in the way", "name"))
    with pytest.raises(Conflict) as info:
        e.apply([op("set", "a", method="r.boom")], {"r": rec})
    assert info.value.details() == {"error": "Conflict", "applied": [], "field": "name",
                                    "operation": {"action": "set", "object": "a"}}


class Toy(e.Resource):
    """Desired value 'want' of one field; the state lives in the adapter 'store'."""

    def desired(self):
        return self.params["want"]

    def read(self, desired):
        return self.adapters["store"].value

    def plan(self, current, desired):
        if current == desired:
            return []
        return [e.Op("set", "toy", "value", current, desired, ("store.put", {"value": desired}))]

    def result(self, current, desired):
        return {"value": current}


class Store:
    def __init__(self):
        self.value, self.puts = 1, 0

    def put(self, value):
        self.value, self.puts = value, self.puts + 1


def test_converge_four_steps():
    store = Store()

    def toy(check):
        return Toy({"want": 2}, {"store": store}, check)

    check = e.converge(toy(True))
    assert check["changed"] and check["value"] == 1 and store.puts == 0
    assert check["diff"] == {"before": {"toy": {"value": 1}}, "after": {"toy": {"value": 2}}}
    run = e.converge(toy(False))
    assert run["changed"] and run["value"] == 2 and store.puts == 1
    assert run["operations"] == check["operations"]
    again = e.converge(toy(False))
    assert not again["changed"] and again["operations"] == [] and store.puts == 1
    assert not e.converge(toy(True))["changed"]


def test_a_resource_can_give_its_own_diff_format():
    class FileToy(Toy):
        def diff(self, ops):  # e.g. one unified diff per file instead of before/after dicts
            return [{"before": str(op.before), "after": str(op.after)} for op in ops]

    result = e.converge(FileToy({"want": 2}, {"store": Store()}, True))
    assert result["diff"] == [{"before": "1", "after": "2"}]


def test_every_error_has_a_message_and_a_class_name():
    for cls in NetmodesError.__subclasses__():
        err = cls("what is wrong")
        assert str(err) == err.msg == "what is wrong"
        assert err.details()["error"] == cls.__name__


def test_missing_reference_is_an_error_in_a_run_and_a_warning_in_check_mode():
    err = NetmodesError("netns: sandbox 'web' does not exist")
    with pytest.raises(NetmodesError):
        Toy({}, {}, check_mode=False).missing(err)
    toy = Toy({"want": 2}, {"store": Store()}, check_mode=True)
    toy.missing(err)
    result = e.converge(toy)
    assert result["changed"]
    assert result["warnings"] == ["netns: sandbox 'web' does not exist (check mode: planned as if an earlier task creates it)"]


class Transactional:
    """An adapter that stages ops and applies them at commit, like the firewall."""

    def __init__(self, fail_commit=False):
        self.staged, self.committed, self.fail_commit = [], [], fail_commit

    def stage(self, obj, field):
        self.staged.append(obj)

    def commit(self):
        if self.fail_commit:
            raise KernelError("nftables: the transaction was refused and nothing changed: boom")
        self.committed, self.staged = self.staged, []


def test_a_transactional_adapter_is_committed_once_after_all_ops():
    rec, fw = Recorder(), Transactional()
    ops = [op("set", "fw a", method="fw.stage"), op("create", "b"), op("set", "fw c", method="fw.stage")]
    applied = e.apply(ops, {"r": rec, "fw": fw})
    assert fw.committed == ["fw a", "fw c"]
    assert [a["object"] for a in applied] == ["b", "fw a", "fw c"]


def test_a_refused_transaction_counts_none_of_its_ops_as_applied():
    rec, fw = Recorder(), Transactional(fail_commit=True)
    ops = [op("set", "fw a", method="fw.stage"), op("create", "b")]
    with pytest.raises(KernelError) as info:
        e.apply(ops, {"r": rec, "fw": fw})
    assert [a["object"] for a in info.value.applied] == ["b"]
    assert info.value.operation["object"] == "fw a"


class Knob(Toy):
    argument_spec = {"want": {"type": "int"}}
    batch_options = ("hint",)


def test_a_batch_refuses_an_option_its_resource_does_not_take():
    store = Store()
    batch = e.Batch({"store": store})
    with pytest.raises(TypeError, match="Knob: unknown option settle"):
        batch.run(Knob, want=2, settle=True)
    assert store.puts == 0, "refused before anything is planned"
    assert batch.run(Knob, want=2, hint="only a batch passes it")["changed"] and store.value == 2


class CountingStore(Store):
    """A Store that counts its reads and may refuse a put."""

    def __init__(self, fail=False):
        super().__init__()
        self.reads, self.fail = 0, fail

    @property
    def value(self):
        self.reads += 1
        return self._value

    @value.setter
    def value(self, value):
        self._value = value

    def put(self, value):
        if self.fail:
            raise KernelError("store refused %s" % value)
        super().put(value)


class Stored(Toy):
    """A Toy whose store is named by the option 'store'; it warns when told to (check mode only)."""

    argument_spec = {"want": {"type": "int"}, "store": {"type": "str"}, "warn": {"type": "bool", "default": False}}

    def read(self, desired):
        if self.params["warn"] and self.check_mode:
            self.missing(NetmodesError("the store is made by an earlier task"))
        return self.adapters[self.params["store"]].value

    def plan(self, current, desired):
        if current == desired:
            return []
        return [e.Op("set", "toy %s" % self.params["store"], "value", current, desired, ("%s.put" % self.params["store"], {"value": desired}))]


class TwoSteps(e.BatchResource):
    argument_spec = {"want": {"type": "int"}, "warn": {"type": "bool", "default": False}}

    def steps(self, batch):
        batch.run(Stored, want=self.params["want"], store="a")
        batch.run(Stored, want=self.params["want"], store="b", warn=self.params["warn"])

    def gather(self, adapters):
        return {"values": [adapters["a"].value, adapters["b"].value]}


def test_a_batch_is_planned_once_and_applies_that_plan_step_by_step():
    stores = {"a": CountingStore(), "b": CountingStore()}
    check = e.converge(TwoSteps({"want": 2, "warn": False}, stores, check_mode=True))
    assert check["values"] == [1, 1] and stores["a"].puts == 0
    reads = stores["a"].reads
    run = e.converge(TwoSteps({"want": 2, "warn": False}, stores))
    assert run["operations"] == check["operations"] and run["values"] == [2, 2], "the state the plan left, read again"
    assert stores["a"].reads - reads == 2, "read once by the plan and once for the result, not planned again"
    assert not e.converge(TwoSteps({"want": 2, "warn": False}, stores))["changed"]


def test_a_batch_whose_apply_fails_names_what_it_applied_before():
    stores = {"a": CountingStore(), "b": CountingStore(fail=True)}
    with pytest.raises(KernelError) as info:
        e.converge(TwoSteps({"want": 2, "warn": False}, stores))
    assert [a["object"] for a in info.value.applied] == ["toy a"] and info.value.operation["object"] == "toy b"
    assert stores["a"].value == 2 and stores["b"].value == 1


def test_a_plan_with_a_warning_is_made_again_step_by_step():
    stores = {"a": CountingStore(), "b": CountingStore()}
    run = e.converge(TwoSteps({"want": 2, "warn": True}, stores))
    assert run["values"] == [2, 2] and not run.get("warnings"), "the real run plans again and warns of nothing"
    assert stores["b"].reads == 3, "read by the plan, by the run's own plan of the step, and for the result"
