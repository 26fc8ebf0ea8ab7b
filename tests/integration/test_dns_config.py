# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netmodes.linux.dns_config: what processes started by `ip netns exec` see as /etc/*.

The host resolv.conf each test sets is written inside the simulated host, whose /etc is an
overlay of its own (and /run a tmpfs of its own); the fixture puts it back afterwards.
"""

from __future__ import annotations

import re

import pytest
from conftest import assert_unchanged, sh, snapshot

HOST_RESOLV = "nameserver 10.231.0.53\nsearch corp.example\noptions ndots:2 timeout:1\n"


def write(host, path, text):
    host.run("mkdir -p $(dirname %s) && cat > %s" % (path, path), input=text)


def lines(host, path, netns=None, prefix=""):
    return [line for line in sh(host, "cat %s" % path, netns=netns).splitlines() if line.startswith(prefix)]


def files_state(host):
    """Every file under /etc/netns with its content, for 'check mode changed nothing'."""
    return sh(host, "cd /etc && find netns -exec ls -ld --time-style=+ {} \\; -type f -exec cat {} \\; 2>/dev/null || true")


@pytest.fixture
def sim(sim1):
    """sim1 with HOST_RESOLV as its resolv.conf and a sandbox web; both put back afterwards."""
    saved = sh(sim1, "cat /etc/resolv.conf")
    write(sim1, "/etc/resolv.conf", HOST_RESOLV)
    sh(sim1, "ip netns add web && ip -n web link set lo up")
    yield sim1
    write(sim1, "/etc/resolv.conf", saved)
    sim1.run("rm -rf /etc/netns /run/systemd")


def test_acceptance_adhoc(ansible, sim):
    run = ansible.adhoc("sim1", "dns_config", "netns=web hostname=web1 nameservers=1.1.1.1 extra_hosts=db:10.231.9.9")
    assert not run.failed and run.changed, run
    assert sh(sim, "getent hosts db", netns="web").split() == ["10.231.9.9", "db"]
    assert lines(sim, "/etc/resolv.conf", "web", "nameserver") == ["nameserver 1.1.1.1"]
    assert lines(sim, "/etc/resolv.conf", "web", "search") == ["search corp.example"]
    assert lines(sim, "/etc/resolv.conf", "web", "options") == ["options ndots:2 timeout:1"]
    assert sh(sim, "cat /etc/hostname", netns="web") == "web1\n"
    # The kernel host name is the UTS namespace's, which a network namespace does not change.
    assert sh(sim, "hostname", netns="web").strip() == "sim1"
    assert sh(sim, "cat /etc/hostname").strip() == "sim1", "the host's own file is untouched"
    assert run.result()["resolv_conf"] == {"nameservers": ["1.1.1.1"], "search": ["corp.example"], "options": ["ndots:2", "timeout:1"]}


def test_acceptance_stub_only_gives_google_and_a_warning(ansible, sim):
    write(sim, "/etc/resolv.conf", "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n")
    run = ansible.adhoc("sim1", "dns_config", "netns=web")
    assert not run.failed, run
    assert lines(sim, "/etc/resolv.conf", "web", "nameserver") == ["nameserver 8.8.8.8", "nameserver 8.8.4.4"]
    assert "using 8.8.8.8, 8.8.4.4" in run.stderr + run.stdout, run
    # With systemd-resolved's own file present, its upstream servers are used instead.
    write(sim, "/run/systemd/resolve/resolv.conf", "nameserver 10.231.0.53\nsearch lan\n")
    again = ansible.adhoc("sim1", "dns_config", "netns=web")
    assert again.changed and not again.failed, again
    assert lines(sim, "/etc/resolv.conf", "web", "nameserver") == ["nameserver 10.231.0.53"]
    assert lines(sim, "/etc/resolv.conf", "web", "search") == ["search lan"]


PLAY = """
- hosts: sim1
  gather_facts: false
  tasks:
    - name: Bridge
      netmodes.linux.bridge:
        name: br0
        addresses: [10.231.200.1/24]
    - name: Sandbox
      netmodes.linux.netns:
        name: app
    - name: Plug it in
      netmodes.linux.veth:
        name: veth-app
        netns: app
        bridge: br0
        addresses: [10.231.200.10/24]
        gateway: 10.231.200.1
    - name: Its files
      netmodes.linux.dns_config:
        netns: app
        hostname: app1
        domainname: corp.example
        search: [svc.corp.example]
        options: [ndots:1]
        extra_hosts: {cache: 10.231.9.10}
        peers:
          - db:10.231.200.11
          - api:10.231.200.12
