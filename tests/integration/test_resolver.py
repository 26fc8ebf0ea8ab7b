# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolver per network (dnsmasq), on a simulated host: asked with dig from the host itself
(the firewall's admission of members to port 53 is another branch's, fw53).

The host's resolv.conf names a lab upstream: a dnsmasq this file starts inside the simulated host
on an address of its own (10.231.180.53), which knows one name, ext.lab.test. Nothing is ever
sent to the machine's real resolver.
"""

from __future__ import annotations

import json
import sys
import threading

import pytest
from conftest import BACKENDS, REPO, sh, snapshot, systemd_host_on, use_backend
from test_portmap import Processes

UPSTREAM = "10.231.180.53"
EXTERNAL = ("ext.lab.test", "10.231.180.9")
NETWORKS = [{"name": "front", "subnet": ["10.231.181.0/24", "fd31:181::/64"], "ipv6": True},
            {"name": "back", "subnet": "10.231.182.0/24", "internal": True}]
SANDBOXES = [{"name": "web", "network_mode": "front", "aliases": ["shared"]},
             {"name": "db", "network_mode": "front", "networks": ["back"], "aliases": ["shared"]}]
FRONT, BACK = "10.231.181.1", "10.231.182.1"
PLAY = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.sandboxes:
        config: {sandboxes}
        networks: {networks}
        converge_networks: true
        state: {state}
"""


def play(sandboxes=None, networks=None, state="merged"):
    return PLAY.format(sandboxes=json.dumps(SANDBOXES if sandboxes is None else sandboxes),
                       networks=json.dumps(NETWORKS if networks is None else networks), state=state)


def dig(host, server, *query):
    """dig's short answer lines (sorted), asked of SERVER from the host itself."""
    return sorted(sh(host, "dig +short +time=2 +tries=1 @%s %s" % (server, " ".join(query))).split())


def status(host, server, name):
    out = sh(host, "dig +time=2 +tries=1 @%s %s" % (server, name))
    return out.split("status: ", 1)[1].split(",", 1)[0]


def pid(host, network):
    return int(sh(host, "cat /run/netmodes-resolver/%s/dnsmasq.pid" % network))


def resolvers(host):
    """The pids of the processes whose command line names a config of ours."""
    # [-]: grep's own command line does not match itself
    out = sh(host, "grep -l -a -- '[-]-conf-file=/run/netmodes-resolver/' /proc/[0-9]*/cmdline 2>/dev/null || true")
    return sorted(int(path.split("/")[2]) for path in out.split())


@pytest.fixture
def host(sim1):
    """sim1 whose resolv.conf names the lab's upstream, which runs until the test ends."""
    saved = sh(sim1, "cat /etc/resolv.conf")
    sh(sim1, "ip link add labup type bridge && ip link set labup up && ip addr add %s/32 dev labup" % UPSTREAM)
    sh(sim1, "dnsmasq --conf-file=/dev/null --no-hosts --no-resolv --listen-address=%s --bind-interfaces"
             " --pid-file=/run/labup.pid --host-record=%s,%s" % (UPSTREAM, *EXTERNAL))
    sim1.run("cat > /etc/resolv.conf", input="nameserver %s\n" % UPSTREAM)
    yield sim1
    sim1.run("kill $(cat /run/labup.pid); rm -f /run/labup.pid", check=False)
    sim1.run("cat > /etc/resolv.conf", input=saved)


