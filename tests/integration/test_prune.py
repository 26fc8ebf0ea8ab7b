# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pruning (netmodes_prune: true): what the collection made and no longer finds declared goes, also
when its sandbox was deleted behind our back while a process kept it alive; what is not ours stays."""

from __future__ import annotations

import json

from conftest import sh, sh_json
from test_portmap import Processes

# The host ends of web's and db's links to br0: "nmv" and the first 11 hex digits of
# sha256("SANDBOX\0NETWORK"), written out here rather than asked of the code under test.
VETH = {"web": "nmva697f8b15b4", "db": "nmv0785d6e6056"}

FULL = {
    "target": "sim1",
    "netmodes_networks": [{"name": "br0", "subnet": "172.18.0.0/16"}],
    "netmodes_sandboxes": [
        {"name": "web", "network_mode": "br0", "publish": ["8080:80"]},
        {"name": "db", "network_mode": "br0", "publish": ["5432:5432"]},
        {"name": "quiet", "network_mode": "none"},
        {"name": "legacy", "network_mode": "bridge", "publish": ["8081:80"]},
        {"name": "web2", "network_mode": "host", "ports": [9090]},
    ],
}
KEEP = ("web", "quiet")
PRUNED = dict(FULL, netmodes_prune=True, netmodes_sandboxes=[s for s in FULL["netmodes_sandboxes"] if s["name"] in KEEP])

FOREIGN = r"""
ip link add fbr type bridge && ip link set fbr up
nft add table inet foreign
nft add chain inet foreign fwd '{ type filter hook forward priority 0; policy drop; }'
nft add rule inet foreign fwd iifname fbr accept
ip netns add handmade
mkdir -p /etc/netns/handmade && echo '10.231.250.1 handmade' > /etc/netns/handmade/hosts
"""


def _static(value):
    """A link's JSON without the bridge timers, which tick on their own."""
    if isinstance(value, dict):
        return {k: _static(v) for k, v in value.items() if "timer" not in k}
    return [_static(v) for v in value] if isinstance(value, list) else value


def foreign(host):
    return (_static(sh_json(host, "ip -j -d link show fbr")), sh(host, "nft list table inet foreign"),
            sh(host, "stat -L -c %i /run/netns/handmade"), sh(host, "cat /etc/netns/handmade/hosts"))


def behind_our_back(host, procs, name):
    """`ip netns del NAME` while a process of someone else still runs in the namespace."""
    pid = procs.start(host, "ip netns exec %s sleep 600" % name)
    sh(host, "for i in $(seq 300); do [ \"$(readlink /proc/%s/ns/net)\" = \"$(readlink /proc/self/ns/net)\" ] || break; sleep 0.1; done" % pid)
    sh(host, "ip netns del %s" % name)
    return pid


def our_comments(host):
    listing = sh(host, "nft list table inet netmodes")
    return sorted({word.strip('"') for word in listing.split() if word.strip('"').startswith(("netns:", "bridge:"))})


def test_prune_removes_only_what_is_ours_and_undeclared(ansible, sim1):
    run = ansible.collection_playbook("site", FULL)
    assert not run.failed, run
    sh(sim1, FOREIGN)
    theirs = foreign(sim1)
    procs = Processes()
    try:
        held = behind_our_back(sim1, procs, "db")     # not declared any more: its leftovers go
        behind_our_back(sim1, procs, "web")           # still declared: made again
        nmv = {link["ifname"] for link in sh_json(sim1, "ip -j link show") if link["ifname"].startswith("nmv")}
        assert {VETH["db"], VETH["web"]} <= nmv, "the held namespaces keep their veths"

        run = ansible.collection_playbook("site", PRUNED)
        assert not run.failed and run.changed, run

        assert sorted(sh(sim1, "ls /run/netns").split()) == ["handmade", "quiet", "web"]
        assert sorted(sh(sim1, "ls /run/netmodes/netns").split()) == ["quiet", "web"], "no marker of a namespace that is gone"
        nmv = sorted(link["ifname"] for link in sh_json(sim1, "ip -j link show") if link["ifname"].startswith("nmv"))
        assert nmv == [VETH["web"]], "the veths of db and legacy are gone, web has a new one"
        assert sh(sim1, "ip -br addr show eth0", netns="web").split()[2] == "172.18.0.2/16"
        assert our_comments(sim1) == ["bridge:br0", "netns:web"], "no rule of db, legacy or netmodes0 is left"
        assert sim1.run("ip link show netmodes0", check=False).returncode != 0, "Docker's default network went with its last member"
        assert sorted(sh(sim1, "ls /etc/netns").split()) == ["handmade", "quiet", "web"]
        assert sorted(sh(sim1, "ls /etc/netns/.netmodes").split()) == ["quiet.json", "web.json"]
        assert json.loads(sh(sim1, "cat /run/netmodes/host-ports.json")) == {}, "web2's port claim is released"
        assert foreign(sim1) == theirs, "a bridge, nftables table, namespace or file that is not ours changed"
        assert sim1.run("kill -0 %s" % held, check=False).returncode == 0, "pruning kills no process"

        again = ansible.collection_playbook("site", PRUNED)
        assert not again.failed and not again.changed, "a second prune found something\n%r" % again
    finally:
        procs.stop()
        sim1.run("nft delete table inet foreign; ip netns del handmade; ip link del fbr", check=False)
