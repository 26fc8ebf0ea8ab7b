# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Random host ports (Docker's -p 80, -p 127.0.0.1::80, -p 8000-8100:80) and a network's
host_binding_ipv4 (issue 19), with real traffic from another simulated host, on both backends.

The fixtures are test_portmap's: a bridge br0 with sandboxes web and db, an HTTP server in web.
"""

from __future__ import annotations

import json

import test_portmap
from conftest import assert_unchanged, firewall, sh, snapshot
from test_portmap import portmap6, publish, status

# test_portmap's fixtures, found by pytest as this module's
backend, network, processes, dual = test_portmap.backend, test_portmap.network, test_portmap.processes, test_portmap.dual

LISTENING = "for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:%d/ && exit 0; sleep 0.1; done; exit 1"


def ephemeral(host):
    first, last = (int(x) for x in sh(host, "cat /proc/sys/net/ipv4/ip_local_port_range").split())
    return first, last


def ports_of(run):
    return run.result()["ports"]


def test_a_random_port_is_picked_outside_the_ephemeral_range_kept_and_reached(network, backend, ansible, sim1, fleet, processes):
    sim2 = fleet.host("sim2")
    first, last = ephemeral(sim1)
    # a host process on the first candidate: the pick goes around it
    processes.start(sim1, "/usr/bin/python3 -m http.server %d" % (last + 1))
    sh(sim1, LISTENING % (last + 1))
    play = publish('["80", "8000-8100:80", "127.0.0.1::80"]')
    before = firewall(sim1)
    check = ansible.playbook(play, check=True)
    assert not check.failed and check.changed, check
    assert firewall(sim1) == before, "check mode changed the firewall"
    run = ansible.playbook(play)
    assert not run.failed, run
    assert run.result()["operations"] == check.result()["operations"], "check mode showed other ports than the run picked"
    ports = ports_of(run)
    assert ports == {"80/tcp": ["0.0.0.0:8000", "0.0.0.0:%d" % (last + 2), "127.0.0.1:%d" % (last + 3)]}, ports
    picked = last + 2
    assert not first <= picked <= last
    assert status(sim2, "http://%s:%d/" % (sim1.address, picked)) == "200"      # another host, through the picked port
    assert status(sim2, "http://%s:8000/" % sim1.address) == "200"              # the range's port
    assert status(sim1, "http://127.0.0.1:%d/" % (last + 3)) == "200"           # the loopback one, from the host
    assert status(sim2, "http://%s:%d/" % (sim1.address, last + 3)) == "000"    # ... and not from elsewhere
    again = ansible.playbook(play)
    assert not again.failed and not again.changed and ports_of(again) == ports, again
    recheck = ansible.playbook(play, check=True)
    assert not recheck.failed and not recheck.changed, recheck
    info = ansible.adhoc("sim1", "net_info", {"netns": ["web"], "brief": True})
    (web,) = info.result()["sandboxes"]
    assert web["ports"] == ports, "net_info answers as docker port"


def test_a_container_range_gets_a_random_port_for_each_of_its_ports(network, backend, ansible, sim1, fleet, processes):
    """Docker's -p 80-81: each container port on a host port of its own, each reaching its own port."""
    sim2 = fleet.host("sim2")
    processes.start(sim1, "ip netns exec web /usr/bin/python3 -m http.server 81")
    sh(sim1, "for i in $(seq 300); do ip netns exec web ss -Htln | grep -q ':81 ' && exit 0; sleep 0.1; done; exit 1")
    play = publish('["80-81"]')
    run = ansible.playbook(play)
    assert not run.failed, run
    ports = ports_of(run)
    assert sorted(ports) == ["80/tcp", "81/tcp"], ports
    (eighty,), (eighty_one,) = ports["80/tcp"], ports["81/tcp"]
    assert eighty != eighty_one, ports
    for published in (eighty, eighty_one):
        assert status(sim2, "http://%s:%s/" % (sim1.address, published.rpartition(":")[2])) == "200", published
    # the sandbox's server on 81 is told apart from the one on 80: stop it, its port alone goes dark
    sh(sim1, "ip netns exec web ss -Htlnp 'sport = :81' | grep -o 'pid=[0-9]*' | cut -d= -f2 | xargs -r kill")
    assert status(sim2, "http://%s:%s/" % (sim1.address, eighty_one.rpartition(":")[2])) == "000"
    assert status(sim2, "http://%s:%s/" % (sim1.address, eighty.rpartition(":")[2])) == "200"
    again = ansible.playbook(play)
    assert not again.failed and not again.changed and ports_of(again) == ports, again