def test_it_answers_members_aliases_ptr_over_udp_and_tcp_and_forwards_other_names(ansible, host):
    ansible.four_steps(play(), snapshot=lambda: snapshot(host))  # check mode writes and starts nothing
    web, db = (sh(host, "ip netns exec %s ip -4 -br addr show eth0" % n).split()[2].split("/")[0] for n in ("web", "db"))
    web6 = sh(host, "ip netns exec web ip -6 -br addr show eth0 scope global").split()[2].split("/")[0]
    assert dig(host, FRONT, "web", "A") == [web]
    assert dig(host, FRONT, "web", "AAAA") == [web6], "a dual-stack member has both"
    assert dig(host, "fd31:181::1", "db", "A") == [db], "it listens on the gateway of each family"
    assert set(dig(host, FRONT, "shared", "A")) == {web, db}, "an alias of two members answers with both"
    assert dig(host, FRONT, "-x", db) == ["db."]
    assert dig(host, FRONT, "+tcp", "web", "A") == [web]
    assert dig(host, FRONT, EXTERNAL[0]) == [EXTERNAL[1]], "another name goes to the host's nameserver"
    assert dig(host, BACK, "db", "A") == [sh(host, "ip netns exec db ip -4 -br addr show eth1").split()[2].split("/")[0]]
    assert status(host, BACK, EXTERNAL[0]) == "REFUSED", "an internal network's resolver forwards nothing"


def test_a_member_added_later_is_answered_by_the_same_process(ansible, host):
    assert not ansible.playbook(play()).failed
    before = pid(host, "front")
    check = ansible.playbook(play(SANDBOXES + [{"name": "cache", "network_mode": "front"}]), check=True, diff=True)
    shown = [d for d in check.result()["diff"] if "resolver front" in d.get("after", {})]
    assert shown and "\tcache\n" in shown[0]["after"]["resolver front"]["hosts"], "check mode's diff shows the hosts file's change"
    assert "\tcache\n" not in shown[0]["before"]["resolver front"]["hosts"]
    assert dig(host, FRONT, "cache", "A") == [] and pid(host, "front") == before, "check mode changed nothing"
    run = ansible.playbook(play(SANDBOXES + [{"name": "cache", "network_mode": "front"}]))
    assert not run.failed and run.changed, run
    cache = sh(host, "ip netns exec cache ip -4 -br addr show eth0").split()[2].split("/")[0]
    assert dig(host, FRONT, "cache", "A") == [cache]
    assert pid(host, "front") == before, "no restart: dnsmasq read its hosts file again by itself"


PROBE = "/usr/bin/python3 %s" % (REPO / "tests" / "integration" / "probe.py")


def watch(procs, host, netns, name, server):
    """A process in NETNS of HOST, started now, that resolves NAME the ways a program does
    (getaddrinfo, getent, dig @SERVER) until it finds it; (its pid, the file of what it found)."""
    path = "/run/watch-%s-%s.json" % (netns, name)
    host.run("rm -f %s" % path, check=False)
    started = procs.start(host, "ip netns exec %s %s watch-name %s %s %s" % (netns, PROBE, name, server, path))
    sh(host, "for i in $(seq 50); do test -e %s && exit 0; sleep 0.1; done; exit 1" % path)  # it asked at least once
    return started, path


def found_by(host, watched, ways=3, seconds=30):
    """What the watching process found, once it found the name all WAYS (or after SECONDS: a
    resolver that did not answer would cost glibc its 5 s timeout, twice); and whether it still
    runs (the process that asked before the run, not a new one)."""
    started, path = watched
    found = {}
    for _tick in range(seconds * 10):
        found = json.loads(sh(host, "cat %s" % path) or "{}")
        if len(found) == ways:
            break
        sh(host, "sleep 0.1")
    alive = host.run("kill -0 %s" % started, check=False).returncode == 0
    return found, alive or len(found) == ways  # it ends once it found the name every way


# What explains a failure of the tests below, printed whole (an assertion's message is cut): the
# resolvers' files and sockets, the rules, and both ends' neighbour entries (how a bridge whose MAC
# moved was found: db's entry of its gateway stuck in PROBE).
DEBUG = ("set -x; ls -laR /run/netmodes-resolver; head -50 /run/netmodes-resolver/*/dnsmasq.conf /run/netmodes-resolver/*/hosts/*"
         " /run/netmodes-resolver/*/sandboxes; ss -lunp; nft list ruleset; iptables-save; ip -d link show type bridge;"
         " ip netns exec db ip neigh; ip neigh; cat /proc/net/nf_conntrack; ")


