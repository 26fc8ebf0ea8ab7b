# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns


def test_create_four_steps(four_steps, kernel):
    result = four_steps(Netns, name="web")
    assert result["operations"] == [{"action": "create", "object": "netns web", "after": {"path": "/run/netns/web"}}]
    assert result["diff"] == {"before": {}, "after": {"netns web": {"path": "/run/netns/web"}}}
    sandbox = result["sandbox"]
    assert sandbox["name"] == "web" and sandbox["path"] == "/run/netns/web"
    assert sandbox["inode"] == kernel.netns["web"] and sandbox["owned"] and sandbox["names"] == ["web"]
    assert kernel.link("lo", "web").up


def test_check_mode_reports_what_exists_before(converge, kernel):
    result = converge(Netns, check=True, name="web")
    assert result["changed"] and result["sandbox"]["inode"] is None
    assert "web" not in kernel.netns


def test_a_longer_name_does_not_count_as_present(converge, kernel):
    converge(Netns, name="web2")
    result = converge(Netns, name="web")
    assert result["changed"]
    assert kernel.netns["web"] != kernel.netns["web2"]


def test_share_with_gives_the_same_inode(four_steps, converge, kernel):
    converge(Netns, name="db")
    result = four_steps(Netns, name="web", share_with="db")
    assert result["operations"][0]["after"] == {"path": "/run/netns/web", "share_with": "db"}
    assert result["sandbox"]["inode"] == kernel.netns["db"]
    assert result["sandbox"]["names"] == ["db", "web"]


def test_removing_one_name_of_a_shared_namespace_keeps_the_other(converge, kernel):
    converge(Netns, name="db")
    converge(Netns, name="web", share_with="db")
    inode = kernel.netns["db"]
    assert converge(Netns, name="db", state="absent")["changed"]
    assert kernel.netns == {"web": inode}
    assert kernel.link("lo", "web") is not None


@pytest.mark.parametrize("options, error, fragment", [
    ({"name": "web", "share_with": "db"}, NotFound, "share_with: sandbox 'db' does not exist"),
    ({"name": "web", "share_with": "web"}, InvalidInput, "cannot share its own namespace"),
    ({"name": "a/b"}, InvalidInput, "name: sandbox name 'a/b' is not valid"),
    ({"name": ".."}, InvalidInput, "is not valid"),
])
def test_bad_input_fails_before_anything_changes(refused, options, error, fragment):
    refused(Netns, error, fragment, **options)


def test_sharing_with_an_existing_separate_namespace_is_a_conflict(converge, kernel):
    converge(Netns, name="db")
    converge(Netns, name="web")
    with pytest.raises(Conflict, match=r"^share_with: sandbox web already exists as a namespace of its own, not db's; remove web \(state=absent\)"):
        converge(Netns, name="web", share_with="db")


def test_foreign_namespace_is_used_but_never_removed(converge, kernel):
    kernel.netns["theirs"] = 4026539999  # made by `ip netns add`, not by us
    result = converge(Netns, name="theirs")
    assert not result["changed"] and result["sandbox"]["owned"] is False
    with pytest.raises(Conflict, match="^name: sandbox theirs was not created by netmodes.linux.*remove it with 'ip netns del theirs'"):
        converge(Netns, name="theirs", state="absent")
    assert "theirs" in kernel.netns


def test_absent_four_steps_and_absent_of_nothing(converge, four_steps, kernel):
    converge(Netns, name="web")
    result = four_steps(Netns, name="web", state="absent")
    assert result["diff"] == {"before": {"netns web": {"path": "/run/netns/web"}}, "after": {}}
    assert "web" not in kernel.netns
    assert not converge(Netns, name="never", state="absent")["changed"]


@pytest.mark.parametrize("share_with", [None, "db"])
def test_a_sandbox_whose_creation_was_interrupted_is_finished(converge, kernel, share_with):
    """A run killed after the namespace was made but before it was recorded as complete: the
    pending record makes it ours, and the next run finishes it (loopback up, inode recorded)."""
    converge(Netns, name="db")
    kernel.netns["web"] = kernel.netns["db"] if share_with else 4026539998
    kernel.links.setdefault((kernel.netns["web"], "lo"), Link("lo", 1, "", 65536, "", False))
    kernel.pending.add("web")
    assert converge(Netns, name="web", share_with=share_with, check=True)["sandbox"]["owned"]
    result = converge(Netns, name="web", share_with=share_with)
    assert result["operations"] == [{"action": "set", "object": "netns web", "field": "finished", "before": False, "after": True}]
    assert ("netns_finish", "web", share_with is None) in kernel.calls
    assert kernel.netns_record("web") == kernel.netns["web"] and kernel.link("lo", "web").up
    assert not converge(Netns, name="web", share_with=share_with)["changed"]


def test_absent_removes_what_an_interrupted_run_left(converge, kernel):
    """No namespace, but our record (and maybe a bare mount point file) of a creation or a
    removal that was interrupted: absent cleans it up; without a record there is nothing of ours."""
    kernel.stale.add("web")
    result = converge(Netns, name="web", state="absent")
    assert result["changed"] and kernel.calls == [("netns_delete", "web")]
    assert kernel.netns_record("web") is None
    assert not converge(Netns, name="web", state="absent")["changed"]


def test_a_sandbox_name_with_a_newline_is_refused_but_one_an_older_version_made_can_go(refused, converge, kernel):
    """Issue 13, item 4: the name went into firewall comments that iptables-save prints over
    several lines; removal writes nothing with the name, and takes one made before names were checked."""
    name = "s3\n-I INPUT 1 -j ACCEPT\n#"
    refused(Netns, InvalidInput, r"^name: sandbox name 's3\\n-I INPUT 1 -j ACCEPT\\n#' is not valid: it contains the control", name=name)
    kernel.netns_create(name)
    kernel.netns_finish(name)
    result = converge(Netns, name=name, state="absent")
    assert result["changed"] and name not in kernel.netns
    refused(Netns, InvalidInput, r"^name: sandbox name 'a/b' is not valid", name="a/b", state="absent")
