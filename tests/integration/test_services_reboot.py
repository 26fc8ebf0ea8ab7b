# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot restore under a real systemd boot: a systemd-booted host on a bridge network (with a
wired service and a published port), an overlay spanning it and sim1, and the lab segment as a
macvlan network with the host's shim, is rebooted with ``systemctl reboot``; netmodes-restore.service
brings its whole state back exactly (tests/integration/hoststate.py), no unit fails, the overlay's
members reach each other by name and the service answers on its published port from sim1."""

from __future__ import annotations

import json
import sys

import test_services
from hoststate import diff, state
from test_overlay import OVERLAY, ping
from test_services import UNIT, UNIT_TEXT, UPSTREAM, _answers, _in_sandbox, _prop

sdhost = test_services.sdhost  # a host that boots systemd, for this file's test (module-scoped)


def declared(fleet, sdhost):
    """sd64 on a bridge network (web, with the wired service), the overlay and the macvlan network;
    sim1 on the overlay and the macvlan network too, so that both span the two hosts."""
    lab = sdhost.address.rsplit(".", 1)[0]
    lan = {"name": "lan", "driver": "macvlan", "hosts": "ov", "parent": "eth0", "subnet": "%s.0/24" % lab, "gateway": "%s.1" % lab,
           "ip_range": "%s.128/25" % lab, "max_hosts": 8, "shim": True}  # the harness uses .1, .11-.13 and .64: the upper half is free
    networks = [{"name": "front", "subnet": "10.231.186.0/24"}, dict(OVERLAY, dns=True), lan]
    connection = {"ansible_host": sdhost.address, "ansible_user": "root", "ansible_ssh_private_key_file": str(fleet.workdir / "id_ed25519"),
                  "ansible_python_interpreter": sys.executable}
    hosts = {"sd64": dict(connection, netmodes_sandboxes=[{"name": "web", "network_mode": "front", "publish": ["8086:80"]},
                                                          {"name": "o1", "network_mode": "ov0"}, {"name": "m1", "network_mode": "lan"}],
                          netmodes_services=[{"sandbox": "web", "unit": UNIT}]),
             "sim1": {"netmodes_sandboxes": [{"name": "o2", "network_mode": "ov0"}, {"name": "m2", "network_mode": "lan"}]}}
    return {"all": {"hosts": hosts, "vars": {"netmodes_networks": networks, "netmodes_requirements": False},
                    "children": {"ov": {"hosts": {"sd64": {}, "sim1": {}}}}}}


def test_a_systemd_host_on_bridge_overlay_and_macvlan_networks_comes_back_exactly_after_systemctl_reboot(ansible, fleet, sim1, sdhost, tmp_path):
    sdhost.ssh("echo 'nameserver %s' > /etc/resolv.conf && mkdir -p /srv/nmweb && echo served-from-web > /srv/nmweb/page" % UPSTREAM)
    sdhost.ssh("cat > /etc/systemd/system/%s <<'END'\n%sEND" % (UNIT, UNIT_TEXT))
    sdhost.ssh("systemctl daemon-reload && systemctl enable --now --quiet %s" % UNIT)
    inventory = tmp_path / "sdreboot.json"
    inventory.write_text(json.dumps(declared(fleet, sdhost)))

    def site():
        # the fleet's own inventory comes with every run (sim2 among it): the site goes to ov alone, or it
        # would make the declared networks on sim2 too, which this test never resets
        run = ansible._run(["ansible-playbook", "-i", str(inventory), "netmodes.linux.site", "-e", "target=ov"], False, False)
        assert not run.failed, (run, [r["result"].get("msg") for r in run.records if r["status"] == "failed"])
        return run

    assert site().changed
    _in_sandbox(sdhost)
    assert sorted(state(sdhost)["netns"]) == ["m1", "o1", "web"]
    for netns, peer in (("o1", "o2"), ("m1", "m2")):
        ping(sdhost, netns, peer)  # by name, across hosts, before
    assert _answers(sim1, sdhost.address, 8086) == "served-from-web"
    before = state(sdhost)
    host_links = json.dumps(before["spaces"]["(host)"]["links"])
    assert '"vxlan"' in host_links and '"macvlan"' in host_links and '"bridge"' in host_links, "the three kinds, and lan's shim"
    assert "netmodes" in json.dumps(before["nftables"]) and "/etc/netns/web/hosts" in json.dumps(before["files"]), "our firewall, files"

    boots = sdhost.boots
    sdhost.ssh("systemctl reboot", check=False)
    sdhost.wait_booted(boots + 1, timeout=120)
    running = sdhost.ssh("systemctl is-system-running --wait", check=False).stdout.strip()
    failed = sdhost.ssh("systemctl --failed --no-legend --plain", check=False).stdout.strip()
    assert (running, failed) == ("running", ""), failed
    assert (_prop(sdhost, "ActiveState", "netmodes-restore.service"), _prop(sdhost, "Result", "netmodes-restore.service"),
            _prop(sdhost, "ExecMainStatus", "netmodes-restore.service")) == ("active", "success", "0"), \
        sdhost.ssh("journalctl -b -q --no-pager -o cat -u netmodes-restore.service", check=False).stdout
    restored = int(_prop(sdhost, "ActiveEnterTimestampMonotonic", "netmodes-restore.service"))
    assert 0 < restored <= int(_prop(sdhost, "ExecMainStartTimestampMonotonic")), "it ran in this boot, before the wired service"
    after = state(sdhost)
    assert after == before, diff(before, after)

    _in_sandbox(sdhost)
    for netns, peer in (("o1", "o2"), ("m1", "m2")):
        ping(sdhost, netns, peer)  # by name, across hosts, after
    ping(sim1, "o2", "o1")
    assert _answers(sim1, sdhost.address, 8086) == "served-from-web", "the published port, from sim1, after the reboot"
    assert not site().changed, "the site playbook finds the rebooted host as it left it"