def joins_while_db_resolves(ansible, host, newcomer, debug):
    """Run the declaration, start a process in db that resolves NEWCOMER (a sandbox entry) the three
    ways, add NEWCOMER in a second run, and assert that the running process finds its address every
    way without a restart. DEBUG: a shell command whose output explains a failure."""
    assert not ansible.playbook(play()).failed
    procs, name = Processes(), newcomer["name"]
    try:
        watched = watch(procs, host, "db", name, FRONT)
        sh(host, "sleep 1")
        assert found_by(host, watched, seconds=0)[0] == {}, "%s is no name yet" % name
        run = ansible.playbook(play(SANDBOXES + [newcomer]))
        assert not run.failed and run.changed, run
        address = address_in(host, name)
        found, same = found_by(host, watched)
        if not (found == {"getaddrinfo": [address], "getent": [address], "dig": [address]} and same):
            print("the second run's operations:", json.dumps(run.result()["operations"], indent=1))
            print(host.run("(%s%s) 2>&1" % (DEBUG, debug), check=False).stdout)
        assert found == {"getaddrinfo": [address], "getent": [address], "dig": [address]} and same, (found, same)
    finally:
        procs.stop()


def test_a_running_process_resolves_a_member_that_joins_after_it_started(ansible, host):
    # The trial: a loop in db never resolved cache added later, as a bind-mounted hosts
    # file does not change under a running process. Through the resolver it does, without a restart.
    joins_while_db_resolves(ansible, host, {"name": "cache", "network_mode": "front"},
                            "ip netns exec db dig +short +time=1 +tries=1 @%s cache; ip netns exec db cat /etc/resolv.conf;"
                            " cat /run/netmodes-resolver/front/hosts/front; ps -ef | grep watch-nam[e] || true" % FRONT)


BENCH_CLIENT = "%s %s --client" % (sys.executable, REPO / "bench" / "names.py")   # bench/names.py's probe: one place


def test_a_reload_under_load_loses_no_answer_and_answers_the_new_member(ansible, host):
    # A bounded query loop in web (front's resolver) and in db (its view of front and back): each
    # asks the stable name and the one a run adds, every millisecond, until the new one is answered.
    assert not ansible.playbook(play()).failed
    results = {}

    def ask(netns):
        results[netns] = host.run("ip netns exec %s %s watch %s cache web 60" % (netns, BENCH_CLIENT, FRONT), check=False, timeout=120)

    threads = [threading.Thread(target=ask, args=(netns,)) for netns in ("web", "db")]
    for thread in threads:
        thread.start()
    sh(host, "sleep 1")  # both loops run (cache is no name yet: answered at once, without an address)
    run = ansible.playbook(play(SANDBOXES + [{"name": "cache", "network_mode": "front"}]))
    for thread in threads:
        thread.join()
    assert not run.failed and run.changed, run
    for netns, out in results.items():
        assert out.returncode == 0, (netns, out.stderr)
        found = json.loads(out.stdout.splitlines()[-1])
        print("reload under load, %s: %d queries of a stable name, %d lost (%d timed out)" % (
            netns, found["asked"], found["lost"], found["timed out"]))  # shown with -s
        assert found["first"] is not None, "%s: the new member was never answered" % netns
        assert found["asked"] > 0 and found["lost"] == 0, (netns, found)


def test_a_resolver_killed_by_hand_is_started_again_by_the_next_run(ansible, host):
    assert not ansible.playbook(play()).failed
    killed = pid(host, "front")
    sh(host, "kill %d" % killed)
    # gone once its command line is (a zombie has none): /proc's files have no size to test
    sh(host, "for i in $(seq 50); do grep -qa . /proc/%d/cmdline 2>/dev/null || exit 0; sleep 0.1; done; exit 1" % killed)
    run = ansible.playbook(play())
    assert not run.failed and run.changed, run
    assert pid(host, "front") != killed
    assert dig(host, FRONT, "web", "A") != []


def test_removing_the_networks_leaves_no_process_and_no_files(ansible, host):
    assert not ansible.playbook(play()).failed
    assert len(resolvers(host)) == 3, "front's, back's and db's view of both"
    run = ansible.playbook(play(sandboxes=[], networks=[], state="overridden"))
    assert not run.failed and run.changed, run
    assert resolvers(host) == []
    assert host.run("test -e /run/netmodes-resolver", check=False).returncode != 0, "not even the resolvers' directory"


