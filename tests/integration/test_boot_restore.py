# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time restore: after the site playbook, a simulated reboot (every namespace, link, rule
and /run record of ours gone, /etc kept) is undone by the unit's command alone, run without
Ansible, to the same links, addresses, routes, rules, files and sysctls."""

from __future__ import annotations

import json
import shlex
import shutil

import pytest
from conftest import BACKENDS, sh, use_backend
from hoststate import REBOOT, diff, state
from test_overlay import OVERLAY, ping
from test_portmap import Processes, status
from test_resolver import resolvers

UNIT = "/etc/systemd/system/netmodes-restore.service"
DECLARED = {
    "target": "sim1",
    "netmodes_networks": [{"name": "br0"}, {"name": "back", "internal": True}],
    "netmodes_sandboxes": [
        {"name": "web", "network_mode": "br0", "publish": ["8080:80"], "hostname": "web1"},
        {"name": "db", "network_mode": "br0", "networks": ["back"], "aliases": ["database"]},
        {"name": "side", "network_mode": "container:web"},
        {"name": "quiet", "network_mode": "none"},
        {"name": "legacy", "network_mode": "bridge", "publish": ["8081:80"]},
        {"name": "web2", "network_mode": "host", "ports": [9090]},
    ],
}


def exec_start(host):
    """The unit's ExecStart as argv."""
    line = next(line for line in sh(host, "cat %s" % UNIT).splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.partition("=")[2])


