# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sysctl ledger: every sysctl the collection switches on is recorded with its value before
and its users, and put back when the last user goes; the adapter writes it in a crash-safe order,
root-only whatever the umask."""

from __future__ import annotations

import ipaddress
import json
import os
import stat

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _ledger
from ansible_collections.netmodes.linux.plugins.module_utils import _sysctl as s
from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError
from ansible_collections.netmodes.linux.plugins.module_utils._records import OWNER_TAG, Link

ETH0, ETH1, BR0 = s.forwarding("eth0"), s.forwarding("eth1"), s.forwarding("br0")
LOCALNET = s.route_localnet("br0")


def killed(*_args, **_kwargs):
    """A write that a SIGKILL interrupts: it raises instead of writing."""
    raise KernelError("killed")


def test_a_host_that_forwarded_before_keeps_forwarding_and_is_not_guarded():
    ledger = _ledger.claimed({}, ETH0, "bridge:br0", "1")
    assert _ledger.released(ledger, ETH0, "bridge:br0") == ({}, "1")
    assert s.guarded(ledger) == {"uplinks": (), "uplinks6": (), "localnet": ()}


def test_plan_claims_sets_again_and_releases_as_ops_of_sysctl():
    ledger = {ETH0: {"before": "0", "users": ["bridge:br0"]}, ETH1: {"before": "0", "users": ["netns:web"]}}
    values = {ETH0: "1", ETH1: "1", LOCALNET: "0"}
    ops = s.plan("netns:web", {ETH0: "1", LOCALNET: "1"}, ledger, values)
    assert [(o.action, o.obj, o.field, o.before, o.after, o.call[0]) for o in ops] == [
        ("set", "sysctl", "net.ipv4.conf.br0.route_localnet", {"value": "0", "users": 0},
         {"value": "1", "users": 1, "claimed_by": "netns:web"}, "sysctl.claim"),
        ("set", "sysctl", "net.ipv4.conf.eth0.forwarding", {"value": "1", "users": 1},
         {"value": "1", "users": 2, "claimed_by": "netns:web"}, "sysctl.claim"),
        ("set", "sysctl", "net.ipv4.conf.eth1.forwarding", {"value": "1", "users": 1},
         {"value": "0", "users": 0, "released_by": "netns:web"}, "sysctl.release")]
    after = s.after(ledger, "netns:web", {ETH0: "1", LOCALNET: "1"}, values)
    assert not s.plan("netns:web", {ETH0: "1", LOCALNET: "1"}, after, dict(values, **{LOCALNET: "1", ETH1: "0"}))
    # Someone switched it off behind our back: claimed again (the value before stays recorded).
    (again,) = s.plan("netns:web", {ETH0: "1"}, {ETH0: {"before": "0", "users": ["netns:web"]}}, {ETH0: "0"})
    assert again.call == ("sysctl.claim", {"key": ETH0, "owner": "netns:web", "value": "1"})


def test_after_keeps_the_entry_of_a_key_its_owner_uses_and_adds_the_others():
    users = ["netns:s%d" % i for i in range(200)]  # a host's uplink, every sandbox a user
    ledger = {ETH0: {"before": "0", "users": users}, ETH1: {"before": "0", "users": ["netns:s7"]}}
    after = s.after(ledger, "netns:s7", {ETH0: "1", LOCALNET: "1"}, {LOCALNET: "0"})
    assert after[ETH0] is ledger[ETH0] and ETH1 not in after
    assert after[LOCALNET] == {"before": "0", "users": ["netns:s7"]}
    assert s.after(ledger, "netns:new", {ETH0: "1"}, {})[ETH0]["users"] == sorted(users + ["netns:new"])


def test_the_guard_covers_uplinks_and_route_localnet_we_switched_but_not_our_bridges():
    ledger = {BR0: {"before": "0", "users": ["bridge:br0", "netns:web"]}, ETH0: {"before": "0", "users": ["bridge:br0"]},
              ETH1: {"before": "1", "users": ["bridge:br0"]}, LOCALNET: {"before": "0", "users": ["netns:web"]},
              s.forwarding("br0", 6): {"before": "0", "users": ["bridge:br0"]}}
    assert s.guarded(ledger) == {"uplinks": ("eth0",), "uplinks6": (), "localnet": ("br0",)}
    assert s.bridges(ledger) == {"br0"} and s.users(ledger) == {"bridge:br0", "netns:web"}


def _link(name, index, kind, cidr, alias=""):
    return Link(name, index, kind, 1500, "02:00:00:00:00:%02x" % index, True, alias=alias, addresses=frozenset({ipaddress.ip_interface(cidr)}))


def test_uplinks_leave_out_lo_and_our_bridges_by_their_tag_whatever_the_ledger_says(kernel):
    """br1 is ours but not in the ledger: a run killed between its address and its claim (or
    between its release and its removal) left it so. lan is a bridge, but not ours."""
    ours = "%s bridge" % OWNER_TAG
    for index, (name, kind, cidr, alias) in enumerate([
            ("eth0", "", "10.231.1.11/24", ""), ("br0", "bridge", "10.231.172.1/24", ours), ("br1", "bridge", "10.231.173.1/24", ours),
            ("lan", "bridge", "10.231.174.2/24", ""), ("v6", "", "fd31::1/64", "")], start=2):
        kernel.links[(None, name)] = _link(name, index, kind, cidr, alias)
    kernel.links[(None, "lo")] = _link("lo", 1, "", "127.0.0.1/8")
    ledger = {BR0: {"before": "0", "users": ["bridge:br0"]}}
    addrs = s.uplink_addresses(kernel, ledger)
    assert sorted(addrs) == ["eth0", "lan", "v6"]
    assert s.uplink_addresses(kernel, {}) == addrs, "the ledger only saves reads"
    assert s.uplinks(addrs) == [ETH0, s.forwarding("lan")]
    assert s.uplinks(addrs, only={ipaddress.ip_address("10.231.1.11")}) == [ETH0]


@pytest.fixture
def adapter(tmp_path):
    proc = tmp_path / "proc"
    for key in (ETH0, LOCALNET):
        (proc / key).parent.mkdir(parents=True, exist_ok=True)
        (proc / key).write_text("0\n")
    return s.Sysctl(ledger=str(tmp_path / "run" / "sysctl.json"), root=str(proc))


def test_the_adapter_records_before_it_sets_root_only_whatever_the_umask(adapter, monkeypatch):
    old = os.umask(0)
    try:
        monkeypatch.setattr(s.Sysctl, "set", killed)
        with pytest.raises(KernelError):
            adapter.claim(ETH0, "bridge:br0", "1")
    finally:
        os.umask(old)
    assert adapter.ledger() == {ETH0: {"before": "0", "users": ["bridge:br0"]}}, "the record comes first"
    assert stat.S_IMODE(os.stat(adapter.path).st_mode) == 0o600
    assert adapter.get(ETH0) == "0"


def test_the_adapter_puts_back_before_it_forgets(adapter, monkeypatch):
    adapter.claim(ETH0, "bridge:br0", "1")
    adapter.claim(ETH0, "netns:web", "1")
    adapter.release(ETH0, "bridge:br0")
    assert adapter.get(ETH0) == "1" and adapter.ledger()[ETH0]["users"] == ["netns:web"]
    monkeypatch.setattr(s.Sysctl, "_write", killed)
    with pytest.raises(KernelError):
        adapter.release(ETH0, "netns:web")
    assert adapter.get(ETH0) == "0", "the value goes back first"
    assert adapter.ledger()[ETH0]["users"] == ["netns:web"], "a run killed here releases again"
    monkeypatch.undo()
    adapter.release(ETH0, "netns:web")
    assert adapter.get(ETH0) == "0" and not os.path.exists(adapter.path), "the last entry takes the file with it"


def test_a_key_whose_interface_is_gone_is_forgotten(adapter):
    gone = s.forwarding("br9")
    adapter._write({gone: {"before": "0", "users": ["bridge:br9"]}})
    adapter.release(gone, "bridge:br9")
    assert adapter.ledger() == {}


@pytest.mark.parametrize("text", [
    "not json",
    json.dumps({"net/ipv4/ip_forward": {"before": "0", "users": ["bridge:br0"]}}),
    json.dumps({"kernel/../../etc/x/forwarding": {"before": "0", "users": []}}),
    json.dumps({ETH0: {"before": "0; reboot", "users": ["bridge:br0"]}}),
    json.dumps({ETH0: {"before": "0", "users": "bridge:br0"}}),
])
def test_a_damaged_ledger_is_refused_naming_it(adapter, text):
    os.makedirs(os.path.dirname(adapter.path))
    with open(adapter.path, "w") as handle:
        handle.write(text)
    with pytest.raises(KernelError, match="the sysctl ledger .*sysctl.json is damaged"):
        adapter.ledger()


def test_ipv6_forwarding_is_force_forwarding_of_one_interface_never_all():
    """Linux 6.17's force_forwarding forwards what comes in on one interface; IPv6's per-interface
    "forwarding" does not forward, and all/forwarding would make the host a router everywhere."""
    assert s.forwarding("eth0", 6) == "net/ipv6/conf/eth0/force_forwarding"
    assert s.forwarding("eth0") == "net/ipv4/conf/eth0/forwarding"
    old = "net/ipv6/conf/br0/forwarding"   # what an earlier version claimed for a bridge's IPv6: put back
    ledger = s.parse(json.dumps({s.forwarding("eth0", 6): {"before": "0", "users": ["netns:web"]}, old: {"before": "0", "users": ["bridge:br0"]}}))
    assert s.guarded(ledger) == {"uplinks": (), "uplinks6": ("eth0",), "localnet": ()}
    assert not s.KEY.match("net/ipv6/conf/all/disable_ipv6")


def test_the_guard_covers_ipv6_uplinks_we_switched_but_not_our_bridges():
    six = {name: s.forwarding(name, 6) for name in ("eth0", "eth1", "br0")}
    ledger = {six["eth0"]: {"before": "0", "users": ["bridge:br0"]}, six["eth1"]: {"before": "1", "users": ["bridge:br0"]},
              six["br0"]: {"before": "0", "users": ["bridge:br0"]}, ETH1: {"before": "0", "users": ["bridge:br0"]}}
    assert s.guarded(ledger) == {"uplinks": ("eth1",), "uplinks6": ("eth0",), "localnet": ()}
    assert s.bridges(ledger) == {"br0"}


def test_ipv6_uplinks_are_links_with_an_ipv6_address_not_link_local(kernel):
    links = [("eth0", "10.231.1.11/24"), ("eth1", "fd31:9b5e:c207:1::11/64"), ("ll", "fe80::1/64")]
    for index, (name, cidr) in enumerate(links, start=2):
        kernel.links[(None, name)] = _link(name, index, "", cidr)
    addrs = s.uplink_addresses(kernel, {})
    assert sorted(addrs) == ["eth0", "eth1"]
    assert s.uplinks(addrs) == [ETH0]
    assert s.uplinks(addrs, version=6) == [s.forwarding("eth1", 6)]
    assert s.uplinks(addrs, only={ipaddress.ip_address("fd31:9b5e:c207:1::11")}, version=6) == [s.forwarding("eth1", 6)]
    assert s.uplinks(addrs, only={ipaddress.ip_address("fd31:9b5e:c207:1::12")}, version=6) == []


def test_the_ledger_is_read_once_and_again_after_each_write(tmp_path):
    # A host's every portmap reads the ledger: the adapter keeps what it read, and a write of its
    # own (the only writer under the host's lock) makes it read the file again.
    proc = tmp_path / "proc" / "net" / "ipv4" / "conf" / "br0"
    proc.mkdir(parents=True)
    (proc / "forwarding").write_text("0\n")
    adapter = s.Sysctl(ledger=str(tmp_path / "run" / "sysctl.json"), root=str(tmp_path / "proc"))
    assert adapter.ledger() == {}
    adapter.claim("net/ipv4/conf/br0/forwarding", "bridge:br0", "1")
    first = adapter.ledger()
    assert first == {"net/ipv4/conf/br0/forwarding": {"before": "0", "users": ["bridge:br0"]}}
    assert adapter.ledger() is first
    adapter.release("net/ipv4/conf/br0/forwarding", "bridge:br0")
    assert adapter.ledger() == {} and (proc / "forwarding").read_text() == "0"
