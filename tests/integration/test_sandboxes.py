# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole host in Docker's vocabulary (networks and sandboxes modules), with real traffic and names."""

from __future__ import annotations

import json

import pytest
from conftest import BACKENDS, assert_unchanged, firewall, sh, sh_json, snapshot, use_backend
from test_portmap import Processes, status

from ansible_collections.netmodes.linux.tests.shared.sandboxes import EVERY_MODE

# Names through hosts files here (dns: false); test_names_with_and_without_a_resolver has both.
NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16", "dns": False}, {"name": "back", "subnet": "172.30.0.0/24", "internal": True, "dns": False}]
SANDBOXES = EVERY_MODE

PLAY = """
- hosts: sim1
  gather_facts: false
  vars:
    networks: {networks}
    sandboxes: {sandboxes}
  tasks:
    - netmodes.linux.networks: {{config: "{{{{ networks }}}}"}}
    - netmodes.linux.sandboxes: {{config: "{{{{ sandboxes }}}}", networks: "{{{{ networks }}}}", state: {state}}}
"""


def play(sandboxes=None, state="merged", networks=None):
    return PLAY.format(networks=json.dumps(NETWORKS if networks is None else networks),
                       sandboxes=json.dumps(SANDBOXES if sandboxes is None else sandboxes), state=state)


def links(host, netns):
    return sorted(link["ifname"] for link in sh_json(host, "ip netns exec %s ip -j link show" % netns))


def test_a_host_in_dockers_vocabulary(ansible, sim1, fleet):
    procs = Processes()
    try:
        run = ansible.four_steps(play())
        found = run.results()[-1]["sandboxes"]
        assert found["web"]["addresses"] == ["172.18.0.2/16"] and found["db"]["addresses"] == ["172.18.0.3/16", "172.30.0.2/24"]
        # none mode: only lo; container mode: web's interfaces and address
        assert links(sim1, "quiet") == ["lo"]
        assert sh(sim1, "ip -br addr show eth0", netns="side").split()[2] == "172.18.0.2/16"
        # names: db resolves web by name (user-defined network) and web resolves db's alias
        assert sh(sim1, "getent hosts web", netns="db").split()[0] == "172.18.0.2"
        assert sh(sim1, "getent hosts database", netns="web").split()[0] == "172.18.0.3"
        assert sim1.run("ip netns exec legacy getent hosts web", check=False).returncode != 0, "the default bridge resolves names"
        assert sh(sim1, "ping -c1 -W2 db", netns="web")
        assert sh(sim1, "cat /etc/hostname", netns="web").strip() == "web1"
        # container mode: side sees web's hostname, hosts and resolv.conf (Docker's), not the host's
        for command in ("getent hosts db", "getent hosts database", "cat /etc/resolv.conf", "cat /etc/hosts", "cat /etc/hostname"):
            assert sh(sim1, command, netns="side") == sh(sim1, command, netns="web"), command
        assert sh(sim1, "cat /etc/hosts", netns="side") != sh(sim1, "cat /etc/hosts")
        # publishing: an HTTP server in web answers on the host's port 8080, from another host too
        procs.start(sim1, "ip netns exec web /usr/bin/python3 -m http.server 80")
        sh(sim1, "for i in $(seq 300); do ip netns exec web curl -s -o /dev/null http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1")
        assert status(sim1, "http://127.0.0.1:8080/") == "200"
        assert status(fleet.host("sim2"), "http://%s:8080/" % sim1.address) == "200"
        # host mode: web2 claimed 9090 on the first run; its server may now hold it, and re-runs
        # still converge; a second host-mode server on 9090 is refused naming web2, and one on a
        # port a host process holds is refused naming the process; nothing changes after either
        procs.start(sim1, "/usr/bin/python3 -m http.server 9090")
        sh(sim1, "for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:9090/ && exit 0; sleep 0.1; done; exit 1")
        assert not ansible.playbook(play()).changed
        before = snapshot(sim1)
        cases = [({"name": "web3", "network_mode": "host", "ports": [9090]}, "web3: port 9090/tcp is already declared by host-mode sandbox web2"),
                 ({"name": "web4", "network_mode": "host", "ports": [8081]}, "web4: port 8081/tcp is already in use on the host: python3")]
        for extra, message in cases:
            if extra["name"] == "web4":
                procs.start(sim1, "/usr/bin/python3 -m http.server 8081")
                sh(sim1, "for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:8081/ && exit 0; sleep 0.1; done; exit 1")
            refused = ansible.playbook(play(SANDBOXES + [extra]))
            assert refused.failed
            assert message in json.dumps(refused.results()), refused
            assert_unchanged(before, snapshot(sim1))
    finally:
        procs.stop()


