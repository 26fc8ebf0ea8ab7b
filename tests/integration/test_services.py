# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Services in sandboxes (module and role netmodes.linux.services) under a real systemd: a unit
the test writes is wired to a bridge sandbox with a published port by the site playbook; it runs
in the sandbox's namespace with its files, answers on the published port from another host, comes
back in the sandbox after a reboot (after netmodes-restore.service), and goes back to the host's
namespace when unwired."""

from __future__ import annotations

import json
import sys
import time

import pytest
from conftest import systemd_host_on

UNIT = "nm-web.service"
DROPIN = "/etc/systemd/system/nm-web.service.d/netmodes.conf"
# The service: python's web server on port 80, serving a page the test knows.
UNIT_TEXT = """[Unit]
Description=netmodes.linux test service
[Service]
ExecStart=/usr/bin/python3 -m http.server 80 --directory /srv/nmweb
[Install]
WantedBy=multi-user.target
"""
NETWORKS = [{"name": "front", "subnet": "10.231.186.0/24"}]
SANDBOXES = [{"name": "web", "network_mode": "front", "publish": ["8086:80"]}]
UPSTREAM = "10.231.180.53"  # a lab address: the resolver never forwards beyond the simulated hosts


@pytest.fixture(scope="module")
def sdhost(fleet):
    """A simulated host that boots systemd, on the fleet's lab (conftest.systemd_host_on)."""
    yield from systemd_host_on(fleet, "sd64", 64, "sdservices")


def _prop(host, prop, unit=UNIT):
    return host.ssh("systemctl show -p %s --value %s" % (prop, unit)).stdout.strip()


def _inode(host, path):
    return host.ssh("stat -L -c %%i %s" % path).stdout.strip()


def _answers(client, address, port, timeout=20):
    """The page CLIENT gets from http://ADDRESS:PORT/ (retried while the service starts), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = client.run("%s -c \"import urllib.request as u; print(u.urlopen('http://%s:%d/page', timeout=2).read().decode())\""
                         % (sys.executable, address, port), check=False)
        if got.returncode == 0:
            return got.stdout.strip()
        time.sleep(0.5)
    return None


def _in_sandbox(host):
    """Where the unit's main process runs: its namespace is web's, and it sees web's files."""
    pid = _prop(host, "MainPID")
    assert pid != "0", host.ssh("systemctl status --no-pager %s" % UNIT, check=False).stdout
    assert _prop(host, "NetworkNamespacePath") == "/run/netns/web"
    assert _inode(host, "/proc/%s/ns/net" % pid) == _inode(host, "/run/netns/web"), "the process is in web's namespace"
    for name in ("hostname", "hosts", "resolv.conf"):
        seen = host.ssh("nsenter -t %s -m cat /etc/%s" % (pid, name)).stdout
        assert seen == host.ssh("cat /etc/netns/web/%s" % name).stdout, "the process sees web's %s" % name
    assert host.ssh("nsenter -t %s -m cat /etc/hostname" % pid).stdout.strip() == "web"
    assert "nameserver 10.231.186.1" in host.ssh("nsenter -t %s -m cat /etc/resolv.conf" % pid).stdout, "front's resolver"
    return pid


