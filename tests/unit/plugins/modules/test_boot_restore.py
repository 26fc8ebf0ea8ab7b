# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot_restore module (_resources/boot_restore.py): it saves a declaration the restore can
make (or fails the task, not the boot), idempotently, and writes and removes only files of its own.
The restore itself is tested in tests/unit/plugins/module_utils/test_restore.py."""

from __future__ import annotations

import json

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._batches.restore import HostPlan, SavedDeclaration
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._restore_units import FIREWALLS
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils import restore_cases
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils.restore_cases import ACROSS, NETWORKS, PATHS, SANDBOXES, SPANNING, saved

# The shared fixtures, bound here so that pytest finds them for this file's tests.
host, spanning = restore_cases.host, restore_cases.spanning


def test_saving_is_idempotent_and_check_mode_writes_nothing(host, converge, files, four_steps):
    host()
    for path in (PATHS["path"], PATHS["command"], "/etc/systemd/system/netmodes-restore.service"):
        files.host.pop(path)
    files.links.clear()
    first = four_steps(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, **PATHS)
    objects = [op["object"] for op in first["operations"]]
    assert objects == ["file /etc/netmodes/declared.json", "file /usr/local/lib/netmodes/netmodes-restore",
                       "file /etc/systemd/system/netmodes-restore.service",
                       "link /etc/systemd/system/multi-user.target.wants/netmodes-restore.service"] + [
        "link /etc/systemd/system/%s.wants/netmodes-restore.service" % unit for unit in FIREWALLS], objects
    assert files.links["/etc/systemd/system/multi-user.target.wants/netmodes-restore.service"] == "/etc/systemd/system/netmodes-restore.service"
    assert ("write_host_file", PATHS["command"], 0o755) in files.calls


@pytest.mark.parametrize("check", [False, True])
def test_a_declaration_the_restore_could_not_make_fails_the_task_not_the_boot(spanning, converge, files, check):
    files.host.pop(PATHS["path"])
    with pytest.raises(InvalidInput) as caught:  # no fleet: the restore could not make the overlay's part of this host
        converge(SavedDeclaration, check=check, networks=SPANNING, sandboxes=ACROSS["sim1"], **PATHS)
    assert "cannot be restored at boot" in caught.value.msg and "needs the fleet option" in caught.value.msg, caught.value.msg
    assert PATHS["path"] not in files.host, "nothing is saved"


def test_an_error_names_the_variable_the_roles_say_the_entry_came_from(refused):
    bad = SANDBOXES + [{"name": "x", "network_mode": "br0", "publish": "8090:80"}]
    refused(SavedDeclaration, InvalidInput, r"^netmodes_sandboxes\[6\] \(x\): publish: '8090:80' is a string, not a list", networks=NETWORKS,
            sandboxes=bad, declared_in={"sandboxes": "netmodes_sandboxes", "networks": "netmodes_networks"}, **PATHS)
    refused(SavedDeclaration, InvalidInput, r"^sandboxes\[6\] \(x\): publish: ", networks=NETWORKS, sandboxes=bad, **PATHS)


def test_check_mode_does_not_fail_on_what_only_the_run_changes(host, converge, files):
    """A port moving from web to www: in check mode the host still has web holding it, so the
    restore's own check is left to the real run (with a warning); the real run, on the host it
    made, saves the file. Checked before the sandboxes moved, the run fails and saves nothing."""
    host()
    moved = [dict(s, name="www") if s["name"] == "web" else dict(s, network_mode="container:www") if s["name"] == "side" else s
             for s in SANDBOXES]
    before = files.host[PATHS["path"]]
    check = converge(SavedDeclaration, check=True, networks=NETWORKS, sandboxes=moved, **PATHS)
    assert check["changed"] and any("checked by the real run" in w and "8080/tcp" in w for w in check["warnings"]), check["warnings"]
    assert files.host[PATHS["path"]] == before
    with pytest.raises(InvalidInput, match="cannot be restored at boot.*8080/tcp"):
        converge(SavedDeclaration, networks=NETWORKS, sandboxes=moved, **PATHS)
    assert files.host[PATHS["path"]] == before
    converge(Sandboxes, config=moved, networks=NETWORKS, state="overridden")
    assert converge(SavedDeclaration, networks=NETWORKS, sandboxes=moved, **PATHS)["changed"]
    assert [s["name"] for s in saved(files)["sandboxes"]].count("www") == 1


def test_the_diff_shows_the_file_before_the_write(host, converge, files):
    host()
    old = files.host[PATHS["path"]]
    result = converge(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES[:5] + [dict(SANDBOXES[5], state="absent")], **PATHS)
    (declared,) = [d for d in result["diff"] if d["after_header"] == PATHS["path"]]
    assert declared["before"] == old.decode(), "the file before the write"
    assert declared["after"] == files.host[PATHS["path"]].decode() != old.decode(), "the file after it"


def test_the_file_keeps_other_runs_sandboxes_while_they_exist(host, converge, kernel, files):
    host()
    other = [{"name": "cache", "network_mode": "br0"}]
    converge(Sandboxes, config=other, networks=NETWORKS)
    converge(SavedDeclaration, networks=NETWORKS, sandboxes=other, **PATHS)
    names = [s["name"] for s in saved(files)["sandboxes"]]
    assert names == ["web", "db", "side", "quiet", "legacy", "web2", "cache"], "the first run's entries are kept, in place"
    assert not converge(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, **PATHS)["changed"], "runs take turns without a change"
    assert not converge(SavedDeclaration, networks=NETWORKS, sandboxes=other, **PATHS)["changed"]
    converge(Sandboxes, config=SANDBOXES[:4], networks=NETWORKS, state="overridden")  # prunes cache, legacy, web2
    converge(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES[:4], **PATHS)
    assert [s["name"] for s in saved(files)["sandboxes"]] == ["web", "db", "side", "quiet"]
    assert [n["name"] for n in saved(files)["networks"]] == ["br0", "back"], "the default network went with its last member"


def test_sandboxes_the_restore_could_not_make_are_left_out_with_a_warning(host, converge, kernel, files):
    host()
    converge(Networks, config=[{"name": "lone", "subnet": "172.29.0.0/24"}])  # exists, but is not declared
    extra = [{"name": "x", "network_mode": "lone"}, {"name": "y", "network_mode": "container:x"}]
    converge(Sandboxes, config=extra, networks=NETWORKS)
    result = converge(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES + extra, **PATHS)
    assert "x" not in json.dumps(saved(files)["sandboxes"]).replace("sandboxes", "")
    text = json.dumps(result["warnings"])
    assert "sandbox x is left out of the saved declaration: its network lone is not declared" in text
    assert "sandbox y is left out of the saved declaration: it shares x" in text


def test_absent_removes_what_it_installed(host, converge, files):
    host()
    result = converge(SavedDeclaration, state="absent", **PATHS)
    assert result["changed"] and PATHS["path"] not in files.host and PATHS["command"] not in files.host
    assert "/etc/systemd/system/netmodes-restore.service" not in files.host and files.links == {}
    assert not converge(SavedDeclaration, state="absent", **PATHS)["changed"]


# -- only files of its own (issue 13, item 7) -----------------------------------------------------

UNIT_PATH = "/etc/systemd/system/netmodes-restore.service"


WANTS = "/etc/systemd/system/multi-user.target.wants/netmodes-restore.service"
FIREWALL_WANTS = "/etc/systemd/system/nftables.service.wants/netmodes-restore.service"


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("key, path", [("path", "/etc/passwd"), ("command", "/usr/local/bin/tool")])
def test_a_file_it_did_not_make_is_never_replaced_nor_removed(host, converge, files, state, key, path):
    host()
    files.host[path] = "root:x:0:0:root:/root:/bin/bash\n"
    before = dict(files.host), dict(files.links)
    with pytest.raises(Conflict) as info:
        converge(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, state=state, **dict(PATHS, **{key: path}))
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
    ("firewall", {"link": "/lib/systemd/system/other.service"}),
], ids=["declaration of another", "declaration of a user", "unit of another", "unit is a link", "wants elsewhere", "wants a file",
        "a firewall's wants elsewhere"])
def test_what_is_recognised_as_its_own(host, converge, files, where, entry):
    host()
    path = {"path": PATHS["path"], "unit": UNIT_PATH, "wants": WANTS, "firewall": FIREWALL_WANTS}[where]
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
            converge(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, state=state, **PATHS)
    assert (dict(files.host), dict(files.links)) == before


def test_a_path_other_users_could_change_is_refused(host, converge, files):
    host()
    files.unsafe["/home/joe"] = "/home/joe belongs to uid 1000"
    before = dict(files.host)
    with pytest.raises(InvalidInput) as info:
        converge(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, **dict(PATHS, command="/home/joe/bin/restore"))
    assert info.value.field == "command" and info.value.msg == (
        "command: /home/joe/bin/restore: /home/joe belongs to uid 1000; the restore runs as root at boot, so its files must be"
        " where no other user can change them: choose another command")
    assert files.host == before


def test_its_directory_goes_only_when_it_is_one_of_its_own(host, converge, files):
    host()
    ops = converge(SavedDeclaration, state="absent", check=True, **dict(PATHS, path="/etc/declared.json"))["operations"]
    assert [op["object"] for op in ops][:2] == ["file /usr/local/lib/netmodes/netmodes-restore", "file %s" % UNIT_PATH]


# -- a firewall reload or restart runs the restore again (issue 19) -----------------------------------


def unit_settings(text):
    """{(section, key): [values]} of a unit file's text."""
    out, section = {}, None
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault((section, key), []).append(value)
    return out


