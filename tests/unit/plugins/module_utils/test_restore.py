# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time restore: the saved declaration is pinned to what the host has, the restore makes
the same host from it after a reboot, and the command runs without Ansible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration, _restore
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.boot_restore import BootRestore
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks
from ansible_collections.netmodes.linux.plugins.modules.sandboxes import Sandboxes

NETWORKS = [{"name": "br0"}, {"name": "back", "subnet": "172.30.0.0/24", "internal": True}]
SANDBOXES = [
    {"name": "web", "network_mode": "br0", "publish": ["8080:80"], "hostname": "web1"},
    {"name": "db", "network_mode": "br0", "networks": ["back"], "aliases": ["database"]},
    {"name": "side", "network_mode": "container:web"},
    {"name": "quiet", "network_mode": "none"},
    {"name": "legacy", "network_mode": "bridge"},
    {"name": "web2", "network_mode": "host", "ports": [9090]},
]
PATHS = {"path": "/etc/netmodes/declared.json", "command": "/usr/local/lib/netmodes/netmodes-restore"}
# A host of a two-host fleet: the bridge networks above, an overlay and a macvlan network (with the
# host's shim) that span both hosts, sandboxes on each, one of them on all three kinds.
OVERLAY = {"name": "ov0", "driver": "overlay", "hosts": "ov", "subnet": "10.231.200.0/24"}
LAN = {"name": "lan", "driver": "macvlan", "hosts": "ov", "parent": "eth0", "subnet": "10.231.1.0/24", "gateway": "10.231.1.1",
       "ip_range": "10.231.1.128/25", "max_hosts": 8, "shim": True}
SPANNING = NETWORKS + [OVERLAY, LAN]
ACROSS = {"sim1": SANDBOXES + [{"name": "o1", "network_mode": "ov0", "aliases": ["api"]}, {"name": "m1", "network_mode": "lan"},
                               {"name": "all3", "network_mode": "br0", "networks": ["ov0", "lan"]}],
          "sim2": [{"name": "o2", "network_mode": "ov0"}, {"name": "m2", "network_mode": "lan"}]}
FLEET = {"host": "sim1", "groups": {"ov": ["sim1", "sim2"]},
         "hosts": {h: {"index": None, "underlay": "10.231.1.1%s" % h[3:], "sandboxes": ACROSS[h]} for h in ACROSS}}