def test_a_service_wired_to_a_bridge_sandbox_runs_there_answers_its_published_port_and_survives_a_reboot(ansible, fleet, sdhost, tmp_path):
    sim1 = fleet.host("sim1")
    sdhost.ssh("echo 'nameserver %s' > /etc/resolv.conf && mkdir -p /srv/nmweb && echo served-from-web > /srv/nmweb/page" % UPSTREAM)
    sdhost.ssh("cat > /etc/systemd/system/%s <<'END'\n%sEND" % (UNIT, UNIT_TEXT))
    sdhost.ssh("systemctl daemon-reload && systemctl enable --now --quiet %s" % UNIT)
    inventory = tmp_path / "sd.json"

    def site(services, check=False):
        declared = {"netmodes_networks": NETWORKS, "netmodes_sandboxes": SANDBOXES, "netmodes_services": services,
                    "netmodes_requirements": False, "ansible_host": sdhost.address, "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(fleet.workdir / "id_ed25519"), "ansible_python_interpreter": sys.executable}
        inventory.write_text(json.dumps({"all": {"hosts": {"sd64": declared}}}))
        run = ansible._run(["ansible-playbook", "-i", str(inventory), "netmodes.linux.site", "-e", "target=sd64"], check, False)
        assert not run.failed, (run, [r["result"].get("msg") for r in run.records if r["status"] == "failed"])
        return run

    wired = [{"sandbox": "web", "unit": UNIT}]
    before = _prop(sdhost, "MainPID")
    assert site(wired, check=True).changed
    assert sdhost.ssh("test -e %s" % DROPIN, check=False).returncode != 0 and _prop(sdhost, "MainPID") == before, "check mode"
    assert site(wired).changed
    pid = _in_sandbox(sdhost)
    assert pid != before, "restarted into the sandbox"
    assert "netmodes-restore.service" in _prop(sdhost, "After") and "netmodes-resolver@front.service" in _prop(sdhost, "After")
    assert _answers(sim1, sdhost.address, 8086) == "served-from-web", "published port, from another host"
    assert not site(wired).changed and not site(wired, check=True).changed
    assert _prop(sdhost, "MainPID") == pid, "unchanged wiring: no restart"

    boots = sdhost.boots
    sdhost.ssh("systemctl reboot", check=False)
    sdhost.wait_booted(boots + 1, timeout=120)
    state = sdhost.ssh("systemctl is-system-running --wait", check=False).stdout.strip()
    assert state == "running", sdhost.ssh("systemctl --failed --no-legend --plain", check=False).stdout
    _in_sandbox(sdhost)
    restored = int(_prop(sdhost, "ActiveEnterTimestampMonotonic", "netmodes-restore.service"))
    started = int(_prop(sdhost, "ExecMainStartTimestampMonotonic"))
    assert 0 < restored <= started, "the service started after the restore made its sandbox"
    assert _answers(sim1, sdhost.address, 8086) == "served-from-web", "after the reboot"

    gone = site([{"unit": UNIT, "state": "absent"}])
    assert gone.changed and sdhost.ssh("test -e %s" % DROPIN, check=False).returncode != 0
    pid = _prop(sdhost, "MainPID")
    host_netns = _inode(sdhost, "/proc/1/ns/net")  # this boot's
    assert _prop(sdhost, "NetworkNamespacePath") == "" and _inode(sdhost, "/proc/%s/ns/net" % pid) == host_netns, "back in the host's"
    assert not site([{"unit": UNIT, "state": "absent"}]).changed


def _unit(host, name, command):
    """Install and start unit NAME, running COMMAND (a shell line)."""
    host.ssh("cat > /etc/systemd/system/%s <<'END'\n[Service]\nExecStart=/bin/sh -c '%s'\nEND\n"
             "systemctl daemon-reload && systemctl restart %s" % (name, command, name))


def test_container_none_and_host_mode_services(ansible, fleet, sdhost, tmp_path):
    """Container mode runs in the target's namespace with its files, none mode with lo alone, host
    mode in the host's namespace with no drop-in, once its port is found free."""
    sdhost.ssh("echo 'nameserver %s' > /etc/resolv.conf" % UPSTREAM)
    for name in ("nm-side.service", "nm-quiet.service", "nm-hosted.service"):
        _unit(sdhost, name, "exec sleep 3600")
    sandboxes = SANDBOXES + [{"name": "side", "network_mode": "container:web"}, {"name": "quiet", "network_mode": "none"},
                             {"name": "hosted", "network_mode": "host", "ports": [8087]}]
    services = [{"sandbox": "side", "unit": "nm-side.service"}, {"sandbox": "quiet", "unit": "nm-quiet.service"},
                {"sandbox": "hosted", "unit": "nm-hosted.service"}]
    inventory = tmp_path / "modes.json"

    def site(services, **extra):
        declared = {"netmodes_networks": NETWORKS, "netmodes_sandboxes": sandboxes, "netmodes_services": services, **extra,
                    "netmodes_requirements": False, "ansible_host": sdhost.address, "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(fleet.workdir / "id_ed25519"), "ansible_python_interpreter": sys.executable}
        inventory.write_text(json.dumps({"all": {"hosts": {"sd64": declared}}}))
        return ansible._run(["ansible-playbook", "-i", str(inventory), "netmodes.linux.site", "-e", "target=sd64"], False, False)

    run = site(services)
    assert not run.failed and run.changed, (run, [r["result"].get("msg") for r in run.records if r["status"] == "failed"])
    side = _prop(sdhost, "MainPID", "nm-side.service")
    assert _inode(sdhost, "/proc/%s/ns/net" % side) == _inode(sdhost, "/run/netns/web"), "container mode: the target's namespace"
    assert sdhost.ssh("nsenter -t %s -m cat /etc/hostname" % side).stdout.strip() == "web", "and the target's files"
    quiet = _prop(sdhost, "MainPID", "nm-quiet.service")
    assert _inode(sdhost, "/proc/%s/ns/net" % quiet) == _inode(sdhost, "/run/netns/quiet")
    links = json.loads(sdhost.ssh("nsenter -t %s -n ip -j link show" % quiet).stdout)
    assert [link["ifname"] for link in links] == ["lo"], "none mode: lo alone"
    hosted = _prop(sdhost, "MainPID", "nm-hosted.service")
    assert _inode(sdhost, "/proc/%s/ns/net" % hosted) == _inode(sdhost, "/proc/1/ns/net"), "host mode: the host's namespace"
    assert sdhost.ssh("test -e /etc/systemd/system/nm-hosted.service.d", check=False).returncode != 0, "and no drop-in"
    assert not site(services).changed

    # A host-mode unit that is stopped, with its port held by another process: refused, naming both.
    sdhost.ssh("systemctl stop nm-hosted.service && systemd-run --unit=nm-squatter %s -m http.server 8087" % "/usr/bin/python3")
    try:
        deadline = time.monotonic() + 10
        while "8087" not in sdhost.ssh("ss -Htln", check=False).stdout and time.monotonic() < deadline:
            time.sleep(0.2)
        refused = site(services)
        msgs = [r["result"].get("msg", "") for r in refused.records if r["status"] == "failed"]
        assert refused.failed and any("port 8087/tcp of host-mode sandbox hosted is already in use on the host" in m for m in msgs), msgs
    finally:
        sdhost.ssh("systemctl stop nm-squatter", check=False)
    # Unwired with prune: our drop-ins go, and the units that run are back in the host's namespace.
    kept = site([])
    assert not kept.failed and not kept.changed, "netmodes_services: [] without prune leaves them"
    pruned = site([], netmodes_prune=True)
    assert not pruned.failed and pruned.changed, pruned
    for name in ("nm-side.service", "nm-quiet.service"):
        assert _prop(sdhost, "NetworkNamespacePath", name) == ""
        assert _inode(sdhost, "/proc/%s/ns/net" % _prop(sdhost, "MainPID", name)) == _inode(sdhost, "/proc/1/ns/net"), name
    assert sdhost.ssh("ls /etc/systemd/system/*.d/netmodes.conf", check=False).stdout == ""
