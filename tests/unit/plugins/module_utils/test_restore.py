# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time restore (_restore.py): the saved declaration is pinned to what the host has, the
restore makes the same host from it after a reboot, and the command runs without Ansible. The
module that saves it (boot_restore) is tested in tests/unit/plugins/modules/test_boot_restore.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration, _restore, _restore_units
from ansible_collections.netmodes.linux.plugins.module_utils._batches.restore import restore
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils import restore_cases
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils.restore_cases import (
    ACROSS,
    FLEET,
    NETWORKS,
    SANDBOXES,
    SPANNING,
    lab_cable,
    saved,
)

# The shared fixtures, bound here so that pytest finds them for this file's tests.
host, spanning = restore_cases.host, restore_cases.spanning


def _firewall(fake):
    """The whole firewall a fake holds, read from the fake's own memory (not through the product's
    parsers): nftables objects sorted, each chain's rules in order; iptables chains and hooks."""
    if fake.name == "iptables":
        return {"chains": {" ".join(k): v for k, v in fake.chains.items()}, "hooks": {" ".join(k): v for k, v in fake.hooks.items() if v}}
    items = (fake.listing or {"nftables": []})["nftables"]
    rules = {}
    for item in items:
        if "rule" in item:
            rules.setdefault(item["rule"]["chain"], []).append(json.dumps(item["rule"], sort_keys=True))
    objects = sorted(json.dumps(item, sort_keys=True) for item in items if "rule" not in item)
    return {"objects": objects, "rules": rules}


def state(adapters):
    """What a reboot loses and the restore must bring back: every field of every link but what the
    kernel picks (indexes, MACs, namespace inodes), the whole firewall, claims and sysctls."""
    net = adapters["netlink"]
    by_inode = {net.netns_inode(n): n for n in net.netns_names()}
    links = {}
    for where in [None] + net.netns_names():
        for link in net.all_links(where):
            fields = {k: v for k, v in vars(link).items() if k not in ("index", "mac", "peer_index", "peer_netns")}
            fields["peer_netns"] = by_inode.get(link.peer_netns, link.peer_netns and "another")
            fields["addresses"], fields["routes"] = sorted(map(str, link.addresses)), sorted(map(str, link.routes))
            links[(where, link.name)] = fields
    return {"links": links, "netns": {n: net.netns_owned(n) for n in net.netns_names()},
            "shared": sorted(n for n in net.netns_names() if net.netns_inode(n) == net.netns_inode("web")),
            "firewall": _firewall(adapters["firewall"]),
            "claims": adapters["sockets"].claims(), "sysctl": dict(adapters["sysctl"].values), "ledger": adapters["sysctl"].ledger()}


def test_the_declaration_is_pinned_to_what_the_host_chose(host, files):
    result = host()
    doc = saved(files)
    assert doc["format"] == 1 and doc["firewall_backend"] == "auto"
    assert result["declared"] == {"networks": doc["networks"], "sandboxes": doc["sandboxes"]}
    assert doc["networks"] == [{"name": "br0", "subnet": "172.18.0.0/16", "gateway": "172.18.0.1"},
                               {"name": "back", "subnet": "172.30.0.0/24", "internal": True},
                               {"name": "bridge", "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"}], \
        "auto-picked subnets are pinned; Docker's default network is added since legacy uses it"
    boxes = {s["name"]: s for s in doc["sandboxes"]}
    assert boxes["web"]["ip"] == "172.18.0.2" and boxes["legacy"]["ip"] == "172.17.0.2"
    assert boxes["db"]["ip"] == "172.18.0.3" and boxes["db"]["networks"] == [{"name": "back", "ip": "172.30.0.2"}]
    assert boxes["side"] == SANDBOXES[2] and boxes["quiet"] == SANDBOXES[3] and boxes["web2"] == SANDBOXES[5]