def test_the_unit_runs_again_when_a_firewall_service_restarts_reloads_or_starts(host, files):
    host()
    unit = unit_settings(files.host[UNIT_PATH].decode())
    firewalls = " ".join(FIREWALLS)
    assert unit[("Unit", "PartOf")] == [firewalls], "a restart (or stop) of the firewall is propagated to the restore"
    assert unit[("Unit", "ReloadPropagatedFrom")] == [firewalls], "and a reload"
    assert unit[("Unit", "After")][0].endswith(" " + firewalls), "each time once the firewall has loaded its rules"
    assert unit[("Service", "ExecReload")] == unit[("Service", "ExecStart")], "a reload runs the whole restore, as a start does"
    assert unit[("Install", "WantedBy")] == ["multi-user.target " + firewalls], "a start after a stop starts it again"
    for name in ("multi-user.target",) + FIREWALLS:
        assert files.links["/etc/systemd/system/%s.wants/netmodes-restore.service" % name] == UNIT_PATH, "enabled as [Install] says"


def test_a_unit_of_the_previous_version_is_replaced_with_a_diff_in_check_mode_first(host, converge, files, four_steps):
    """A host saved by a version whose unit only ran at boot: the run rewrites the unit and links
    it from the firewall services, shown first in check mode, writing nothing; absent removes it all."""
    host()
    new = files.host[UNIT_PATH]
    old = b"".join(line + b"\n" for line in new.splitlines() if not line.startswith((b"PartOf=", b"ReloadPropagatedFrom=", b"ExecReload=")))
    old = old.replace(b" " + " ".join(FIREWALLS).encode(), b"")
    files.host[UNIT_PATH] = old
    for name in FIREWALLS:
        files.links.pop("/etc/systemd/system/%s.wants/netmodes-restore.service" % name)
    check = converge(SavedDeclaration, check=True, networks=NETWORKS, sandboxes=SANDBOXES, **PATHS)
    assert files.host[UNIT_PATH] == old, "check mode writes nothing"
    assert [(op["action"], op["object"]) for op in check["operations"]] == [
        ("create", "link /etc/systemd/system/%s.wants/netmodes-restore.service" % name) for name in FIREWALLS] + [("set", "file " + UNIT_PATH)]
    (diff,) = [d for d in check["diff"] if d["after_header"] == UNIT_PATH]
    added = [line for line in diff["after"].splitlines() if line not in diff["before"].splitlines()]
    assert [line.partition("=")[0] for line in added] == ["After", "PartOf", "ReloadPropagatedFrom", "ExecReload", "WantedBy"], added
    four_steps(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, **PATHS)
    assert files.host[UNIT_PATH] == new
    removed = converge(SavedDeclaration, state="absent", **PATHS)
    assert sum(op["object"].startswith("link ") for op in removed["operations"]) == 1 + len(FIREWALLS) and files.links == {}


