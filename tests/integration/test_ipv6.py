# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 as Docker 27+ gives it: dual-stack and IPv6-only bridge networks, with real traffic."""

from __future__ import annotations

import ipaddress
import json

from conftest import sh, sh_json
from hoststate import diff, state
from test_boot_restore import rebooted

PLAY = """
- hosts: sim1
  gather_facts: false
  vars:
    networks: {networks}
    sandboxes: {sandboxes}
  tasks:
    - netmodes.linux.sandboxes: {{config: "{{{{ sandboxes }}}}", networks: "{{{{ networks }}}}", converge_networks: true{extra}}}
"""

# Names through hosts files (dns: false): their lines of both families.
DUAL = [{"name": "dual", "subnet": ["10.231.120.0/24", "fd31:120::/64"], "ipv6": True, "dns": False},
        {"name": "six", "ipv6": True, "ipv4": False, "dns": False},
        {"name": "four", "subnet": "10.231.121.0/24"}]
SANDBOXES = [{"name": "a", "network_mode": "dual"}, {"name": "b", "network_mode": "dual", "networks": ["six"]},
             {"name": "c", "network_mode": "six"}, {"name": "d", "network_mode": "four"}]


def play(networks=None, sandboxes=None, **options):
    extra = "".join(", %s: %s" % (key, json.dumps(value)) for key, value in options.items())
    return PLAY.format(networks=json.dumps(DUAL if networks is None else networks),
                       sandboxes=json.dumps(SANDBOXES if sandboxes is None else sandboxes), extra=extra)


def addresses(host, netns, link="eth0"):
    found = sh_json(host, "ip netns exec %s ip -j addr show %s" % (netns, link))[0]
    return sorted("%s/%d" % (a["local"], a["prefixlen"]) for a in found.get("addr_info", ()) if a.get("scope") == "global")


def test_dual_stack_and_ipv6_only_networks(ansible, sim1):
    run = ansible.four_steps(play())
    found = run.results()[-1]["sandboxes"]
    assert found["a"]["addresses"] == ["10.231.120.2/24", "fd31:120::2/64"]
    # a dual-stack network's sandbox: both families, IPv6 usable at once (nodad), both default routes
    assert addresses(sim1, "a") == ["10.231.120.2/24", "fd31:120::2/64"]
    assert "tentative" not in sh(sim1, "ip -6 addr show dev eth0", netns="a")
    routes = sh_json(sim1, "ip netns exec a ip -j -6 route show default")
    assert [(r["gateway"], r["dev"]) for r in routes] == [("fd31:120::1", "eth0")]
    assert sh(sim1, "sysctl -n net.ipv6.conf.eth0.accept_ra", netns="a").strip() == "0"
    # the IPv6-only network: a ULA /64 derived from its name, no IPv4 at all
    six = [a for a in addresses(sim1, "c") if ":" in a]
    assert len(six) == 1 and six[0].startswith("fd") and six[0].endswith("::3/64") and not six[0].startswith("fd00:")
    assert addresses(sim1, "c") == six
    # an IPv4-only network's link has no IPv6 at all (Docker 26+)
    assert sh(sim1, "sysctl -n net.ipv6.conf.eth0.disable_ipv6", netns="d").strip() == "1"
    assert addresses(sim1, "d") == ["10.231.121.2/24"]
    # traffic: by name over IPv6 on both networks, and to each gateway
    assert sh(sim1, "ping -6 -c1 -W2 a", netns="b")
    assert sh(sim1, "ping -6 -c1 -W2 c", netns="b")
    assert sh(sim1, "ping -6 -c1 -W2 fd31:120::1", netns="a")
    hosts = sh(sim1, "cat /etc/hosts", netns="b")
    assert "fd31:120::2\ta" in hosts and "10.231.120.2\ta" in hosts
    # b's own lines: its first network (dual: IPv4 then IPv6), then six
    own = [line.split("\t")[0] for line in hosts.splitlines() if line.endswith("\tb")]
    assert own[:2] == ["10.231.120.3", "fd31:120::3"] and len(own) == 3 and own[2].startswith("fd"), hosts


