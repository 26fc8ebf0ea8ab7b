# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time restore: after the site playbook, a simulated reboot (every namespace, link, rule
and /run record of ours gone, /etc kept) is undone by the unit's command alone, run without
Ansible, to the same links, addresses, routes, rules, files and sysctls; and so is a firewall
flushed by someone else (``nft flush ruleset``, ``iptables-restore`` of another file), as the unit
runs it again when a firewall service restarts or reloads."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import time

import pytest
import test_resolver
from conftest import BACKENDS, FOREIGN, add_foreign, foreign_state, sh, use_backend
from hoststate import REBOOT, diff, state
from test_overlay import OVERLAY, ping
from test_portmap import Processes, status
from test_resolver import dig, resolvers

UNIT = "/etc/systemd/system/netmodes-restore.service"
sdhost = test_resolver.sdhost  # a host that boots systemd, for this file's tests (module-scoped)
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
    for wanted_by in ("multi-user.target", "nftables.service", "firewalld.service"):  # at boot, and again with the firewall
        assert sh(sim1, "readlink /etc/systemd/system/%s.wants/netmodes-restore.service" % wanted_by).strip() == UNIT
    assert exec_start(sim1)[1:] == ["/etc/netmodes/netmodes-restore", "--file", "/etc/netmodes/declared.json"]
    off = ansible.collection_playbook("site", dict(DECLARED, netmodes_boot_restore=False))
    assert not off.failed and off.changed, off
    left = sh(sim1, "ls /etc/netmodes %s /etc/systemd/system/multi-user.target.wants/netmodes-restore.service"
                    " /etc/systemd/system/nftables.service.wants/netmodes-restore.service 2>&1 || true" % UNIT)
    assert left.count("No such file or directory") == 4, left