def test_after_a_reboot_the_restore_makes_the_same_host(host, adapters, files, rebooted):
    # Addresses depend on history: a came and went, so c got a's address and b kept its own.
    host(sandboxes=SANDBOXES + [{"name": "a", "network_mode": "br0"}, {"name": "b", "network_mode": "br0"}])
    host(sandboxes=SANDBOXES + [{"name": "b", "network_mode": "br0"}, {"name": "c", "network_mode": "br0"},
                                {"name": "a", "network_mode": "br0", "state": "absent"}])
    before, before_files = state(adapters), dict(files.files)
    assert before["links"][("c", "eth0")]["addresses"] == ["172.18.0.4/16"] and before["links"][("b", "eth0")]["addresses"] == ["172.18.0.5/16"]
    after = rebooted
    result = restore(saved(files), after)
    assert result["changed"] and not result["warnings"], result["warnings"]
    have = state(after)
    assert have == before, json.dumps([(str(k), before["links"].get(k), have["links"].get(k)) for k in set(before["links"]) | set(have["links"])
                                       if before["links"].get(k) != have["links"].get(k)], default=str)
    assert files.files == before_files, "the sandboxes' files are as they were"
    assert not restore(saved(files), after)["changed"], "a second restore changes nothing"


def test_a_host_on_overlay_and_macvlan_networks_comes_back_after_a_reboot(spanning, adapters, files, rebooted):
    assert not spanning.get("warnings"), spanning["warnings"]
    doc = saved(files)
    assert doc["fleet"] == FLEET, "the fleet the host's multi-host networks need is saved with them"
    assert {s["name"]: s for s in doc["sandboxes"]}["o1"] == ACROSS["sim1"][6], "an overlay member's address comes from the fleet, unpinned"
    before, before_files = state(adapters), dict(files.files)
    assert ("o1", "eth0") in before["links"] and ("m1", "eth0") in before["links"] and ("all3", "eth2") in before["links"]
    result = restore(doc, {**rebooted, "netlink": lab_cable(rebooted["netlink"])})
    assert result["changed"] and not result["warnings"], result["warnings"]
    have = state(rebooted)
    links = [(str(k), before["links"].get(k), have["links"].get(k)) for k in set(before["links"]) | set(have["links"])
             if before["links"].get(k) != have["links"].get(k)]
    assert have == before, json.dumps(links + [(k, before[k], have[k]) for k in before if k != "links" and before[k] != have[k]], default=str)
    assert files.files == before_files, "the sandboxes' files (hosts with the other host's members) are as they were"
    again = restore(doc, rebooted)
    assert not again["changed"], again["operations"]


def test_check_mode_of_the_restore_plans_every_sysctl_the_restore_claims(spanning, adapters, files, rebooted):
    # The macvlan network's shim is made by the plan itself and is an uplink of published ports:
    # check mode must see the address the plan gives it, or it would not claim its forwarding
    # (and a real run, which applies check mode's plan, would not either).
    before = state(adapters)
    check = restore(saved(files), {**rebooted, "netlink": lab_cable(rebooted["netlink"])}, check_mode=True)
    assert not check["warnings"], check["warnings"]
    claimed = {op["field"] for op in check["operations"] if op["object"] == "sysctl"}
    assert claimed == {key.replace("/", ".") for key in before["ledger"]}
    assert any(".nms" in key for key in claimed), "the shim's forwarding is among them"


def test_the_saved_fleet_keeps_what_the_saved_networks_name():
    other = {"name": "far", "driver": "overlay", "hosts": ["sim1", "sim3"], "subnet": "10.231.202.0/24"}
    old = {"host": "sim1", "groups": {}, "hosts": {"sim3": {"underlay": "10.231.1.13"}, "sim9": {}}}
    fleet = _restore.saved_fleet(SPANNING + [other], FLEET, old)
    assert fleet == {"host": "sim1", "groups": FLEET["groups"], "hosts": dict(FLEET["hosts"], sim3={"underlay": "10.231.1.13"})}
    assert _restore.saved_fleet(NETWORKS, FLEET, old) == {}, "no network spans hosts: no fleet"


