# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Other software's state in a host: Docker's chains in iptables-legacy and ip6tables-legacy
(FORWARD policy drop), ufw through iptables-nft and ip6tables-nft (INPUT and FORWARD policy drop),
a hand-written nftables table with a forward chain that drops and an ip6 one of nat and forward
chains, and a bridge not ours. Our dual-stack network and its sandboxes, one publishing ports (so
on both families: a fixed one, one with an allow-list, a random one), are applied and removed
around them, on both backends:

- every foreign object is exactly as it was after the apply and after the removal;
- each foreign chain that drops our traffic is named in a warning with the accept to add, the
  traffic is indeed dropped, and once the test has run the commands the warnings give, the
  traffic flows and a re-run warns no more.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import BACKENDS, add_foreign, foreign_state, sh, use_backend
from test_portmap import Processes

PROBE = "/usr/bin/python3 %s" % (Path(__file__).parent / "probe.py")
NETWORKS = [{"name": "front", "subnet": ["10.231.201.0/24", "fd31:201::/64"], "ipv6": True}]
# web's second port admits the lab alone (an allow-list: named sets, or a chain of ours), its third is random (-p 82)
SANDBOXES = [{"name": "web", "network_mode": "front", "publish": ["8080:80", {"port": "8081:81", "allow": ["10.231.0.0/16", "fd31::/16"]}, "82"]},
             {"name": "db", "network_mode": "front"}]
APPLY = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.networks: {config: %s}
    - netmodes.linux.sandboxes: {config: %s, networks: %s}
""" % (json.dumps(NETWORKS), json.dumps(SANDBOXES), json.dumps(NETWORKS))
# The sandboxes deleted, then every network of ours pruned: the bridge that is not ours stays.
REMOVE = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.sandboxes: {config: %s, networks: %s, state: deleted}
    - netmodes.linux.networks: {config: [], state: overridden}
""" % (json.dumps(SANDBOXES), json.dumps(NETWORKS))

DOCKER, UFW_INPUT, UFW_FORWARD, GUARD = ("iptables-legacy table filter, chain FORWARD", "nftables table ip filter (iptables-nft), chain INPUT",
                                         "nftables table ip filter (iptables-nft), chain FORWARD", "nftables table inet guard, chain forward_guard")
DOCKER6, UFW6_INPUT, UFW6_FORWARD = ("ip6tables-legacy table filter, chain FORWARD", "nftables table ip6 filter (ip6tables-nft), chain INPUT",
                                     "nftables table ip6 filter (ip6tables-nft), chain FORWARD")


def warnings(run):
    return [w for result in run.results() for w in result.get("warnings", [])]


def named(found):
    """{(subject, chain)} of the warnings FOUND."""
    return {tuple(w.split(" (hook")[0].split(": ", 1)) for w in found}


def advice(warning):
    """The commands a warning gives, after its last colon."""
    return re.split(r"\): |those\): ", warning)[-1].split("; ")


@pytest.fixture
def servers():
    procs = Processes()
    yield procs
    procs.stop()


def reach(host, addr, port, netns=None):
    prefix = "ip netns exec %s " % netns if netns else ""
    answers = json.loads(sh(host, "%s%s probe '%s'" % (prefix, PROBE, json.dumps({"t": ["tcp", addr, port]}))))
    return answers["t"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_foreign_state_is_kept_and_its_drops_are_named(backend, ansible, fleet, sim1, servers):
    sim2 = fleet.host("sim2")
    use_backend(sim1, backend)
    add_foreign(sim1, "docker", "ufw", "nft-drop", "bridge", "docker6", "ufw6", "nft6")
    pristine = foreign_state(sim1)
    assert pristine["bridges"] and "DOCKER-USER" in pristine["iptables-legacy"] and "ufw-before-input" in pristine["nftables"]
    assert "fd31:240::2" in pristine["ip6tables-legacy"] and "ufw6-before-input" in pristine["nftables"] and "theirs6" in pristine["nftables"]

    run = ansible.playbook(APPLY)
    assert not run.failed, run
    assert foreign_state(sim1) == pristine, "the apply changed a foreign object"
    assert "fd31:201::" in sh(sim1, ("ip6tables-legacy-save" if backend == "iptables" else "nft list table inet netmodes")), "no IPv6 rules of ours"
    found = warnings(run)
    expected = {("bridge front", UFW_INPUT), ("bridge front", UFW_FORWARD), ("bridge front", GUARD),
                ("portmap netns:web", UFW_FORWARD), ("portmap netns:web", GUARD),
                ("bridge front", UFW6_INPUT), ("bridge front", UFW6_FORWARD), ("portmap netns:web", UFW6_FORWARD)}
    if backend == "nftables":  # the iptables backend's own FORWARD hooks (ip6tables' too) accept first
        expected |= {("bridge front", DOCKER), ("portmap netns:web", DOCKER), ("bridge front", DOCKER6), ("portmap netns:web", DOCKER6)}
    assert named(found) == expected, "\n".join(found)
    assert all("netavark#977" in w for w in found)

    # The warnings are true: outbound connections and published ports are dropped.
    servers.start(sim1, "ip netns exec web %s serve web 80" % PROBE)
    servers.start(sim1, "ip netns exec web %s serve web 81" % PROBE)
    servers.start(sim2, "%s serve sim2 9000" % PROBE)
    sh(sim1, "%s wait 10.231.201.2:80" % PROBE)
    sh(sim2, "%s wait 127.0.0.1:9000" % PROBE)
    assert reach(sim1, sim2.address, 9000, netns="db") is None
    assert reach(sim2, sim1.address, 8080) is None
    assert reach(sim1, sim2.address6, 9000, netns="db") is None
    assert reach(sim2, sim1.address6, 8080) is None

    # Doing what they say lets the traffic through, and a re-run changes nothing and warns no more.
    for command in sorted({c for w in found for c in advice(w)}):
        assert re.fullmatch(r"(nft insert rule|ip6?tables-(legacy|nft) -t filter -I) [\w -]+ (-[io] |[io]ifname \")front\"? (-j ACCEPT|accept)",
                            command), command
        sh(sim1, command)
    advised = foreign_state(sim1)
    again = ansible.playbook(APPLY)
    assert not again.failed and not again.changed, again
    assert warnings(again) == []
    assert reach(sim1, sim2.address, 9000, netns="db") == "sim2"
    assert reach(sim2, sim1.address, 8080) == "web"
    assert reach(sim1, sim2.address6, 9000, netns="db") == "sim2"
    assert reach(sim2, sim1.address6, 8080) == "web"
    assert reach(sim2, sim1.address, 8081) == "web" and reach(sim2, sim1.address6, 8081) == "web", "the allow-list admits the lab"
    assert foreign_state(sim1) == advised

    removed = ansible.playbook(REMOVE)
    assert not removed.failed and removed.changed, removed
    assert foreign_state(sim1) == advised, "the removal changed a foreign object"
    assert "netmodes" not in sh(sim1, "nft list tables") and "NETMODES" not in sh(sim1, "iptables-legacy-save") + sh(sim1, "ip6tables-legacy-save")