def test_a_member_asks_it_from_its_sandbox(ansible, host):
    assert not ansible.playbook(play()).failed
    db = sh(host, "ip netns exec db ip -4 -br addr show eth0").split()[2].split("/")[0]
    out = host.run("ip netns exec web dig +short +time=2 +tries=1 @%s db A" % FRONT, check=False)
    assert out.returncode == 0 and out.stdout.split() == [db], out
    tcp = host.run("ip netns exec web dig +short +tcp +time=2 +tries=1 @%s db A" % FRONT, check=False)
    assert tcp.returncode == 0 and tcp.stdout.split() == [db], tcp


# -- resolver views: a sandbox on several networks with resolvers, or with dns servers of its own ----

SIDE = {"name": "side", "subnet": "10.231.183.0/24", "internal": True}
OWN_UPSTREAM, OWN_NAME = "10.231.180.54", ("own.lab.test", "10.231.180.10")


def address_in(host, netns, link="eth0"):
    return sh(host, "ip netns exec %s ip -4 -br addr show %s" % (netns, link)).split()[2].split("/")[0]


def test_a_process_in_a_two_network_sandbox_resolves_a_later_member_of_its_second_network(ansible, host):
    # db is on front and back: its resolv.conf names front's resolver, whose address is
    # redirected, for db, to its view of both; back's members come from there, not its hosts file.
    joins_while_db_resolves(ansible, host, {"name": "vault", "network_mode": "back"},
                            "ip netns exec db cat /etc/resolv.conf; cat /run/netmodes-resolver/view:*/dnsmasq.conf;"
                            " nft list table inet netmodes 2>&1 | grep -A3 view || true")
    assert sh(host, "ip netns exec db getent ahostsv4 web").split()[0] == address_in(host, "web"), "front's members too"
    assert "vault" not in sh(host, "ip netns exec db cat /etc/hosts")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_view_answers_the_networks_of_its_sandboxes_only(ansible, host, backend):
    # web: front only; db: front and back; vault: back and side. The lab's upstream knows none of them.
    use_backend(host, backend)
    sandboxes = SANDBOXES + [{"name": "vault", "network_mode": "back", "networks": ["side"]}]
    assert not ansible.playbook(play(sandboxes, NETWORKS + [SIDE])).failed
    again = ansible.playbook(play(sandboxes, NETWORKS + [SIDE]))
    assert not again.failed and not again.changed, again.result()["operations"]
    views = sh(host, "ls /run/netmodes-resolver").split()
    assert len([v for v in views if v.startswith("view:")]) == 2, views
    assert dig(host, UPSTREAM, "web") == [] and dig(host, UPSTREAM, "vault") == [], "the upstream does not know the members"
    db, web = address_in(host, "db", "eth1"), address_in(host, "web")
    got = host.run("ip netns exec vault getent hosts db", check=False)
    assert got.returncode == 0 and got.stdout.split()[0] == db, got
    assert host.run("ip netns exec vault getent hosts web", check=False).returncode != 0, "web is on no network of vault's"
    assert host.run("ip netns exec web getent hosts vault", check=False).returncode != 0, "nor vault on web's"
    assert sh(host, "ip netns exec db getent ahostsv4 web").split()[0] == web
    # vault cannot ask db's view (of front) itself, at its port on back's gateway: only what was redirected gets there
    view = next(v for v in views if v.startswith("view:") and "front" in sh(host, "cat /run/netmodes-resolver/%s/dnsmasq.conf" % v))
    port = sh(host, "grep ^port= /run/netmodes-resolver/%s/dnsmasq.conf" % view).split("=")[1].strip()
    direct = host.run("ip netns exec vault dig +short +time=1 +tries=1 -p %s @%s web A" % (port, BACK), check=False)
    assert web not in direct.stdout and "timed out" in direct.stdout, direct
    assert sh(host, "ss -Hlun sport = :%s" % port).count(BACK) == 1, "the view listens there: only the firewall kept vault out"