def restore(host):
    """Run the unit's command line, with every `import ansible...` failing as on a host without Ansible."""
    argv = exec_start(host)
    code = "import runpy, sys; sys.modules['ansible'] = None; sys.argv = %r; runpy.run_path(sys.argv[0], run_name='__main__')" % argv[1:]
    return host.run(shlex.join([argv[0], "-c", code]), check=False, timeout=120)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_restore_command_undoes_a_reboot(ansible, sim1, fleet, backend):
    use_backend(sim1, backend)
    run = ansible.collection_playbook("site", DECLARED)
    assert not run.failed, run
    before = state(sim1)
    assert sorted(before["netns"]) == ["db", "legacy", "quiet", "side", "web"]

    sim1.run(REBOOT)
    lost = state(sim1)
    assert lost["netns"] == {} and "netmodes" not in json.dumps(lost["nftables"]) and "NETMODES" not in json.dumps(lost["iptables-legacy"])
    proc = restore(sim1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "create netns web" in proc.stdout
    after = state(sim1)
    assert after == before, diff(before, after)

    again = restore(sim1)
    assert again.returncode == 0 and again.stdout.strip().endswith("0 changes from /etc/netmodes/declared.json"), again.stdout
    rerun = ansible.collection_playbook("site", DECLARED)
    assert not rerun.failed and not rerun.changed, "the site playbook finds the restored host as it left it\n%r" % rerun
    procs = Processes()
    try:
        procs.start(sim1, "ip netns exec web /usr/bin/python3 -m http.server 80")
        sh(sim1, "for i in $(seq 300); do ip netns exec web curl -s -o /dev/null http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1")
        assert status(fleet.host("sim2"), "http://%s:8080/" % sim1.address) == "200", "the published port works after the restore"
        web = sh(sim1, "ip -4 -br addr show eth0", netns="web").split()[2].split("/")[0]
        assert sh(sim1, "getent hosts web1", netns="side").split()[0] == web, "side shows web's files after the restore"
        gateway = sh(sim1, "ip route show default", netns="web").split()[2]
        assert sh(sim1, "grep ^nameserver /etc/resolv.conf", netns="web").split() == ["nameserver", gateway], "br0's resolver"
    finally:
        procs.stop()


def rebooted(host):
    """Reboot HOST (simulated: what lives in the kernel and on /run is gone) and restore it with the
    unit's command alone; fail unless its state comes back as it was. Its state before."""
    before = state(host)
    host.run(REBOOT)
    assert state(host)["netns"] == {}
    proc = restore(host)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = state(host)
    assert after == before, diff(before, after)
    return before


def spanning(lab):
    """sim1 and sim2 on a bridge network each, an overlay and the lab segment as a macvlan network
    (with the host's shim) that span both; one sandbox of sim1 on all three."""
    lan = {"name": "lan", "driver": "macvlan", "hosts": "ov", "parent": "eth0", "subnet": "%s.0/24" % lab, "gateway": "%s.1" % lab,
           "ip_range": "%s.128/25" % lab, "max_hosts": 8, "shim": True}  # the harness uses .1 and .11-.12: the upper half is free
    # Names through the networks' resolvers (each on every host with members), which the restore
    # must start again: o1 asks ov0's on sim1, m1 lan's on its shim; all3 asks its resolver view
    # of the three networks at br0's resolver address (docs/names.md, "Resolver views").
    networks = [{"name": "br0"}, dict(OVERLAY, dns=True), lan]
    sandboxes = {"sim1": [{"name": "web", "network_mode": "br0", "publish": ["8080:80"]}, {"name": "o1", "network_mode": "ov0"},
                          {"name": "m1", "network_mode": "lan"}, {"name": "all3", "network_mode": "br0", "networks": ["ov0", "lan"]}],
                 "sim2": [{"name": "o2", "network_mode": "ov0"}, {"name": "m2", "network_mode": "lan"}]}
    return {"all": {"hosts": {h: {"netmodes_sandboxes": own} for h, own in sandboxes.items()},
                    "vars": {"netmodes_networks": networks, "netmodes_requirements": False},
                    "children": {"ov": {"hosts": {"sim1": {}, "sim2": {}}}}}}


def test_a_host_on_bridge_overlay_and_macvlan_networks_comes_back_after_a_reboot(ansible, hosts, tmp_path):
    sim1, sim2 = hosts[:2]
    inventory = tmp_path / "spanning.json"
    inventory.write_text(json.dumps(spanning(sim1.address.rsplit(".", 1)[0])))

    def site():
        return ansible._run(["ansible-playbook", "-i", str(inventory), "netmodes.linux.site"], False, False)

    run = site()
    assert not run.failed, run
    check = sim1.run("/etc/netmodes/netmodes-restore --check", check=False)
    assert check.returncode == 0 and check.stdout.strip().endswith("0 changes from /etc/netmodes/declared.json (check mode: nothing applied)"), \
        check.stdout + check.stderr
    assert len(resolvers(sim1)) == 4, "br0, ov0 and lan (with its shim) have a resolver on sim1, and all3 its view of the three"
    assert sorted(rebooted(sim1)["netns"]) == ["all3", "m1", "o1", "web"]
    assert len(resolvers(sim1)) == 4, "the restore starts the networks' resolvers and the view again"
    assert "o2" not in sh(sim1, "cat /etc/hosts", netns="all3"), "all3's further networks' members come from its view"
    for netns, peer in (("o1", "o2"), ("m1", "m2"), ("all3", "o2"), ("all3", "m2")):
        ping(sim1, netns, peer)  # by name, across hosts
    ping(sim2, "o2", "all3")
    rerun = site()
    assert not rerun.failed and not rerun.changed, "the site playbook finds the restored host as it left it\n%r" % rerun


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_unit_as_installed_passes_systemd_analyze_and_goes_with_the_role(ansible, sim1):
    run = ansible.collection_playbook("site", DECLARED)
    assert not run.failed, run
    proc = sim1.run("systemd-analyze verify --man=no %s" % UNIT, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert sh(sim1, "readlink /etc/systemd/system/multi-user.target.wants/netmodes-restore.service").strip() == UNIT
    assert exec_start(sim1)[1:] == ["/etc/netmodes/netmodes-restore", "--file", "/etc/netmodes/declared.json"]
    off = ansible.collection_playbook("site", dict(DECLARED, netmodes_boot_restore=False))
    assert not off.failed and off.changed, off
    left = sh(sim1, "ls /etc/netmodes %s /etc/systemd/system/multi-user.target.wants/netmodes-restore.service 2>&1 || true" % UNIT)
    assert left.count("No such file or directory") == 3, left
