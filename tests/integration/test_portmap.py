# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netmodes.linux.portmap with real traffic: an HTTP server in a sandbox, curl from everywhere.

Every test runs twice: on an nftables host and on an iptables-legacy host (``auto`` picks the
backend from the host's ``iptables --version``, as on a real machine).
"""

from __future__ import annotations

import pytest
from conftest import BACKENDS, add_foreign, assert_unchanged, firewall, foreign_state, sh, snapshot, use_backend

NETWORK = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.bridge: {name: br0, addresses: [172.18.0.1/16]}
    - netmodes.linux.netns: {name: "{{ item }}"}
      loop: [web, db]
    - netmodes.linux.veth:
        name: "veth-{{ item.name }}"
        netns: "{{ item.name }}"
        bridge: br0
        addresses: ["{{ item.ip }}/16"]
        gateway: 172.18.0.1
      loop: [{name: web, ip: 172.18.0.10}, {name: db, ip: 172.18.0.11}]
"""

PUBLISH = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.portmap:
        netns: web
        bridge: br0
        ports: {ports}
        state: {state}
"""


def publish(ports, state="present"):
    return PUBLISH.format(ports=ports, state=state)


class Processes:
    """Background processes started inside a simulated host, ended by PID after the test."""

    def __init__(self):
        self.started = []

    def start(self, host, command):
        pid = sh(host, "cd /tmp && setsid %s >/dev/null 2>&1 </dev/null & echo $!" % command).strip()
        self.started.append((host, pid))
        return pid

    def stop(self):
        for host, pid in self.started:
            host.run("kill %s" % pid, check=False)


@pytest.fixture
def processes():
    procs = Processes()
    yield procs
    procs.stop()


@pytest.fixture(params=BACKENDS)
def backend(request, sim1):
    use_backend(sim1, request.param)
    return request.param


@pytest.fixture
def network(backend, ansible, sim1, fleet, processes):
    add_foreign(sim1, "nft", "legacy")
    run = ansible.playbook(NETWORK)
    assert not run.failed, run
    for name, ip in (("web", "172.18.0.10"), ("db", "172.18.0.11")):
        sh(sim1, "mkdir -p /etc/netns/%s && printf '127.0.0.1 localhost\\n%s %s\\n' > /etc/netns/%s/hosts" % (name, ip, name, name))
    processes.start(sim1, "ip netns exec web /usr/bin/python3 -m http.server 80")
    sh(sim1, "for i in $(seq 300); do ip netns exec web curl -s -o /dev/null http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1")
    yield


def status(host, url, netns=None):
    return sh(host, "sh -c \"curl -s -o /dev/null -w '%%{http_code}' -m 3 %s || true\"" % url, netns=netns).strip()


def test_publish_and_reach_from_everywhere(network, backend, ansible, sim1, fleet):
    sim2 = fleet.host("sim2")
    theirs = foreign_state(sim1)
    pristine = firewall(sim1)
    run = ansible.four_steps(publish('["8080:80", "127.0.0.1:8081:80"]'), snapshot=lambda: firewall(sim1))
    assert run.result()["backend"] == backend

    assert status(sim1, "http://127.0.0.1:8080/") == "200"              # the host, through loopback
    assert status(sim1, "http://%s:8080/" % sim1.address) == "200"      # the host, through its lab address
    assert status(sim2, "http://%s:8080/" % sim1.address) == "200"      # another host
    assert status(sim1, "http://%s:8080/" % sim1.address, netns="db") == "200"   # hairpin, same bridge
    assert status(sim1, "http://127.0.0.1:8081/") == "200"              # localhost publishing ...
    assert status(sim2, "http://%s:8081/" % sim1.address) == "000"      # ... is not reachable from elsewhere
    assert foreign_state(sim1) == theirs, "a foreign table or chain changed"

    run = ansible.four_steps(publish("[]", state="absent"))
    assert run.result()["published"] == []
    assert firewall(sim1) == pristine, "state=absent left rules behind"
    assert status(sim2, "http://%s:8080/" % sim1.address) == "000"


def test_a_port_published_by_another_sandbox_fails_naming_it(network, ansible, sim1):
    assert not ansible.playbook(publish('["8080:80"]')).failed
    before = snapshot(sim1)
    run = ansible.adhoc("sim1", "portmap", {"netns": "db", "bridge": "br0", "ports": ["8080:80"]})
    assert run.failed
    assert "host port 8080/tcp is already published by sandbox web" in run.result()["msg"]
    assert_unchanged(before, snapshot(sim1))


def test_a_port_held_by_a_host_process_fails_naming_it(network, ansible, sim1, processes):
    processes.start(sim1, "/usr/bin/python3 -m http.server 9090")
    sh(sim1, "for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:9090/ && exit 0; sleep 0.1; done; exit 1")
    before = snapshot(sim1)
    run = ansible.adhoc("sim1", "portmap", {"netns": "web", "bridge": "br0", "ports": ["9090:80"]})
    assert run.failed
    msg = run.result()["msg"]
    assert "host port 9090/tcp is already in use on the host: python3 (pid" in msg and "0.0.0.0:9090" in msg, msg
    assert_unchanged(before, snapshot(sim1))


def test_ranges_and_udp(network, ansible, sim1, processes):
    processes.start(sim1, "ip netns exec web /usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
                          " s.bind(('0.0.0.0', 5301)); [s.sendto(b'pong:'+d, a) for d, a in iter(lambda: s.recvfrom(100), None)]\"")
    run = ansible.playbook(publish('["5300-5302:5300-5302/udp", "8000-8001:80-81"]'))
    assert not run.failed, run
    assert run.result()["published"] == ["5300-5302:5300-5302/udp", "8000:80/tcp", "8001:81/tcp"]
    assert status(sim1, "http://%s:8000/" % sim1.address) == "200"
    reply = sh(sim1, "/usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3);"
                     " s.sendto(b'ping', ('%s', 5301)); print(s.recvfrom(100)[0].decode())\"" % sim1.address)
    assert reply.strip() == "pong:b'ping'" or reply.strip() == "pong:ping"


# -- IPv6 (issue 17) --------------------------------------------------------------------------------
# A dual-stack sandbox on a Linux bridge that is not ours (the bridge module's dual-stack networks
# are the lead's part of issue 17): only the portmap module's rules and forwarding are at work.
DUAL = r"""
ip link add br6 type bridge && ip addr add 10.231.161.1/24 dev br6 && ip addr add fd31:9b5e:c207:161::1/64 dev br6 nodad
ip link set br6 up
for ns in web6:10 v4only:11; do
  name=${ns%:*}; n=${ns#*:}
  ip netns add $name && ip link add veth-$name type veth peer name eth0 netns $name && ip link set veth-$name master br6 up
  ip -n $name link set lo up && ip -n $name link set eth0 up && ip -n $name addr add 10.231.161.$n/24 dev eth0
  ip -n $name route add default via 10.231.161.1
done
ip -n web6 addr add fd31:9b5e:c207:161::10/64 dev eth0 nodad && ip -n web6 -6 route add default via fd31:9b5e:c207:161::1
"""
WEB6 = "fd31:9b5e:c207:161::10"


# Someone else's ip6tables-legacy rules, in every table we write (the kernel keeps a legacy table
# once made, so a host that had none would keep empty ones after we leave).
THEIRS6 = ("ip6tables-legacy -N THEIRS6 && ip6tables-legacy -A THEIRS6 -p tcp --dport 9999 -j RETURN && ip6tables-legacy -I FORWARD -j THEIRS6"
           " && ip6tables-legacy -t nat -A PREROUTING -p tcp --dport 9998 -j RETURN && ip6tables-legacy -t raw -A PREROUTING -p udp --dport 9997")


@pytest.fixture
def dual(backend, sim1, processes):
    sh(sim1, DUAL)
    sh(sim1, THEIRS6)
    processes.start(sim1, "ip netns exec web6 /usr/bin/python3 -m http.server --bind :: 80")
    sh(sim1, "for i in $(seq 300); do ip netns exec web6 curl -sg -o /dev/null http://[::1]:80/ && exit 0; sleep 0.1; done; exit 1")


def portmap6(netns, ports, state="present"):
    return PUBLISH.replace("netns: web", "netns: %s" % netns).replace("bridge: br0", "bridge: br6").format(ports=ports, state=state)


def test_a_dual_stack_sandbox_is_published_on_both_families(dual, backend, ansible, sim1, fleet):
    sim2 = fleet.host("sim2")
    pristine = firewall(sim1)
    run = ansible.four_steps(portmap6("web6", '["8080:80"]'), snapshot=lambda: firewall(sim1))
    assert run.result()["published"] == ["8080:80/tcp", "[::]:8080:80/tcp"] and run.result()["address6"] == WEB6
    assert status(sim2, "-g -6 http://[%s]:8080/" % sim1.address6) == "200"   # another host, over IPv6
    assert status(sim2, "http://%s:8080/" % sim1.address) == "200"            # and over IPv4
    assert status(sim1, "-g -6 http://[%s]:8080/" % sim1.address6) == "200"   # the host itself
    assert sh(sim1, "sysctl -n net.ipv6.conf.eth0.force_forwarding net.ipv6.conf.all.forwarding").split() == ["1", "0"], \
        "IPv6 forwarding on the uplink only, never all/forwarding"

    ansible.four_steps(portmap6("web6", "[]", state="absent"))
    assert firewall(sim1) == pristine, "state=absent left rules behind (ip6tables-legacy included)"
    assert sh(sim1, "sysctl -n net.ipv6.conf.eth0.force_forwarding").strip() == "0"
    assert status(sim2, "-g -6 http://[%s]:8080/" % sim1.address6) == "000"


def test_an_ipv6_port_of_a_sandbox_without_ipv6_is_refused_naming_the_proxy(dual, ansible, sim1):
    before = snapshot(sim1)
    for ports, words in ((["[::]:8090:80"], "has no IPv6 address on bridge br6, so Docker would need its userland proxy"),
                         (["[::1]:8090:80"], "publishing on ::1 needs Docker's userland proxy")):
        run = ansible.adhoc("sim1", "portmap", {"netns": "v4only", "bridge": "br6", "ports": ports})
        assert run.failed and words in run.result()["msg"], run.result()
    assert_unchanged(before, snapshot(sim1))


# A dual-stack network of the bridge module (its IPv6 policy: fwd-in's exposed6, the hairpin's
# ip6 masquerade), published from another host and from a member of the same bridge.
NETWORK6 = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.bridge: {name: br0, addresses: [172.18.0.1/16, "fd31:9b5e:c207:118::1/64"]}
    - netmodes.linux.netns: {name: "{{ item }}"}
      loop: [web, db]
    - netmodes.linux.veth:
        name: "veth-{{ item.name }}"
        netns: "{{ item.name }}"
        bridge: br0
        addresses: ["{{ item.ip }}/16", "{{ item.ip6 }}/64"]
        gateway: [172.18.0.1, "fd31:9b5e:c207:118::1"]
        ipv6: "on"
      loop: [{name: web, ip: 172.18.0.10, ip6: "fd31:9b5e:c207:118::10"}, {name: db, ip: 172.18.0.11, ip6: "fd31:9b5e:c207:118::11"}]
"""


def test_a_dual_stack_network_of_ours_publishes_ipv6_to_other_hosts_and_its_members(backend, ansible, sim1, fleet, processes):
    sim2 = fleet.host("sim2")
    assert not ansible.playbook(NETWORK6).failed
    processes.start(sim1, "ip netns exec web /usr/bin/python3 -m http.server --bind :: 80")
    sh(sim1, "for i in $(seq 300); do ip netns exec web curl -sg -o /dev/null http://[::1]:80/ && exit 0; sleep 0.1; done; exit 1")
    run = ansible.four_steps(publish('["8080:80"]'), snapshot=lambda: firewall(sim1))
    assert run.result()["published"] == ["8080:80/tcp", "[::]:8080:80/tcp"]
    assert status(sim2, "-g -6 http://[%s]:8080/" % sim1.address6) == "200"                 # another host
    assert status(sim1, "-g -6 http://[%s]:8080/" % sim1.address6, netns="db") == "200"     # hairpin, same bridge
    sh(sim2, "ip -6 route add fd31:9b5e:c207:118::/64 via %s" % sim1.address6)   # sim2 routes to the network itself
    try:
        assert status(sim2, "-g -6 http://[fd31:9b5e:c207:118::10]:80/") == "000", "an unpublished port reached from outside"
    finally:
        sh(sim2, "ip -6 route del fd31:9b5e:c207:118::/64")
    assert status(sim2, "http://%s:8080/" % sim1.address) == "200"
