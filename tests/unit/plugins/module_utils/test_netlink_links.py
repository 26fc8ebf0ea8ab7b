# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter's link creation against fake pyroute2 sockets: a link of ours never
carries its name without its tag, and what an interrupted creation left is removed first."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _netlink
from ansible_collections.netmodes.linux.plugins.module_utils._records import temp_name


class FakeIPRoute:
    """Links of one namespace as pyroute2 sees them; every request goes to the shared LOG. A
    link added with net_ns_fd is born in that namespace (its socket in SPACES)."""

    def __init__(self, where, log, spaces):
        self.where, self.log, self.spaces, self.links = where, log, spaces, {}

    def link(self, command, index=None, **kwargs):
        if command == "get":
            if kwargs["ifname"] not in self.links:
                raise _netlink.NetlinkError(errno.ENODEV)
            return [{"index": self.links[kwargs["ifname"]]}]
        name = next((n for n, i in self.links.items() if i == index), kwargs.get("ifname"))
        self.log.append((self.where, command, name, {k: v for k, v in kwargs.items() if k != "peer"}))
        if command == "add":
            self.spaces[kwargs.get("net_ns_fd")].links[kwargs["ifname"]] = len(self.log) + 100
        elif command == "del":
            del self.links[name]
        elif "ifname" in kwargs:
            self.links[kwargs["ifname"]] = self.links.pop(name)


@pytest.fixture
def sockets(monkeypatch):
    log = []
    found = {}
    found.update({None: FakeIPRoute("host", log, found), "web": FakeIPRoute("web", log, found)})
    found[None].links["eth9"] = 1

    def ipr(self, netns=None):
        return found[netns]

    monkeypatch.setattr(_netlink.Netlink, "_ipr", ipr)
    found["web"].links["eth0"] = 2  # the kernel makes the peer in the sandbox along with the host end
    return found, log


TEMP = temp_name("vweb")


def test_a_link_gets_its_name_only_once_it_is_tagged(sockets):
    found, log = sockets
    _netlink.Netlink().link_add_veth("vweb", "eth0", "web")
    assert [entry[:3] for entry in log] == [("host", "add", TEMP), ("host", "set", TEMP), ("web", "set", "eth0"), ("host", "set", TEMP)]
    assert log[1][3] == {"ifalias": "netmodes.linux veth"} and log[2][3] == {"ifalias": "netmodes.linux veth-peer"}
    assert log[3][3] == {"ifname": "vweb"} and sorted(found[None].links) == ["eth9", "vweb"]


def test_a_link_left_under_its_temporary_name_by_an_interrupted_run_goes_first(sockets):
    found, log = sockets
    found[None].links[TEMP] = 7
    _netlink.Netlink().link_add_bridge("vweb")
    assert [entry[:3] for entry in log] == [("host", "del", TEMP), ("host", "add", TEMP), ("host", "set", TEMP), ("host", "set", TEMP)]
    assert log[1][3] == {"ifname": TEMP, "kind": "bridge"} and sorted(found[None].links) == ["eth9", "vweb"]


def test_a_link_born_in_a_sandbox_gets_its_name_there(sockets):
    found, log = sockets
    found["web"].links[temp_name("mv0")] = 9
    _netlink.Netlink().link_add_macvlan("mv0", "eth9", netns="web")
    assert [entry[:3] for entry in log] == [("web", "del", temp_name("mv0")), ("host", "add", temp_name("mv0")),
                                            ("web", "set", temp_name("mv0")), ("web", "set", temp_name("mv0"))]
    assert log[1][3]["net_ns_fd"] == "web" and log[3][3] == {"ifname": "mv0"}
    assert "mv0" in found["web"].links and "mv0" not in found[None].links


@pytest.mark.parametrize("name", [None, ""])
def test_no_name_names_no_link_and_asks_the_kernel_nothing(name):
    net = _netlink.Netlink()
    net._sockets = None  # any socket use would fail: the answer must come before one is opened
    assert net.link(name, routes=False) is None