def test_the_site_s_unset_command_keeps_the_default(host, converge, files):
    """The site playbook passes netmodes_boot_restore_command, when the inventory does not set it,
    as '' (``default(None)`` renders so): the default command, not a refused ''."""
    host()
    files.host.pop(PATHS["command"])
    result = converge(HostPlan, config=SANDBOXES, networks=NETWORKS, converge_networks=True,
                      boot_restore={"state": "present", "command": "", "path": None, "unit_dir": None})
    assert result["boot_restore"]["command"] == PATHS["command"] and PATHS["command"] in files.host


WATCH_PATH = "/etc/systemd/system/netmodes-watch.service"
WATCH_WANTS = "/etc/systemd/system/multi-user.target.wants/netmodes-watch.service"


def test_the_watch_comes_and_goes_with_its_option(host, converge, files, four_steps):
    host()
    first = four_steps(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, watch=True, **PATHS)
    assert [(op["action"], op["object"]) for op in first["operations"]] == [("create", "file " + WATCH_PATH), ("create", "link " + WATCH_WANTS)]
    assert first["watch"] == WATCH_PATH and files.links[WATCH_WANTS] == WATCH_PATH
    unit = unit_settings(files.host[WATCH_PATH].decode())
    assert unit[("Service", "ExecStart")][0].endswith(" --file /etc/netmodes/declared.json --watch"), unit
    assert unit[("Service", "Restart")] == ["on-failure"] and unit[("Install", "WantedBy")] == ["multi-user.target"]
    off = four_steps(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, watch=False, **PATHS)
    assert [(op["action"], op["object"]) for op in off["operations"]] == [("delete", "file " + WATCH_PATH), ("delete", "link " + WATCH_WANTS)]
    assert off["watch"] is None and WATCH_PATH not in files.host and WATCH_WANTS not in files.links
    assert UNIT_PATH in files.host, "the boot's unit stays"
    converge(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, watch=True, **PATHS)
    converge(SavedDeclaration, state="absent", **PATHS)
    assert WATCH_PATH not in files.host and files.links == {}, "absent removes the watch too"


def test_a_watch_unit_it_did_not_write_is_left_alone(host, converge, files):
    host()
    files.host[WATCH_PATH] = "[Service]\nExecStart=/usr/bin/theirs\n"
    with pytest.raises(Conflict, match="^%s exists and was not made by netmodes.linux" % WATCH_PATH):
        converge(SavedDeclaration, networks=NETWORKS, sandboxes=SANDBOXES, watch=False, **PATHS)
    assert files.host[WATCH_PATH] == "[Service]\nExecStart=/usr/bin/theirs\n"