def test_removal_and_pruning(ansible, sim1):
    assert not ansible.playbook(play()).failed
    keep = [s for s in SANDBOXES if s["name"] in ("web", "db")]
    run = ansible.playbook(play(keep, state="overridden"))
    assert not run.failed, run
    assert sorted(sh(sim1, "ip netns list | cut -d' ' -f1").split()) == ["db", "web"]
    assert sh(sim1, "ls -A /etc/netns").split() == [".netmodes", "db", "web"], "side's link went, web's files stay"
    assert not ansible.playbook(play(keep)).changed


# Issue 18: a network with a resolver answers for its members. A member's resolv.conf names it (the
# network's gateway; the host's search and options kept) and its hosts file lists no member of it;
# the members of a network with dns: false are listed as before. A container-mode sandbox shows
# its target's files through /etc/netns/NAME, a link to the target's directory: always as they are.
RESOLVING = [{"name": "br0", "subnet": "172.18.0.0/16"}, {"name": "back", "subnet": "172.30.0.0/24", "internal": True, "dns": False}]
NAMED = [{"name": "web", "network_mode": "br0", "hostname": "web1"}, {"name": "db", "network_mode": "br0", "networks": ["back"], "aliases": ["database"]},
         {"name": "cache", "network_mode": "back"}, {"name": "side", "network_mode": "container:web"}]


def resolv(host, netns):
    return [line for line in sh(host, "cat /etc/resolv.conf", netns=netns).splitlines() if line.startswith(("nameserver", "search", "options"))]


def test_names_with_and_without_a_resolver(ansible, sim1):
    host = [line for line in sh(sim1, "cat /etc/resolv.conf").splitlines() if line.startswith(("search", "options"))]
    ansible.four_steps(play(NAMED, networks=RESOLVING))
    assert resolv(sim1, "web") == ["nameserver 172.18.0.1"] + host, "br0's resolver, on its gateway"
    assert resolv(sim1, "db") == ["nameserver 172.18.0.1"] + host
    assert "172.18.0.1" not in resolv(sim1, "cache")[0], "back has no resolver: the host's nameservers"
    web_hosts = sh(sim1, "cat /etc/hosts", netns="web")
    assert "172.18.0.2\tweb1\n" in web_hosts and "db" not in web_hosts and "database" not in web_hosts, web_hosts
    # back (dns: false): its members list each other
    assert sh(sim1, "getent hosts db", netns="cache").split() == ["172.30.0.2", "db"]
    assert sh(sim1, "getent hosts database", netns="cache").split() == ["172.30.0.2", "database"]
    assert sh(sim1, "getent hosts cache", netns="db").split() == ["172.30.0.3", "cache"]
    assert "172.18." not in sh(sim1, "cat /etc/hosts", netns="db").split("db\n", 1)[1], "no line of br0's members"
    # side shows web's files: the files web's processes see, also once they change
    assert sh(sim1, "readlink /etc/netns/side").strip() == "web"
    for command in ("cat /etc/resolv.conf", "cat /etc/hosts", "cat /etc/hostname"):
        assert sh(sim1, command, netns="side") == sh(sim1, command, netns="web"), command
    renamed = [dict(s, hostname="web2") if s["name"] == "web" else s for s in NAMED]
    assert ansible.playbook(play(renamed, networks=RESOLVING)).changed
    assert sh(sim1, "cat /etc/hostname", netns="side").strip() == "web2"
    assert "172.18.0.2\tweb2\n" in sh(sim1, "cat /etc/hosts", netns="side")
    # dns: false on br0 lists its members again, in side too
    plain = [dict(RESOLVING[0], dns=False), RESOLVING[1]]
    assert ansible.playbook(play(renamed, networks=plain)).changed
    assert sh(sim1, "getent hosts db", netns="side").split()[0] == "172.18.0.3"
    assert "172.18.0.1" not in resolv(sim1, "side")[0]
    # side leaves: its link goes, web's files stay
    leaving = [s for s in renamed if s["name"] != "side"] + [{"name": "side", "network_mode": "container:web", "state": "absent"}]
    assert not ansible.playbook(play(leaving, networks=plain)).failed
    assert sim1.run("test -e /etc/netns/side -o -L /etc/netns/side", check=False).returncode != 0
    assert sh(sim1, "cat /etc/hostname", netns="web").strip() == "web2"


