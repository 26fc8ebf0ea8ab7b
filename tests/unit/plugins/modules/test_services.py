# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services module (_resources/services.py, _services.py): the drop-in that runs a unit in
its sandbox, planned once for check mode, diff and the run; a restart only when the wiring changes."""

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._resources.services import Services

UNIT_DIR = "/etc/systemd/system"
DROPIN = UNIT_DIR + "/nginx.service.d/netmodes.conf"
NETWORKS = [{"name": "front"}, {"name": "quiet", "dns": False}]
SANDBOXES = [{"name": "web", "network_mode": "front", "publish": ["8080:80"]}, {"name": "side", "network_mode": "container:web"},
             {"name": "alone", "network_mode": "none"}, {"name": "old", "network_mode": "bridge"},
             {"name": "hosted", "network_mode": "host", "ports": ["80/tcp"]}, {"name": "mute", "network_mode": "quiet"}]


class FakeSystemd:
    """systemd over the files fake: units it knows, and the reloads and restarts asked of it."""

    def __init__(self, files):
        self.files, self.calls, self.systemd = files, [], True
        self.units = {name: {"load": "loaded", "active": "active", "pid": 42} for name in ("nginx.service", "app.service")}

    def running(self):
        return self.systemd

    def unit(self, name):
        return dict(self.units.get(name, {"load": "not-found", "active": "inactive", "pid": 0}))

    def wired(self, unit_dir):
        return {path[len(unit_dir) + 1:-len(".d/netmodes.conf")]: content.encode() if isinstance(content, str) else content
                for path, content in self.files.host.items() if path.startswith(unit_dir) and path.endswith(".d/netmodes.conf")}

    def wire(self, unit, path, content=None, start=True):
        if content is None:
            self.files.remove_host_file(path, directory=True)
        else:
            self.files.write_host_file(path, content)
        self.calls.append(("restart" if start else "try-restart", unit))


@pytest.fixture
def systemd(files):
    return FakeSystemd(files)


@pytest.fixture
def adapters(kernel, sysctl, firewall, sockets, files, resolvers, systemd):
    for name in ("web", "alone", "old", "mute"):
        kernel.netns_create(name)
    kernel.netns_share("side", "web")
    return {"netlink": kernel, "sysctl": sysctl, "firewall": firewall, "sockets": sockets, "files": files, "resolver": resolvers,
            "systemd": systemd}


def wire(*services, **options):
    return dict({"services": list(services), "sandboxes": SANDBOXES, "networks": NETWORKS}, **options)


def test_a_bridge_sandbox_s_unit_gets_its_namespace_files_and_order_after_the_restore_and_resolver(converge, four_steps, files, systemd):
    first = four_steps(Services, **wire({"sandbox": "web", "unit": "nginx.service"}))
    assert first["operations"] == [{"action": "create", "object": "service nginx.service",
                                    "after": {"sandbox": "web", "dropin": DROPIN}}]
    assert files.host[DROPIN].decode() == (
        "# Written by netmodes.linux (module services): nginx.service in sandbox web\n"
        "# Changes are replaced on its next run; state: absent removes it.\n"
        "[Unit]\n"
        "Wants=netmodes-restore.service\n"
        "After=netmodes-restore.service netmodes-resolver@front.service\n"
        "\n"
        "[Service]\n"
        "NetworkNamespacePath=/run/netns/web\n"
        "BindReadOnlyPaths=/etc/netns/web/hostname:/etc/hostname /etc/netns/web/hosts:/etc/hosts"
        " /etc/netns/web/resolv.conf:/etc/resolv.conf\n")
    assert systemd.calls == [("restart", "nginx.service")], "restarted once, by the run that changed its wiring"
    assert first["services"] == [{"unit": "nginx.service", "sandbox": "web", "dropin": DROPIN, "active": "active", "pid": 42}]


@pytest.mark.parametrize("sandbox, netns, files_of, after", [
    ("side", "web", "web", "netmodes-restore.service netmodes-resolver@front.service"),  # container mode: the target's
    ("alone", "alone", "alone", "netmodes-restore.service"),                              # none: lo only, no resolver
    ("old", "old", "old", "netmodes-restore.service"),                                    # Docker's default bridge: no resolver
    ("mute", "mute", "mute", "netmodes-restore.service"),                                 # dns: false
])
def test_each_mode_gives_its_namespace_files_and_resolver(converge, files, sandbox, netns, files_of, after):
    converge(Services, **wire({"sandbox": sandbox, "unit": "nginx.service"}))
    text = files.host[DROPIN].decode()
    assert "NetworkNamespacePath=/run/netns/%s\n" % netns in text
    assert "/etc/netns/%s/hosts:/etc/hosts " % files_of in text
    assert "After=%s\n" % after in text


def test_check_mode_and_diff_come_from_the_plan_and_change_nothing(converge, files, systemd):
    check = converge(Services, check=True, **wire({"sandbox": "web", "unit": "nginx.service"}))
    assert check["changed"] and DROPIN not in files.host and systemd.calls == []
    (diff,) = check["diff"]
    assert diff["before_header"] == "/dev/null" and diff["after_header"] == DROPIN
    assert "NetworkNamespacePath=/run/netns/web" in diff["after"]


def test_a_new_sandbox_replaces_the_drop_in_and_restarts_the_unit(converge, files, systemd):
    converge(Services, **wire({"sandbox": "web", "unit": "nginx.service"}))
    moved = converge(Services, **wire({"sandbox": "alone", "unit": "nginx.service"}))
    assert moved["operations"] == [{"action": "set", "object": "service nginx.service", "field": "sandbox", "before": "web", "after": "alone"}]
    assert "-NetworkNamespacePath=/run/netns/web" not in moved["diff"][0]["after"]
    assert "NetworkNamespacePath=/run/netns/alone" in files.host[DROPIN].decode()
    assert systemd.calls == [("restart", "nginx.service")] * 2


def test_removal_takes_the_drop_in_away_and_restarts_a_running_unit_in_the_host_namespace(converge, four_steps, files, systemd):
    converge(Services, **wire({"sandbox": "web", "unit": "nginx.service"}))
    gone = four_steps(Services, **wire({"unit": "nginx.service", "state": "absent"}))
    assert gone["operations"] == [{"action": "delete", "object": "service nginx.service", "before": {"sandbox": "web", "dropin": DROPIN}}]
    assert DROPIN not in files.host
    assert systemd.calls[-1] == ("try-restart", "nginx.service"), "not started if it was stopped"
    assert gone["diff"][0]["after_header"] == "/dev/null"


def test_prune_removes_our_drop_ins_of_units_not_given_and_leaves_others(converge, files, systemd):
    converge(Services, **wire({"sandbox": "web", "unit": "nginx.service"}, {"sandbox": "alone", "unit": "app.service"}))
    files.host[UNIT_DIR + "/cron.service.d/netmodes.conf"] = b"[Service]\nNice=5\n"  # someone else's, under our file name
    kept = converge(Services, **wire({"sandbox": "web", "unit": "nginx.service"}))
    assert not kept["changed"], "without prune, units not given are left alone"
    pruned = converge(Services, **wire({"sandbox": "web", "unit": "nginx.service"}, prune=True))
    assert [op["object"] for op in pruned["operations"]] == ["service app.service"]
    assert UNIT_DIR + "/app.service.d/netmodes.conf" not in files.host and DROPIN in files.host
    assert files.host[UNIT_DIR + "/cron.service.d/netmodes.conf"] == b"[Service]\nNice=5\n"
    assert not converge(Services, **wire({"sandbox": "web", "unit": "nginx.service"}, prune=True))["changed"]


def test_a_drop_in_not_ours_is_refused_and_left_alone(refused, files):
    files.host[DROPIN] = b"[Service]\nUser=www-data\n"
    refused(Services, Conflict, r"^services\[0\] \(nginx.service\): .*netmodes.conf exists and was not written by netmodes.linux",
            **wire({"sandbox": "web", "unit": "nginx.service"}))


def test_host_mode_writes_nothing_and_checks_the_ports_are_free_unless_the_unit_holds_them(converge, refused, files, systemd, sockets):
    sockets.listening.append(("tcp", __import__("ipaddress").ip_address("0.0.0.0"), 80, 777))
    running = converge(Services, **wire({"sandbox": "hosted", "unit": "nginx.service"}))
    assert not running["changed"] and DROPIN not in files.host, "the unit runs: the listener is its own"
    systemd.units["nginx.service"]["active"] = "inactive"
    refused(Services, Conflict, r"^services\[0\] \(nginx.service\): port 80/tcp of host-mode sandbox hosted is already in use on the host:"
            r" python3 \(pid 777\) listens on 0.0.0.0:80; stop it", **wire({"sandbox": "hosted", "unit": "nginx.service"}))


def test_a_unit_moved_to_host_mode_loses_its_drop_in(converge, files, systemd):
    converge(Services, **wire({"sandbox": "web", "unit": "nginx.service"}))
    moved = converge(Services, **wire({"sandbox": "hosted", "unit": "nginx.service"}))
    assert [op["action"] for op in moved["operations"]] == ["delete"] and DROPIN not in files.host
    assert systemd.calls[-1] == ("restart", "nginx.service"), "restarted into the host's namespace"


@pytest.mark.parametrize("unit, why", [
    ("nginx", "is not the name of a systemd service"),
    ("nginx.socket", "is not the name of a systemd service"),
    ("../x.service", "is not the name of a systemd service"),
    ("a b.service", "is not the name of a systemd service"),
    ("nginx.service\nExecStartPre=/bin/sh", "is not the name of a systemd service"),
    ("app@.service", "is not the name of a systemd service"),
    ("x" * 250 + ".service", "is not the name of a systemd service"),
    ("netmodes-restore.service", "is one of netmodes.linux's own units"),
    (7, "is not the name of a systemd service"),
])
def test_a_unit_name_systemd_would_not_take_is_refused(refused, unit, why):
    refused(Services, InvalidInput, r"^services\[0\].*: unit: .* %s; give a unit name as systemctl shows it" % why,
            **wire({"sandbox": "web", "unit": unit}))


@pytest.mark.parametrize("entry, fragment", [
    ({"sandbox": "nope", "unit": "nginx.service"}, r"sandbox: 'nope' is not a sandbox declared \(present\) in netmodes_sandboxes;"
                                                   r" declare it there, or name one of them \(alone, hosted"),
    ({"unit": "nginx.service"}, r"sandbox: None is not a sandbox declared"),
    ({"sandbox": "web", "unit": "nginx.service", "netns": "x"}, r"unknown keys netns"),
    ({"sandbox": "web", "unit": "nginx.service", "state": "gone"}, r"state: 'gone' is not a state; choose present or absent"),
    ("nginx.service", r"'nginx.service' is not a dict; give \{sandbox: NAME, unit: NAME.service\}"),
])
def test_an_entry_that_names_no_declared_sandbox_is_refused_in_the_user_s_words(refused, entry, fragment):
    refused(Services, InvalidInput, r"^netmodes_services\[0\].*: " + fragment,
            **wire(entry, declared_in={"services": "netmodes_services", "sandboxes": "netmodes_sandboxes"}))


def test_a_unit_given_twice_is_refused(refused):
    refused(Services, InvalidInput, r"^services: unit 'nginx.service' is declared twice",
            **wire({"sandbox": "web", "unit": "nginx.service"}, {"sandbox": "alone", "unit": "nginx.service"}))


@pytest.mark.parametrize("check", [False, True])
def test_a_sandbox_or_unit_missing_on_the_host_fails_the_run_and_warns_in_check_mode(converge, refused, kernel, check):
    kernel.netns_delete("web")
    kernel.netns_delete("side")
    for options, fragment in ((wire({"sandbox": "web", "unit": "nginx.service"}), r"sandbox: web does not exist on this host; make it first"),
                              (wire({"sandbox": "alone", "unit": "gone.service"}), r"unit: systemd knows no unit gone.service")):
        if check:
            planned = converge(Services, check=True, **options)
            assert planned["changed"] and any("check mode: planned as if" in w for w in planned["warnings"]), planned
        else:
            refused(Services, NotFound, r"^services\[0\] .*: " + fragment, **options)


def test_without_systemd_the_run_is_refused_with_the_way_to_run_it(refused, systemd):
    systemd.systemd = False
    refused(Services, InvalidInput, r"^services\[0\] \(nginx.service\): systemd does not run this host.*'ip netns exec web'",
            **wire({"sandbox": "web", "unit": "nginx.service"}))