"""


def test_playbook_four_steps_and_what_the_sandbox_sees(ansible, sim):
    run = ansible.four_steps(PLAY, snapshot=lambda: (snapshot(sim), files_state(sim)))
    assert sh(sim, "getent hosts db", netns="app").split() == ["10.231.200.11", "db"]
    assert sh(sim, "getent hosts app1", netns="app").split() == ["10.231.200.10", "app1.corp.example", "app1"]
    assert sh(sim, "getent hosts cache", netns="app").split() == ["10.231.9.10", "cache"]
    assert sh(sim, "cat /etc/hostname", netns="app") == "app1\n"
    assert lines(sim, "/etc/resolv.conf", "app", "nameserver") == ["nameserver 10.231.0.53"]
    assert lines(sim, "/etc/resolv.conf", "app", "search") == ["search svc.corp.example"]
    assert lines(sim, "/etc/resolv.conf", "app", "options") == ["options ndots:1"]
    result = run.results()[-1]
    assert result["files"]["hosts"] == {"path": "/etc/netns/app/hosts", "exists": True, "managed": True}
    # Nothing but the three files in the directory ip netns exec mounts from (no warnings from it).
    assert sorted(sh(sim, "ls -A /etc/netns/app").split()) == ["hostname", "hosts", "resolv.conf"]
    proc = sim.run("ip netns exec app true", check=False)
    assert proc.returncode == 0 and proc.stderr == ""


def test_diff_shows_a_unified_diff_per_file(ansible, sim):
    first = ansible.adhoc("sim1", "dns_config", "netns=web nameservers=10.231.0.54", diff=True)
    assert first.changed and not first.failed, first
    assert "+++ after: /etc/netns/web/resolv.conf" in first.stdout and "+nameserver 10.231.0.54" in first.stdout, first.stdout
    run = ansible.adhoc("sim1", "dns_config", "netns=web nameservers=10.231.0.55", diff=True)
    assert run.changed and not run.failed, run
    assert [d["before_header"] for d in run.result()["diff"]] == ["/etc/netns/web/resolv.conf"]
    assert re.search(r"^-nameserver 10\.231\.0\.54$", run.stdout, re.M), run.stdout
    assert re.search(r"^\+nameserver 10\.231\.0\.55$", run.stdout, re.M), run.stdout
    assert "after: /etc/netns/web/hosts" not in run.stdout, "an unchanged file has no diff"


def test_a_hand_edit_fails_the_task_until_force(ansible, sim):
    assert not ansible.adhoc("sim1", "dns_config", "netns=web").failed
    sh(sim, "echo 'nameserver 10.231.0.99' >> /etc/netns/web/resolv.conf")
    edited = sh(sim, "cat /etc/netns/web/resolv.conf")
    run = ansible.adhoc("sim1", "dns_config", "netns=web nameservers=1.1.1.1")
    assert run.failed, run
    msg = run.result()["msg"]
    assert "/etc/netns/web/resolv.conf was changed by hand" in msg and "force: true" in msg, msg
    assert sh(sim, "cat /etc/netns/web/resolv.conf") == edited
    forced = ansible.adhoc("sim1", "dns_config", "netns=web nameservers=1.1.1.1 force=true", diff=True)
    assert forced.changed and not forced.failed, forced
    assert re.search(r"^-nameserver 10\.231\.0\.99$", forced.stdout, re.M), forced.stdout
    assert lines(sim, "/etc/resolv.conf", "web", "nameserver") == ["nameserver 1.1.1.1"]


def test_absent_removes_our_files_and_the_empty_directory(ansible, sim):
    assert not ansible.adhoc("sim1", "dns_config", "netns=web hostname=web1").failed
    run = ansible.adhoc("sim1", "dns_config", "netns=web state=absent")
    assert run.changed and not run.failed, run
    assert sh(sim, "ls -A /etc/netns") == "", "the sandbox's directory and our records are gone"
    again = ansible.adhoc("sim1", "dns_config", "netns=web state=absent")
    assert not again.changed and not again.failed, again
    assert sh(sim, "cat /etc/hostname", netns="web").strip() == "sim1"


@pytest.mark.parametrize("args, message", [
    ("netns=web nameservers=1.1.1.300", "nameservers[0]: '1.1.1.300' is not a valid IP address"),
    ("netns=web extra_hosts=db:10.231.9.300", "extra_hosts[0]: '10.231.9.300' is not a valid IP address"),
    ("netns=web hostname=web_1", "hostname: 'web_1' is not a valid host name (RFC 1123)"),
    ("netns=nope", "netns: sandbox 'nope' does not exist (no /run/netns/nope); create it with netmodes.linux.netns first"),
])
def test_bad_input_writes_nothing_and_creates_nothing(ansible, sim, args, message):
    before = snapshot(sim)
    run = ansible.adhoc("sim1", "dns_config", args)
    assert run.failed, run
    assert message in run.result()["msg"], run.result()["msg"]
    assert sh(sim, "ls -A /etc/netns 2>/dev/null || true") == ""
    assert_unchanged(before, snapshot(sim), "a read (no sandbox may be created by it)")