@pytest.fixture
def host(converge, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"

    def declare(networks=None, sandboxes=None, **kwargs):
        networks, sandboxes = networks or NETWORKS, sandboxes or SANDBOXES
        converge(Networks, config=networks)
        converge(Sandboxes, config=sandboxes, networks=networks, **kwargs)
        return converge(BootRestore, networks=networks, sandboxes=sandboxes, **PATHS)

    return declare


def saved(files):
    return json.loads(files.host[PATHS["path"]])


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


def lab_cable(kernel):
    """The host's eth0 with its underlay address, there at boot as before."""
    kernel.links[(None, "eth0")] = Link("eth0", 90, "veth", 1500, "02:00:00:00:00:90", True, addresses=interfaces(["10.231.1.11/24"], "a"))
    return kernel


@pytest.fixture
def spanning(converge, kernel, files):
    """sim1 as the site builds it: networks and sandboxes with the fleet, then boot_restore with it."""
    lab_cable(kernel)
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    assert converge(Networks, config=SPANNING, fleet=FLEET)["changed"]
    assert converge(Sandboxes, config=ACROSS["sim1"], networks=SPANNING, fleet=FLEET)["changed"]
    return converge(BootRestore, networks=SPANNING, sandboxes=ACROSS["sim1"], fleet=FLEET, **PATHS)


def test_saving_is_idempotent_and_check_mode_writes_nothing(host, converge, files, four_steps):
    host()
    for path in (PATHS["path"], PATHS["command"], "/etc/systemd/system/netmodes-restore.service"):
        files.host.pop(path)
    files.links.clear()
    first = four_steps(BootRestore, networks=NETWORKS, sandboxes=SANDBOXES, **PATHS)
    objects = [op["object"] for op in first["operations"]]
    assert objects == ["file /etc/netmodes/declared.json", "file /usr/local/lib/netmodes/netmodes-restore",
                       "file /etc/systemd/system/netmodes-restore.service",
                       "link /etc/systemd/system/multi-user.target.wants/netmodes-restore.service"], objects
    assert files.links["/etc/systemd/system/multi-user.target.wants/netmodes-restore.service"] == "/etc/systemd/system/netmodes-restore.service"
    assert ("write_host_file", PATHS["command"], 0o755) in files.calls


def test_the_declaration_is_pinned_to_what_the_host_chose(host, files):
    result = host()
    doc = saved(files)
    assert doc["format"] == 1 and doc["firewall_backend"] == "auto"
    assert result["declared"] == {"networks": doc["networks"], "sandboxes": doc["sandboxes"]}
    assert doc["networks"] == [{"name": "br0", "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"},
                               {"name": "back", "subnet": "172.30.0.0/24", "internal": True},
                               {"name": "bridge", "subnet": "172.18.0.0/16", "gateway": "172.18.0.1"}], \
        "auto-picked subnets are pinned; Docker's default network is added since legacy uses it"
    boxes = {s["name"]: s for s in doc["sandboxes"]}
    assert boxes["web"]["ip"] == "172.17.0.2" and boxes["legacy"]["ip"] == "172.18.0.2"
    assert boxes["db"]["ip"] == "172.17.0.3" and boxes["db"]["networks"] == [{"name": "back", "ip": "172.30.0.2"}]
    assert boxes["side"] == SANDBOXES[2] and boxes["quiet"] == SANDBOXES[3] and boxes["web2"] == SANDBOXES[5]


def test_after_a_reboot_the_restore_makes_the_same_host(host, adapters, files, rebooted):
    # Addresses depend on history: a came and went, so c got a's address and b kept its own.
    host(sandboxes=SANDBOXES + [{"name": "a", "network_mode": "br0"}, {"name": "b", "network_mode": "br0"}])
    host(sandboxes=SANDBOXES + [{"name": "b", "network_mode": "br0"}, {"name": "c", "network_mode": "br0"},
                                {"name": "a", "network_mode": "br0", "state": "absent"}])
    before, before_files = state(adapters), dict(files.files)
    assert before["links"][("c", "eth0")]["addresses"] == ["172.17.0.4/16"] and before["links"][("b", "eth0")]["addresses"] == ["172.17.0.5/16"]
    after = rebooted
    result = _restore.restore(saved(files), after)
    assert result["changed"] and not result["warnings"], result["warnings"]
    have = state(after)
    assert have == before, json.dumps([(str(k), before["links"].get(k), have["links"].get(k)) for k in set(before["links"]) | set(have["links"])
                                       if before["links"].get(k) != have["links"].get(k)], default=str)
    assert files.files == before_files, "the sandboxes' files are as they were"
    assert not _restore.restore(saved(files), after)["changed"], "a second restore changes nothing"


def test_a_host_on_overlay_and_macvlan_networks_comes_back_after_a_reboot(spanning, adapters, files, rebooted):
    assert not spanning.get("warnings"), spanning["warnings"]
    doc = saved(files)
    assert doc["fleet"] == FLEET, "the fleet the host's multi-host networks need is saved with them"
    assert {s["name"]: s for s in doc["sandboxes"]}["o1"] == ACROSS["sim1"][6], "an overlay member's address comes from the fleet, unpinned"
    before, before_files = state(adapters), dict(files.files)
    assert ("o1", "eth0") in before["links"] and ("m1", "eth0") in before["links"] and ("all3", "eth2") in before["links"]
    result = _restore.restore(doc, {**rebooted, "netlink": lab_cable(rebooted["netlink"])})
    assert result["changed"] and not result["warnings"], result["warnings"]
    have = state(rebooted)
    links = [(str(k), before["links"].get(k), have["links"].get(k)) for k in set(before["links"]) | set(have["links"])
             if before["links"].get(k) != have["links"].get(k)]
    assert have == before, json.dumps(links + [(k, before[k], have[k]) for k in before if k != "links" and before[k] != have[k]], default=str)
    assert files.files == before_files, "the sandboxes' files (hosts with the other host's members) are as they were"
    again = _restore.restore(doc, rebooted)
    assert not again["changed"], again["operations"]


@pytest.mark.parametrize("check", [False, True])
def test_a_declaration_the_restore_could_not_make_fails_the_task_not_the_boot(spanning, converge, files, check):
    files.host.pop(PATHS["path"])
    with pytest.raises(InvalidInput) as caught:  # no fleet: the restore could not make the overlay's part of this host
        converge(BootRestore, check=check, networks=SPANNING, sandboxes=ACROSS["sim1"], **PATHS)
    assert "cannot be restored at boot" in caught.value.msg and "needs the fleet option" in caught.value.msg, caught.value.msg
    assert PATHS["path"] not in files.host, "nothing is saved"


def test_an_error_names_the_variable_the_roles_say_the_entry_came_from(refused):
    bad = SANDBOXES + [{"name": "x", "network_mode": "br0", "publish": "8090:80"}]
    refused(BootRestore, InvalidInput, r"^netmodes_sandboxes\[6\] \(x\): publish: '8090:80' is a string, not a list", networks=NETWORKS,
            sandboxes=bad, declared_in={"sandboxes": "netmodes_sandboxes", "networks": "netmodes_networks"}, **PATHS)
    refused(BootRestore, InvalidInput, r"^sandboxes\[6\] \(x\): publish: ", networks=NETWORKS, sandboxes=bad, **PATHS)


def test_check_mode_does_not_fail_on_what_only_the_run_changes(host, converge, files):
    """A port moving from web to www: in check mode the host still has web holding it, so the
    restore's own check is left to the real run (with a warning); the real run, on the host it
    made, saves the file. Checked before the sandboxes moved, the run fails and saves nothing."""
    host()
    moved = [dict(s, name="www") if s["name"] == "web" else dict(s, network_mode="container:www") if s["name"] == "side" else s
             for s in SANDBOXES]
    before = files.host[PATHS["path"]]
    check = converge(BootRestore, check=True, networks=NETWORKS, sandboxes=moved, **PATHS)
    assert check["changed"] and any("checked by the real run" in w and "8080/tcp" in w for w in check["warnings"]), check["warnings"]
    assert files.host[PATHS["path"]] == before
    with pytest.raises(InvalidInput, match="cannot be restored at boot.*8080/tcp"):
        converge(BootRestore, networks=NETWORKS, sandboxes=moved, **PATHS)
    assert files.host[PATHS["path"]] == before
    converge(Sandboxes, config=moved, networks=NETWORKS, state="overridden")
    assert converge(BootRestore, networks=NETWORKS, sandboxes=moved, **PATHS)["changed"]
    assert [s["name"] for s in saved(files)["sandboxes"]].count("www") == 1


def test_the_diff_shows_the_file_before_the_write(host, converge, files):
    host()
    old = files.host[PATHS["path"]]
    result = converge(BootRestore, networks=NETWORKS, sandboxes=SANDBOXES[:5] + [dict(SANDBOXES[5], state="absent")], **PATHS)
    (declared,) = [d for d in result["diff"] if d["after_header"] == PATHS["path"]]
    assert declared["before"] == old.decode(), "the file before the write"
    assert declared["after"] == files.host[PATHS["path"]].decode() != old.decode(), "the file after it"


def test_the_saved_fleet_keeps_what_the_saved_networks_name():
    other = {"name": "far", "driver": "overlay", "hosts": ["sim1", "sim3"], "subnet": "10.231.202.0/24"}
    old = {"host": "sim1", "groups": {}, "hosts": {"sim3": {"underlay": "10.231.1.13"}, "sim9": {}}}
    fleet = _restore.saved_fleet(SPANNING + [other], FLEET, old)
    assert fleet == {"host": "sim1", "groups": FLEET["groups"], "hosts": dict(FLEET["hosts"], sim3={"underlay": "10.231.1.13"})}
    assert _restore.saved_fleet(NETWORKS, FLEET, old) == {}, "no network spans hosts: no fleet"


def test_the_file_keeps_other_runs_sandboxes_while_they_exist(host, converge, kernel, files):
    host()
    other = [{"name": "cache", "network_mode": "br0"}]
    converge(Sandboxes, config=other, networks=NETWORKS)
    converge(BootRestore, networks=NETWORKS, sandboxes=other, **PATHS)
    names = [s["name"] for s in saved(files)["sandboxes"]]
    assert names == ["web", "db", "side", "quiet", "legacy", "web2", "cache"], "the first run's entries are kept, in place"
    assert not converge(BootRestore, networks=NETWORKS, sandboxes=SANDBOXES, **PATHS)["changed"], "runs take turns without a change"
    assert not converge(BootRestore, networks=NETWORKS, sandboxes=other, **PATHS)["changed"]
    converge(Sandboxes, config=SANDBOXES[:4], networks=NETWORKS, state="overridden")  # prunes cache, legacy, web2
    converge(BootRestore, networks=NETWORKS, sandboxes=SANDBOXES[:4], **PATHS)
    assert [s["name"] for s in saved(files)["sandboxes"]] == ["web", "db", "side", "quiet"]
    assert [n["name"] for n in saved(files)["networks"]] == ["br0", "back"], "the default network went with its last member"


def test_sandboxes_the_restore_could_not_make_are_left_out_with_a_warning(host, converge, kernel, files):
    host()
    converge(Networks, config=[{"name": "lone", "subnet": "172.29.0.0/24"}])  # exists, but is not declared
    extra = [{"name": "x", "network_mode": "lone"}, {"name": "y", "network_mode": "container:x"}]
    converge(Sandboxes, config=extra, networks=NETWORKS)
    result = converge(BootRestore, networks=NETWORKS, sandboxes=SANDBOXES + extra, **PATHS)
    assert "x" not in json.dumps(saved(files)["sandboxes"]).replace("sandboxes", "")
    text = json.dumps(result["warnings"])
    assert "sandbox x is left out of the saved declaration: its network lone is not declared" in text
    assert "sandbox y is left out of the saved declaration: it shares x" in text


def test_absent_removes_what_it_installed(host, converge, files):
    host()
    result = converge(BootRestore, state="absent", **PATHS)
    assert result["changed"] and PATHS["path"] not in files.host and PATHS["command"] not in files.host
    assert "/etc/systemd/system/netmodes-restore.service" not in files.host and files.links == {}
    assert not converge(BootRestore, state="absent", **PATHS)["changed"]


# -- only files of its own (issue 13, item 7) -----------------------------------------------------

UNIT_PATH = "/etc/systemd/system/netmodes-restore.service"
WANTS = "/etc/systemd/system/multi-user.target.wants/netmodes-restore.service"


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("key, path", [("path", "/etc/passwd"), ("command", "/usr/local/bin/tool")])
def test_a_file_it_did_not_make_is_never_replaced_nor_removed(host, converge, files, state, key, path):
    host()
    files.host[path] = "root:x:0:0:root:/root:/bin/bash\n"
    before = dict(files.host), dict(files.links)
    with pytest.raises(Conflict) as info:
        converge(BootRestore, networks=NETWORKS, sandboxes=SANDBOXES, state=state, **dict(PATHS, **{key: path}))
    assert info.value.msg.startswith("%s exists and was not made by netmodes.linux (boot_restore). Nothing was changed" % path)
    assert info.value.field == key and ("choose another %s" % key) in info.value.msg
    assert (dict(files.host), dict(files.links)) == before, "nothing written, nothing removed (not even its own files)"


@pytest.mark.parametrize("where, entry", [
    ("path", {"host": "{\"written_by\": \"someone\"}"}),
    ("path", {"owner": 1000}),                            # our content, but a user's file: anybody's
    ("unit", {"host": "[Unit]\nDescription=theirs\n"}),
    ("unit", {"link": "/lib/systemd/system/other.service"}),
    ("wants", {"link": "/lib/systemd/system/other.service"}),
    ("wants", {"host": "a file where the link goes"}),
], ids=["declaration of another", "declaration of a user", "unit of another", "unit is a link", "wants elsewhere", "wants a file"])
def test_what_is_recognised_as_its_own(host, converge, files, where, entry):
    host()
    path = {"path": PATHS["path"], "unit": UNIT_PATH, "wants": WANTS}[where]
    if "owner" in entry:
        files.owners[path] = entry["owner"]
    if "host" in entry:
        files.links.pop(path, None)
        files.host[path] = entry["host"]
    if "link" in entry:
        files.host.pop(path, None)
        files.links[path] = entry["link"]
    before = dict(files.host), dict(files.links)
    for state in ("present", "absent"):
        with pytest.raises(Conflict, match="^%s exists and was not made by netmodes.linux" % path):
            converge(BootRestore, networks=NETWORKS, sandboxes=SANDBOXES, state=state, **PATHS)
    assert (dict(files.host), dict(files.links)) == before


def test_a_path_other_users_could_change_is_refused(host, converge, files):
    host()
    files.unsafe["/home/joe"] = "/home/joe belongs to uid 1000"
    before = dict(files.host)
    with pytest.raises(InvalidInput) as info:
        converge(BootRestore, networks=NETWORKS, sandboxes=SANDBOXES, **dict(PATHS, command="/home/joe/bin/restore"))
    assert info.value.field == "command" and info.value.msg == (
        "command: /home/joe/bin/restore: /home/joe belongs to uid 1000; the restore runs as root at boot, so its files must be"
        " where no other user can change them: choose another command")
    assert files.host == before


def test_its_directory_goes_only_when_it_is_one_of_its_own(host, converge, files):
    host()
    ops = converge(BootRestore, state="absent", check=True, **dict(PATHS, path="/etc/declared.json"))["operations"]
    assert [op["object"] for op in ops][:2] == ["file /usr/local/lib/netmodes/netmodes-restore", "file %s" % UNIT_PATH]


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


def run_without_ansible(installed, *args):
    """Run the command with every `import ansible...` failing, as on a host without Ansible."""
    code = ("import runpy, sys; sys.modules['ansible'] = None; sys.argv = %r;"
            "import importlib; importlib.invalidate_caches(); runpy.run_path(sys.argv[0], run_name='__main__')" % ([str(installed)] + list(args)))
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


def test_the_command_explains_a_damaged_file(installed, tmp_path):
    bad = tmp_path / "declared.json"
    bad.write_text("{")
    proc = run_without_ansible(installed, "--file", str(bad))
    assert proc.returncode == 1 and "is not valid JSON" in proc.stderr and "run the site playbook again" in proc.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    unit = tmp_path / _restore.UNIT
    unit.write_text(_restore.unit(sys.executable, "/usr/local/lib/netmodes/netmodes-restore", "/etc/netmodes/declared.json"))
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    text = unit.read_text()
    for line in ("Type=oneshot", "After=network-pre.target", "Before=network-online.target", "WantedBy=multi-user.target",
                 "ExecStart=%s /usr/local/lib/netmodes/netmodes-restore --file /etc/netmodes/declared.json" % sys.executable):
        assert line in text, line
    assert _declaration.DEFAULT_BRIDGE not in text