DECLARED = {
    "target": "sim1", "netmodes_requirements": False, "netmodes_firewall_backend": "nftables", "netmodes_ipv6_pool": "fd31:77aa:bb00::/48",
    "netmodes_networks": [{"name": "dual", "ipv6": True}, {"name": "six", "ipv6": True, "ipv4": False}, {"name": "bridge", "ipv6": True}],
    "netmodes_sandboxes": [{"name": "a", "network_mode": "dual", "networks": ["six"]}, {"name": "b", "network_mode": "six"},
                           {"name": "legacy", "network_mode": "bridge"}, {"name": "side", "network_mode": "container:a"},
                           {"name": "quiet", "network_mode": "none"}],
}


def test_the_site_playbook_and_the_boot_restore_keep_ipv6_subnets_picked_from_the_pool(ansible, sim1):
    run = ansible.collection_playbook("site", DECLARED)
    assert not run.failed, run
    pool = ipaddress.ip_network(DECLARED["netmodes_ipv6_pool"])
    for sandbox in ("a", "b", "legacy"):
        (found,) = [ipaddress.ip_interface(a) for a in addresses(sim1, sandbox) if ":" in a]
        assert found.network.subnet_of(pool) and found.network.prefixlen == 64, found
    assert addresses(sim1, "side") == addresses(sim1, "a"), "container mode has its target's IPv6 addresses"
    assert sh(sim1, "ip -6 -br addr show", netns="quiet").split() == ["lo", "UNKNOWN", "::1/128"], "none mode: ::1 only"
    rebooted(sim1)
    assert sh(sim1, "ping -6 -c1 -W2 b", netns="a")
    again = ansible.collection_playbook("site", DECLARED)
    assert not again.failed and not again.changed, again


def test_a_network_gains_and_loses_ipv6_in_place(ansible, sim1):
    four = [{"name": "dual", "subnet": "10.231.120.0/24"}]
    sandboxes = [{"name": "a", "network_mode": "dual"}]
    assert not ansible.playbook(play(four, sandboxes)).failed
    assert sh(sim1, "sysctl -n net.ipv6.conf.eth0.disable_ipv6", netns="a").strip() == "1"
    ansible.four_steps(play(DUAL[:1], sandboxes))
    assert addresses(sim1, "a") == ["10.231.120.2/24", "fd31:120::2/64"]
    assert sh(sim1, "ping -6 -c1 -W2 fd31:120::1", netns="a")
    ansible.four_steps(play(four, sandboxes))
    assert addresses(sim1, "a") == ["10.231.120.2/24"]
    assert sh(sim1, "sysctl -n net.ipv6.conf.eth0.disable_ipv6", netns="a").strip() == "1"
    assert "fd31" not in sh(sim1, "ip -6 addr show dev dual") and "10.231.120.1/24" in sh(sim1, "ip addr show dev dual")


def test_pruning_a_dual_stack_host_puts_it_back_as_it_was(ansible, sim1):
    # What IPv6 adds - force_forwarding of the bridges and the uplink, the IPv6 sets and rules, the
    # sandboxes' links - goes with the last network and sandbox that needed it.
    before = state(sim1)
    web = {"name": "web", "network_mode": "dual", "publish": ["8080:80", "[::]:8443:443"]}
    declared = dict(DECLARED, netmodes_sandboxes=DECLARED["netmodes_sandboxes"] + [web])
    run = ansible.collection_playbook("site", declared)
    assert not run.failed, run
    assert sh(sim1, "sysctl -n net.ipv6.conf.eth0.force_forwarding").strip() == "1", "the published port's uplink forwards IPv6"
    gone = dict(declared, netmodes_networks=[], netmodes_sandboxes=[], netmodes_prune=True, netmodes_boot_restore=False)
    run = ansible.collection_playbook("site", gone)
    assert not run.failed, run
    after = state(sim1)
    # Left as `ip netns` leaves them: the empty directories sandboxes live under, /run/netns a shared mount.
    empty = {"/etc/netns": "dir 755", "/run/netmodes/netns": "dir 700", "/run/netns": "dir 755"}
    assert after["files"] == dict(before["files"], **empty) and set(after["mounts"]) - set(before["mounts"]) <= {"/run/netns"}
    assert dict(after, files=None, mounts=None) == dict(before, files=None, mounts=None), diff(before, after)