def test_a_kept_port_that_a_host_process_took_fails_naming_it(network, ansible, sim1, processes):
    run = ansible.playbook(publish('["80"]'))
    assert not run.failed, run
    (picked,) = ports_of(run)["80/tcp"]
    port = int(picked.rpartition(":")[2])
    processes.start(sim1, "/usr/bin/python3 -m http.server %d" % port)
    sh(sim1, "for i in $(seq 300); do ss -Htln | grep -q ':%d ' && exit 0; sleep 0.1; done; exit 1" % port)
    before = snapshot(sim1)
    refused = ansible.playbook(publish('["80"]'))
    assert refused.failed
    msg = json.dumps(refused.results())
    assert ("host port %d/tcp (picked for 80/tcp on an earlier run and kept) is already in use on the host: python3 (pid" % port) in msg, msg
    assert_unchanged(before, snapshot(sim1))


def test_a_dual_stack_sandbox_gets_one_port_for_both_families(dual, backend, ansible, sim1, fleet):
    sim2 = fleet.host("sim2")
    _first, last = ephemeral(sim1)
    run = ansible.four_steps(portmap6("web6", '["80", "[::]::80"]'), snapshot=lambda: firewall(sim1))
    both, six = last + 1, last + 2
    assert ports_of(run) == {"80/tcp": ["0.0.0.0:%d" % both, "[::]:%d" % both, "[::]:%d" % six]}, ports_of(run)
    assert status(sim2, "http://%s:%d/" % (sim1.address, both)) == "200"
    assert status(sim2, "-g -6 http://[%s]:%d/" % (sim1.address6, both)) == "200"
    assert status(sim2, "-g -6 http://[%s]:%d/" % (sim1.address6, six)) == "200"
    assert status(sim2, "http://%s:%d/" % (sim1.address, six)) == "000", "[::]::80 is IPv6 alone"


BINDING = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.sandboxes:
        converge_networks: true
        networks: [{{name: net0, subnet: 172.20.0.0/16, host_binding_ipv4: "{address}"}}]
        config: [{{name: api, network_mode: net0, publish: ["8080:80", "81"]}}]
"""


def served(ansible, sim1, processes, play, netns):
    """PLAY applied in four steps, an HTTP server on port 80 of NETNS (both families), and net_info's answer for it."""
    assert not ansible.four_steps(play, snapshot=lambda: firewall(sim1)).failed
    processes.start(sim1, "ip netns exec %s /usr/bin/python3 -m http.server --bind :: 80" % netns)
    sh(sim1, "for i in $(seq 300); do ip netns exec %s curl -sg -o /dev/null http://[::1]:80/ && exit 0; sleep 0.1; done; exit 1" % netns)
    return ansible.adhoc("sim1", "net_info", {"netns": [netns], "brief": True}).result()["sandboxes"][0]


def test_host_binding_ipv4_publishes_ports_without_an_address_there_alone(backend, ansible, sim1, fleet, processes):
    sim2 = fleet.host("sim2")
    info = served(ansible, sim1, processes, BINDING.format(address=sim1.address), "api")
    _first, last = ephemeral(sim1)
    assert info["published"] == ["%s:%d:81/tcp" % (sim1.address, last + 1), "%s:8080:80/tcp" % sim1.address], info
    assert status(sim2, "http://%s:8080/" % sim1.address) == "200"     # on the binding address
    assert status(sim1, "http://127.0.0.1:8080/") == "000"             # not on the host's other addresses
    assert info["ports"] == {"80/tcp": ["%s:8080" % sim1.address], "81/tcp": ["%s:%d" % (sim1.address, last + 1)]}


BINDING6 = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.sandboxes:
        converge_networks: true
        networks: [{{name: net6, subnet: [172.21.0.0/16, "fd31:21::/64"], ipv6: true, host_binding_ipv4: "{address}"}}]
        config: [{{name: api6, network_mode: net6, publish: ["8080:80", "0.0.0.0:8081:80"]}}]
"""


def test_host_binding_may_be_ipv6_and_0_0_0_0_is_ipv4_alone(backend, ansible, sim1, fleet, processes):
    """Docker: host_binding_ipv4 may be an IPv6 address (ports without an address go there alone),
    and -p 0.0.0.0:8081:80 publishes on IPv4 alone, even for a dual-stack sandbox."""
    sim2 = fleet.host("sim2")
    info = served(ansible, sim1, processes, BINDING6.format(address=sim1.address6), "api6")
    assert info["published"] == ["8081:80/tcp", "[%s]:8080:80/tcp" % sim1.address6], info
    assert status(sim2, "-g -6 http://[%s]:8080/" % sim1.address6) == "200"   # on the binding address
    assert status(sim2, "http://%s:8080/" % sim1.address) == "000"            # not on IPv4
    assert status(sim2, "http://%s:8081/" % sim1.address) == "200"            # 0.0.0.0: IPv4 ...
    assert status(sim2, "-g -6 http://[%s]:8081/" % sim1.address6) == "000"   # ... alone