# What an administrator's own iptables file holds (rules.v4 of iptables-persistent, /etc/sysconfig/
# iptables): a chain hooked from FORWARD and a nat rule. iptables-restore without --noflush empties
# every chain of each table it names, ours too, and deletes our chains, then loads these.
THEIR_FILE = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:THEIRS - [0:0]
-A FORWARD -j THEIRS
-A THEIRS -p tcp -m tcp --dport 9999 -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 9998 -j RETURN
COMMIT
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_restore_command_repairs_a_flushed_firewall(ansible, sim1, fleet, backend):
    """What a firewall service does when it restarts or reloads (and an administrator by hand):
    flush every table, then load its own rules. Ours come back by the restore alone, exactly as
    they were, and the rules it loaded stay as it loaded them. (A flush also removes other
    programs' rules, which no restore of ours makes again: the table ``theirs`` below.)"""
    use_backend(sim1, backend)
    # The firewall's own rules, loaded at boot before our restore runs (by nftables.service from
    # /etc/nftables.conf, by iptables-persistent from rules.v4), and again when it restarts.
    load = FOREIGN["nft6"] if backend == "nftables" else "iptables-legacy-restore <<'EOF'\n%sEOF" % THEIR_FILE
    sh(sim1, load)
    run = ansible.collection_playbook("site", DECLARED)
    assert not run.failed, run
    before = state(sim1)
    gateway = sh(sim1, "ip route show default", netns="web").split()[2]
    web = dig(sim1, gateway, "web", "A")
    assert web, "br0's resolver answers before"
    add_foreign(sim1, "nft")  # someone else's table, which the flush removes for good

    sh(sim1, "nft flush ruleset")  # what /etc/nftables.conf begins with
    sh(sim1, load)
    loaded = foreign_state(sim1)
    lost = state(sim1)
    assert lost != before, "the flush and the load removed rules of ours"
    proc = restore(sim1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    made = [line for line in proc.stdout.splitlines() if not line.startswith("netmodes-restore:")]
    # a view's redirect ("sandbox db resolver view") is a firewall rule too
    assert made and all(line.endswith((" firewall", " resolver view")) or " firewall " in line or line.split()[1] == "portmap"
                        for line in made), \
        "only firewall rules were missing (links, addresses, sysctls are as they were):\n" + proc.stdout
    assert foreign_state(sim1) == loaded, "the rules the firewall loaded are as it loaded them"
    after = state(sim1)
    assert after == before, diff(before, after)
    again = restore(sim1)
    assert again.returncode == 0 and again.stdout.strip().endswith("0 changes from /etc/netmodes/declared.json"), again.stdout

    procs = Processes()
    try:
        # A flush by hand tells systemd nothing: the watch (netmodes-restore --watch) repairs it,
        # on the kernel's event of our table's deletion, or at its next poll on iptables-legacy.
        watch = shlex.join(exec_start(sim1) + ["--watch", "--interval", "1"])
        procs.start(sim1, "sh -c %s" % shlex.quote("exec %s >/run/nm-watch.log 2>&1" % watch))
        sh(sim1, "for i in $(seq 100); do grep -q watching /run/nm-watch.log && exit 0; sleep 0.1; done; exit 1")
        sh(sim1, "nft flush ruleset")
        sh(sim1, load)
        for _attempt in range(60):
            after = state(sim1)
            if after == before:
                break
            time.sleep(0.5)
        log = sh(sim1, "cat /run/nm-watch.log")
        assert after == before, "the watch did not repair the flush:\n%s\n%s" % (log, diff(before, after))
        assert "changes from /etc/netmodes/declared.json" in log, log
        procs.start(sim1, "ip netns exec web /usr/bin/python3 -m http.server 80")
        sh(sim1, "for i in $(seq 300); do ip netns exec web curl -s -o /dev/null http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1")
        assert status(fleet.host("sim2"), "http://%s:8080/" % sim1.address) == "200", "the published port works after the repair"
    finally:
        procs.stop()
    assert sorted(sh(sim1, "dig +short +time=2 +tries=1 @%s web A" % gateway, netns="db").split()) == web, \
        "a member asks br0's resolver (admitted by our rules) after the repair"


# -- where systemd runs: the unit follows the firewall service -------------------------------------

def test_where_systemd_runs_a_restart_reload_or_stop_and_start_of_nftables_brings_our_rules_back(ansible, fleet, sdhost, tmp_path):
    """nftables.service loads /etc/nftables.conf, which begins with ``flush ruleset``, on start,
    restart and reload, and flushes on stop: after each, systemd runs the restore (the unit's
    PartOf=, ReloadPropagatedFrom= and WantedBy=), which makes our table again, as it was."""
    inventory = tmp_path / "sd.json"
    declared = {"netmodes_networks": [{"name": "br0"}],
                "netmodes_sandboxes": [{"name": "web", "network_mode": "br0", "publish": ["8080:80"]}], "netmodes_requirements": False,
                "ansible_host": sdhost.address, "ansible_user": "root", "ansible_ssh_private_key_file": str(fleet.workdir / "id_ed25519"),
                "ansible_python_interpreter": sys.executable}
    inventory.write_text(json.dumps({"all": {"hosts": {"sd63": declared}}}))
    sdhost.ssh("systemctl start nftables.service")  # as at boot: the firewall first, then the restore

    def site(watch):
        run = ansible._run(["ansible-playbook", "-i", str(inventory), "netmodes.linux.site", "-e", "target=sd63",
                            "-e", json.dumps({"netmodes_boot_restore_watch": watch})], False, False)
        assert not run.failed and run.changed, (run, [r["result"].get("msg") for r in run.records if r["status"] == "failed"])

    site(False)
    assert sdhost.ssh("systemctl is-active netmodes-restore.service", check=False).stdout.strip() == "active", "started by the role"
    ours = sdhost.ssh("nft list table inet netmodes").stdout
    assert "8080" in ours

    def back(action):
        started = sdhost.ssh("systemctl show -p ExecMainStartTimestampMonotonic --value netmodes-restore.service").stdout
        sdhost.ssh("systemctl %s nftables.service" % action)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            listing = sdhost.ssh("nft list table inet netmodes", check=False).stdout
            if listing == ours and sdhost.ssh("systemctl is-active netmodes-restore.service", check=False).stdout.strip() == "active":
                break
            time.sleep(0.5)
        assert listing == ours, "after `systemctl %s nftables`, our table is back as it was\n%s" % (action, listing)
        assert "table inet filter" in sdhost.ssh("nft list tables").stdout, "and the firewall's own"
        log = sdhost.ssh("journalctl -b -q --no-pager -o cat -u netmodes-restore.service").stdout
        return started, log

    started = back("restart")[0]
    assert sdhost.ssh("systemctl show -p ExecMainStartTimestampMonotonic --value netmodes-restore.service").stdout != started, \
        "a restart of the firewall restarted the restore"
    log = back("reload")[1]
    assert log.count("netmodes-restore: ") >= 3, "start, restart, reload: %s" % log
    sdhost.ssh("systemctl stop nftables.service")
    assert sdhost.ssh("systemctl is-active netmodes-restore.service", check=False).stdout.strip() == "inactive", "stopped with it"
    assert sdhost.ssh("nft list ruleset").stdout == "", "stopping the firewall flushes every table: ours too, until it starts"
    back("start")

    # A flush by hand tells systemd nothing: the watch (the option) repairs it.
    site(True)
    assert sdhost.ssh("systemctl is-active netmodes-watch.service", check=False).stdout.strip() == "active", "started by the role"
    verify = sdhost.ssh("systemd-analyze verify --man=no /etc/systemd/system/netmodes-watch.service %s" % UNIT, check=False)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    sdhost.ssh("nft flush ruleset")
    deadline = time.monotonic() + 30
    while sdhost.ssh("nft list table inet netmodes", check=False).stdout != ours and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sdhost.ssh("nft list table inet netmodes", check=False).stdout == ours, \
        sdhost.ssh("journalctl -b -q --no-pager -o cat -u netmodes-watch.service").stdout
    site(False)
    assert sdhost.ssh("systemctl is-active netmodes-watch.service", check=False).stdout.strip() != "active", "stopped by the role"
    assert sdhost.ssh("test -e /etc/systemd/system/netmodes-watch.service", check=False).returncode != 0

    # At boot, with the firewall enabled: no ordering cycle (the restore is wanted by
    # nftables.service, which sysinit.target pulls in early), and ours runs after its flush.
    sdhost.ssh("systemctl enable --quiet nftables.service")
    boots = sdhost.boots
    sdhost.ssh("systemctl reboot", check=False)
    sdhost.wait_booted(boots + 1, timeout=120)
    booted = sdhost.ssh("systemctl is-system-running --wait", check=False).stdout.strip()
    failed = sdhost.ssh("systemctl --failed --no-legend --plain", check=False).stdout.strip()
    assert (booted, failed) == ("running", ""), failed
    assert "ordering cycle" not in sdhost.ssh("journalctl -b -q --no-pager -o cat", check=False).stdout.lower()
    assert sdhost.ssh("nft list table inet netmodes", check=False).stdout == ours, "restored at boot, after the firewall's flush"
    sdhost.ssh("systemctl disable --quiet nftables.service")