def serve_name(procs, host, name):
    """An HTTP server in sandbox NAME whose /who answers NAME."""
    sh(host, f"mkdir -p /tmp/who-{name} && echo {name} > /tmp/who-{name}/who")
    procs.start(host, "ip netns exec %s /usr/bin/python3 -m http.server 80 --directory /tmp/who-%s" % (name, name))
    sh(host, "for i in $(seq 300); do ip netns exec %s curl -s -o /dev/null http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1" % name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_published_ports_move_between_sandboxes_in_one_run(ansible, sim1, backend):
    """A host port given to another sandbox (declared first, so built first) or swapped between two."""
    use_backend(sim1, backend)

    def publish(**ports):
        return [{"name": name, "network_mode": "br0", "publish": ["%d:80" % port]} for name, port in ports.items()]

    def answers():
        return {port: sh(sim1, "curl -s -m 3 http://127.0.0.1:%d/who" % port).strip() for port in (8080, 8081, 8082)}

    procs = Processes()
    try:
        assert not ansible.playbook(play(publish(web=8080, db=8081))).failed
        for name in ("web", "db"):
            serve_name(procs, sim1, name)
        # api takes web's port and web takes db's: each taker is declared before the one giving it up
        run = ansible.four_steps(play(publish(api=8080, web=8081, db=8082)))
        assert not run.failed, run
        serve_name(procs, sim1, "api")
        assert answers() == {8080: "api", 8081: "web", 8082: "db"}
        # two sandboxes swap their ports
        assert not ansible.playbook(play(publish(api=8080, web=8082, db=8081))).failed
        assert not ansible.playbook(play(publish(api=8080, web=8082, db=8081))).changed
        assert answers() == {8080: "api", 8081: "db", 8082: "web"}
    finally:
        procs.stop()


def test_a_sandbox_leaves_networks_it_no_longer_declares(ansible, sim1):
    """As docker network disconnect: db leaves its second network, then web goes to none mode."""
    assert not ansible.playbook(play()).failed
    db_alone = [dict(s, networks=[]) if s["name"] == "db" else s for s in SANDBOXES]
    ansible.four_steps(play(db_alone))
    assert links(sim1, "db") == ["eth0", "lo"]
    assert sh(sim1, "ip -br addr show eth0", netns="db").split()[2] == "172.18.0.3/16", "its link on br0 stays"
    quiet_web = [{"name": "web", "network_mode": "none"} if s["name"] == "web" else s for s in db_alone if s["name"] != "side"]
    ansible.four_steps(play(quiet_web))
    assert links(sim1, "web") == ["lo"]
    assert "8080" not in firewall(sim1), "nothing is published for a sandbox without a network"