def test_a_sandbox_s_own_dns_servers_are_its_view_s_upstreams(ansible, host):
    sh(host, "ip addr add %s/32 dev labup" % OWN_UPSTREAM)
    sh(host, "dnsmasq --conf-file=/dev/null --no-hosts --no-resolv --listen-address=%s --bind-interfaces"
             " --pid-file=/run/labown.pid --host-record=%s,%s" % (OWN_UPSTREAM, *OWN_NAME))
    try:
        sandboxes = SANDBOXES + [{"name": "own", "network_mode": "front", "dns": [OWN_UPSTREAM]}]
        assert not ansible.playbook(play(sandboxes)).failed
        assert "nameserver %s" % FRONT in sh(host, "ip netns exec own cat /etc/resolv.conf"), "its resolver, as Docker's 127.0.0.11"
        assert sh(host, "ip netns exec own getent hosts %s" % OWN_NAME[0]).split()[0] == OWN_NAME[1], "its servers answer"
        assert host.run("ip netns exec web getent hosts %s" % OWN_NAME[0], check=False).returncode != 0, "web's resolver asks the host's"
        assert sh(host, "ip netns exec own getent ahostsv4 web").split()[0] == address_in(host, "web"), "its network's members still resolve"
        assert host.run("ip netns exec own getent hosts %s" % EXTERNAL[0], check=False).returncode != 0, "not the host's servers"
    finally:
        host.run("kill $(cat /run/labown.pid); rm -f /run/labown.pid; ip addr del %s/32 dev labup" % OWN_UPSTREAM, check=False)


# -- where systemd runs: netmodes-resolver@<network>.service ---------------------------------------

@pytest.fixture(scope="module")
def sdhost(fleet):
    """A simulated host that boots systemd, on the fleet's lab (conftest.systemd_host_on)."""
    yield from systemd_host_on(fleet, "sd62", 62, "sdresolver")


def test_where_systemd_runs_it_is_a_unit_of_the_template(ansible, fleet, sdhost, tmp_path):
    inventory = tmp_path / "sd.ini"
    inventory.write_text("sd62 ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s ansible_python_interpreter=%s\n"
                         % (sdhost.address, fleet.workdir / "id_ed25519", sys.executable))

    def site(sandboxes, networks, state="merged"):
        path = tmp_path / "play.yml"
        path.write_text(play(sandboxes, networks, state).replace("hosts: sim1", "hosts: sd62"))
        return ansible._run(["ansible-playbook", "-i", str(inventory), str(path)], False, False)

    unit = "netmodes-resolver@front.service"
    assert sdhost.ssh("test -e /etc/systemd/system/netmodes-resolver@.service", check=False).returncode != 0
    run = site(SANDBOXES, NETWORKS)
    assert not run.failed and run.changed, (run, [r["result"].get("msg") for r in run.records if r["status"] == "failed"])
    assert sdhost.ssh("systemctl is-active %s" % unit, check=False).stdout.strip() == "active"
    assert "--conf-file=/run/netmodes-resolver/front/dnsmasq.conf" in sdhost.ssh("systemctl show -p ExecStart %s" % unit).stdout
    web = sdhost.ssh("ip netns exec web ip -4 -br addr show eth0").stdout.split()[2].split("/")[0]
    assert sdhost.ssh("dig +short +time=2 +tries=1 @%s web A" % FRONT).stdout.split() == [web]
    main = sdhost.ssh("systemctl show -p MainPID --value %s" % unit).stdout.strip()
    again = site(SANDBOXES + [{"name": "cache", "network_mode": "front"}], NETWORKS)
    assert not again.failed and again.changed, again
    assert sdhost.ssh("systemctl show -p MainPID --value %s" % unit).stdout.strip() == main, "a new member: no restart"
    assert sdhost.ssh("dig +short +time=2 +tries=1 @%s cache A" % FRONT).stdout.split() != []
    sdhost.ssh("systemctl stop %s" % unit)
    repaired = site(SANDBOXES + [{"name": "cache", "network_mode": "front"}], NETWORKS)
    assert not repaired.failed and repaired.changed, repaired
    assert sdhost.ssh("systemctl is-active %s" % unit, check=False).stdout.strip() == "active", "stopped by hand, started again"
    gone = site([], [], "overridden")
    assert not gone.failed and gone.changed, gone
    assert sdhost.ssh("systemctl is-active %s" % unit, check=False).stdout.strip() != "active"
    assert sdhost.ssh("test -e /run/netmodes-resolver/front", check=False).returncode != 0
    assert sdhost.ssh("test -e /etc/systemd/system/netmodes-resolver@.service", check=False).returncode != 0, "the template went with the last"
    assert [op["action"] for op in gone.result("sd62")["operations"] if op["object"] == "file /etc/systemd/system/netmodes-resolver@.service"] \
        == ["delete"]