# -- the command ---------------------------------------------------------------------------------

def test_the_command_carries_what_it_imports_and_is_the_same_every_time():
    data = _restore.command("/usr/bin/python3")
    assert data.startswith(b"#!/usr/bin/python3\n") and data == _restore.command("/usr/bin/python3")
    names = zipfile.ZipFile(__import__("io").BytesIO(data)).namelist()
    prefix = "ansible_collections/netmodes/linux/plugins/module_utils/"
    for needed in ("_restore.py", "_batches/sandboxes.py", "_firewall/iptables.py", "_firewall/nftables.py", "_lock.py",
                   "_resources/__init__.py", "_resources/veth.py"):
        assert prefix + needed in names, needed
    assert prefix + "_runner.py" not in names, "the runner is Ansible's side"


@pytest.fixture
def installed(tmp_path):
    path = tmp_path / "netmodes-restore"
    path.write_bytes(_restore.command(sys.executable))
    path.chmod(0o755)
    return path


def run_without_ansible(installed, *args, lock=None):
    """Run the command with every `import ansible...` failing, as on a host without Ansible. LOCK:
    the host's lock it takes (the autouse fixture's file of the test), so that a command that gets
    as far as the lock never makes /run/netmodes on the machine that runs the tests."""
    patch = ("sys.path.insert(0, %r); from ansible_collections.netmodes.linux.plugins.module_utils import _lock;"
             " _lock.LOCK_PATH = %r;" % (str(installed), str(lock))) if lock else ""
    code = ("import runpy, sys; sys.modules['ansible'] = None; %ssys.argv = %r;"
            "import importlib; importlib.invalidate_caches(); runpy.run_path(sys.argv[0], run_name='__main__')"
            % (patch, [str(installed)] + list(args)))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=dict(os.environ, PYTHONPATH=""))


def test_the_command_runs_without_ansible(installed, tmp_path):
    proc = run_without_ansible(installed, "--file", str(tmp_path / "missing.json"))
    assert proc.returncode == 0, proc.stderr
    assert "nothing to restore" in proc.stdout
    probe = ("import sys; sys.modules['ansible'] = None; sys.path.insert(0, %r)\n"
             "from ansible_collections.netmodes.linux.plugins.module_utils import _firewall, _restore\n"
             "from ansible_collections.netmodes.linux.plugins.module_utils._firewall import iptables\n"
             "assert _firewall.backend('iptables').name == 'iptables'\n"
             "assert _restore.__file__.startswith(%r), _restore.__file__\n" % (str(installed), str(installed)))
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, env=dict(os.environ, PYTHONPATH=""))
    assert proc.returncode == 0, proc.stderr


def test_the_command_explains_a_damaged_file(installed, tmp_path, lock_path):
    bad = tmp_path / "declared.json"
    bad.write_text("{")
    proc = run_without_ansible(installed, "--file", str(bad), lock=lock_path)
    assert proc.returncode == 1 and "is not valid JSON" in proc.stderr and "run the site playbook again" in proc.stderr
    bad.write_text("[]")
    proc = run_without_ansible(installed, "--file", str(bad), lock=lock_path)
    assert proc.returncode == 1 and "is not a saved declaration (a JSON object)" in proc.stderr, proc.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    unit = tmp_path / _restore_units.UNIT
    unit.write_text(_restore_units.unit(sys.executable, "/usr/local/lib/netmodes/netmodes-restore", "/etc/netmodes/declared.json"))
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    text = unit.read_text()
    for line in ("Type=oneshot", "After=network-pre.target", "Before=network-online.target", "WantedBy=multi-user.target",
                 "ExecStart=%s /usr/local/lib/netmodes/netmodes-restore --file /etc/netmodes/declared.json" % sys.executable):
        assert line in text, line
    assert _declaration.DEFAULT_BRIDGE not in text
