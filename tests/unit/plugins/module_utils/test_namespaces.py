# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The named namespaces (the namespaces adapter, as the netlink adapter offers it), on temporary directories: the order of a creation's
steps, so that a run killed anywhere leaves a record of what it did (no root needed: the mounts
are faked)."""

from __future__ import annotations

import inspect
import os

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _namespaces, _netlink
from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError


class FakeLibc:
    """The libc calls of a creation: the shared /run/netns mount, unshare, umount."""

    def mount(self, *args):
        return 0

    def unshare(self, flags):
        return 0

    def umount2(self, path, flags):
        return 0


class Mounts:
    """The bind mounts on /run/netns/NAME, and what the record said when each was made."""

    def __init__(self):
        self.mounted, self.records_seen, self.fail = set(), [], 0

    def bind(self, adapter, name):
        self.records_seen.append(adapter.record(name))
        if self.fail:
            return self.fail
        self.mounted.add(name)
        return 0


@pytest.fixture
def mounts(tmp_path, monkeypatch):
    monkeypatch.setattr(_namespaces, "NETNS_DIR", str(tmp_path / "netns"))
    monkeypatch.setattr(_namespaces, "OWNED_DIR", str(tmp_path / "owned"))
    found = Mounts()

    def inode(self, name):
        path = os.path.join(_namespaces.NETNS_DIR, name)
        return os.stat(path).st_ino if name in found.mounted and os.path.exists(path) else None

    monkeypatch.setattr(_namespaces.Namespaces, "inode", inode)
    monkeypatch.setattr(_namespaces.Namespaces, "_libc_handle", lambda self: FakeLibc())

    def bind(self, source, name):
        return found.bind(self, name)

    monkeypatch.setattr(_namespaces.Namespaces, "_bind", bind)
    monkeypatch.setattr(_netlink.Netlink, "link_set", lambda self, name, netns=None, **attrs: None)
    return found


@pytest.mark.parametrize("share", [False, True])
def test_creation_records_pending_before_the_mount_and_the_inode_last(mounts, share):
    net = _netlink.Netlink()
    if share:
        net.netns_create("db")
        net.netns_share("web", "db")
    else:
        net.netns_create("web")
    assert mounts.records_seen[-1] == _namespaces.PENDING
    assert net.netns_record("web") == net.netns_inode("web") and net.netns_owned("web")


def test_a_failed_mount_leaves_no_record_and_no_mount_point(mounts):
    mounts.fail = 1  # EPERM
    net = _netlink.Netlink()
    with pytest.raises(KernelError, match="create sandbox web: Operation not permitted"):
        net.netns_create("web")
    assert net.netns_record("web") is None and os.listdir(_namespaces.NETNS_DIR) == []


def test_a_pending_record_makes_a_namespace_ours_but_not_a_bare_mount_point(mounts):
    net = _netlink.Netlink()
    net.namespaces._record("web", _namespaces.PENDING)
    os.makedirs(_namespaces.NETNS_DIR)
    open(os.path.join(_namespaces.NETNS_DIR, "web"), "w").close()  # killed before the mount
    assert not net.netns_owned("web")
    mounts.mounted.add("web")  # killed after the mount
    assert net.netns_owned("web")


def test_removal_drops_the_record_last_and_cleans_up_what_an_interrupted_run_left(mounts):
    net = _netlink.Netlink()
    net.namespaces._record("web", "4026531999")  # the mount point went, the record stayed
    net.netns_delete("web")
    assert net.netns_record("web") is None


# -- markers no other user can make (issue 13, items 11 and 12) ----------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
@pytest.mark.parametrize("owner, bits", [(65534, 0o600), (0, 0o666)], ids=["another user's", "world-writable"])
def test_a_marker_that_is_not_roots_alone_does_not_make_a_namespace_ours(mounts, owner, bits):
    net = _netlink.Netlink()
    os.makedirs(_namespaces.NETNS_DIR)
    open(os.path.join(_namespaces.NETNS_DIR, "mine"), "w").close()
    mounts.mounted.add("mine")  # made by hand
    net.namespaces._record("mine", str(net.netns_inode("mine")))
    assert net.netns_owned("mine") and net.owned_markers() == ["mine"]
    marker = os.path.join(_namespaces.OWNED_DIR, "mine")
    os.chown(marker, owner, owner)
    os.chmod(marker, bits)
    assert net.netns_record("mine") is None and not net.netns_owned("mine") and net.owned_markers() == []


def test_markers_are_roots_alone_whatever_the_umask(mounts):
    old = os.umask(0)
    try:
        _netlink.Netlink().netns_create("web")
    finally:
        os.umask(old)
    owned = _namespaces.OWNED_DIR
    assert [oct(os.stat(p).st_mode & 0o777) for p in (owned, os.path.join(owned, "web"))] == ["0o700", "0o600"]


@pytest.mark.parametrize("other", [".web.tmp", ".web.abcd1234.tmp", ".netns.abcd1234.tmp"])
def test_a_markers_temporary_file_never_meets_another_sandboxs_marker(mounts, other):
    net = _netlink.Netlink()
    net.namespaces._record(other, "4026531111")
    net.netns_create("web")
    assert net.netns_record(other) == 4026531111 and sorted(net.owned_markers()) == sorted([other, "web"])


# -- the unit tests' kernel speaks the adapter's interface -------------------------------------------

def test_the_fake_kernel_offers_every_call_of_the_netlink_adapter_with_its_parameters(kernel):
    """The resources and batches see one adapter: the namespaces (netns_*) and links alike. The
    in-memory kernel of the unit tests (tests/unit/conftest.py) must offer each of its calls, or
    the unit tests stop saying anything about the real one."""
    def calls(cls):
        return {name: inspect.signature(func) for name, func in inspect.getmembers(cls, callable)
                if not name.startswith("_") and name != "close"}   # close: the adapter's lifetime, not a call

    real, fake = calls(_netlink.Netlink), calls(type(kernel))
    assert {name: str(sig) for name, sig in real.items()} == {name: str(fake[name]) for name in real if name in fake}
    assert set(real) <= set(fake)


def test_names_are_ordered_as_their_mounts_were_made(tmp_path, monkeypatch):
    """/proc/self/mountinfo lists mounts in the order they were made (field 5: the mount point,
    with a space, tab, newline and backslash written in octal)."""
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 1 0:21 / /run rw,nosuid shared:5 - tmpfs tmpfs rw\n"
        "301 22 0:21 /netns /run/netns rw shared:6 - tmpfs tmpfs rw\n"
        "305 301 0:4 net:[4026532301] /run/netns/web rw shared:7 - nsfs nsfs rw\n"
        "299 301 0:4 net:[4026532302] /run/netns/db rw shared:8 - nsfs nsfs rw\n"
        "306 301 0:4 net:[4026532301] /run/netns/aside rw shared:7 - nsfs nsfs rw\n"
        "307 301 0:4 net:[4026532303] /run/netns/odd\\040name rw shared:9 - nsfs nsfs rw\n"
        "308 22 0:30 / /run/netns/x/deeper rw - tmpfs tmpfs rw\n")
    monkeypatch.setattr(_namespaces, "MOUNTINFO", str(info))
    assert _namespaces.Namespaces.made_order() == ["web", "db", "aside", "odd name"], "not by mount id: ids are reused"
    monkeypatch.setattr(_namespaces, "MOUNTINFO", str(tmp_path / "missing"))
    assert _namespaces.Namespaces.made_order() == []