def test_an_overlay_s_resolver_answers_the_members_on_the_other_host_and_follows_them(ansible, hosts, tmp_path):
    sim1, sim2 = hosts[:2]
    saved = {h.name: sh(h, "cat /etc/resolv.conf") for h in (sim1, sim2)}
    for h in (sim1, sim2):  # never the machine's resolver, even for a name asked by mistake
        h.run("cat > /etc/resolv.conf", input="nameserver %s\n" % UPSTREAM)
    overlay = {"name": "ovr", "driver": "overlay", "hosts": "ovr", "subnet": "10.231.184.0/24"}

    def site(sim2_sandboxes):
        inventory = tmp_path / "overlay.json"
        inventory.write_text(json.dumps({"all": {
            "hosts": {"sim1": {"netmodes_sandboxes": [{"name": "o1", "network_mode": "ovr"}]},
                      "sim2": {"netmodes_sandboxes": sim2_sandboxes}},
            "vars": {"netmodes_networks": [overlay], "netmodes_requirements": False},
            "children": {"ovr": {"hosts": {"sim1": {}, "sim2": {}}}}}}))
        return ansible._run(["ansible-playbook", "-i", str(inventory), "netmodes.linux.site"], False, False)

    procs = Processes()
    try:
        run = site([{"name": "o2", "network_mode": "ovr"}])
        assert not run.failed, run
        gateway = sh(sim1, "ip -4 -br addr show ovr").split()[2].split("/")[0]
        o2 = sh(sim2, "ip netns exec o2 ip -4 -br addr show eth0").split()[2].split("/")[0]
        assert dig(sim1, gateway, "o2", "A") == [o2], "sim1's resolver answers a member on sim2"
        before = pid(sim1, "ovr")
        watched = watch(procs, sim1, "o1", "o3", gateway)  # a process in o1 that asks before o3 exists
        run = site([{"name": "o2", "network_mode": "ovr"}, {"name": "o3", "network_mode": "ovr"}])
        assert not run.failed, run
        o3 = sh(sim2, "ip netns exec o3 ip -4 -br addr show eth0").split()[2].split("/")[0]
        assert dig(sim1, gateway, "o3", "A") == [o3], "a member joining on another host is answered after the run"
        assert pid(sim1, "ovr") == before, "without a restart"
        found, same = found_by(sim1, watched)
        assert found == {"getaddrinfo": [o3], "getent": [o3], "dig": [o3]} and same, found
    finally:
        procs.stop()
        for h in (sim1, sim2):
            h.run("cat > /etc/resolv.conf", input=saved[h.name])


def test_a_network_gaining_ipv6_restarts_its_resolver_on_both_gateways(ansible, host):
    four = [dict(NETWORKS[0], subnet="10.231.181.0/24", ipv6=False), NETWORKS[1]]
    assert not ansible.playbook(play(networks=four)).failed
    before = pid(host, "front")
    run = ansible.playbook(play())
    assert not run.failed and run.changed, run
    ops = [(op["object"], op.get("field"), op.get("after")) for op in run.result()["operations"] if op["object"] == "resolver front"]
    assert ("resolver front", "process", "restarted") in ops, ops
    assert pid(host, "front") != before
    web6 = sh(host, "ip netns exec web ip -6 -br addr show eth0 scope global").split()[2].split("/")[0]
    assert dig(host, "fd31:181::1", "web", "AAAA") == [web6]
