# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netmodes.linux.netns, ad hoc (`ansible sim1 -m netmodes.linux.netns -a ...`)."""

from __future__ import annotations

from conftest import assert_unchanged, sh, sh_json, snapshot


def inode(host, name):
    return int(sh(host, "stat -L -c %%i /run/netns/%s" % name))


def test_adhoc_four_steps(ansible, sim1):
    before = snapshot(sim1)
    check = ansible.adhoc("sim1", "netns", "name=web", check=True)
    assert not check.failed and check.changed, check
    assert_unchanged(before, snapshot(sim1), "check mode")

    run = ansible.adhoc("sim1", "netns", "name=web")
    assert not run.failed and run.changed, run
    sandbox = run.result()["sandbox"]
    assert sandbox["name"] == "web" and sandbox["path"] == "/run/netns/web"
    assert sandbox["inode"] == inode(sim1, "web")
    assert sh(sim1, "ip netns list").split()[0] == "web"
    (lo,) = sh_json(sim1, "ip netns exec web ip -j link show lo")
    assert "UP" in lo["flags"], "loopback should be up in a new sandbox"

    again = ansible.adhoc("sim1", "netns", "name=web")
    assert not again.failed and not again.changed, again
    recheck = ansible.adhoc("sim1", "netns", "name=web", check=True)
    assert not recheck.failed and not recheck.changed, recheck


def test_a_longer_name_does_not_make_a_sandbox_present(ansible, sim1):
    assert ansible.adhoc("sim1", "netns", "name=web2").changed
    check = ansible.adhoc("sim1", "netns", "name=web", check=True)
    assert check.changed and not check.failed, check


def test_share_with_is_the_same_namespace(ansible, sim1):
    assert ansible.adhoc("sim1", "netns", "name=db").changed
    run = ansible.adhoc("sim1", "netns", "name=web share_with=db")
    assert not run.failed and run.changed, run
    assert inode(sim1, "web") == inode(sim1, "db") == run.result()["sandbox"]["inode"]
    assert run.result()["sandbox"]["names"] == ["db", "web"]
    # What one name sees, the other sees: a link made through db is there through web.
    sh(sim1, "ip netns exec db ip link add probe0 type bridge")
    assert sh_json(sim1, "ip netns exec web ip -j link show probe0")[0]["ifname"] == "probe0"
    assert not ansible.adhoc("sim1", "netns", "name=web share_with=db").changed

    # Removing one name leaves the other working.
    gone = ansible.adhoc("sim1", "netns", "name=db state=absent")
    assert gone.changed and not gone.failed, gone
    assert sh(sim1, "ip netns list").split() == ["web"]
    assert sh_json(sim1, "ip netns exec web ip -j link show probe0")[0]["ifname"] == "probe0"


def test_a_sandbox_made_by_hand_is_not_removed(ansible, sim1):
    sh(sim1, "ip netns add theirs")
    present = ansible.adhoc("sim1", "netns", "name=theirs")
    assert not present.failed and not present.changed
    assert present.result()["sandbox"]["owned"] is False
    absent = ansible.adhoc("sim1", "netns", "name=theirs state=absent")
    assert absent.failed
    assert "was not created by netmodes.linux" in absent.result()["msg"]
    assert "theirs" in sh(sim1, "ip netns list")


def test_fleet_wide_and_per_host(ansible, hosts):
    run = ansible.adhoc("sim", "netns", "name=app")
    assert not run.failed and {r["host"] for r in run.records} == {h.name for h in hosts}
    inodes = {h.name: inode(h, "app") for h in hosts}
    assert all(run.result(name)["sandbox"]["inode"] == value for name, value in inodes.items())
