# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter's link creation against fake pyroute2 sockets: a link of ours never
carries its name without its tag, and what an interrupted creation left is removed first."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _netlink
from ansible_collections.netmodes.linux.plugins.module_utils._records import temp_name


class FakeNamespace:
    """Links of one namespace as its sockets see them, pyroute2's (links of a kind made once per
    network) and the wire's (veths, link attributes, removals); every request goes to the shared
    LOG in the adapter's words. A link made with net_ns_fd (pyroute2) or a peer namespace path
    (the wire) is born in that namespace (its fake in SPACES)."""

    def __init__(self, where, log, spaces):
        self.where, self.log, self.spaces, self.links = where, log, spaces, {}

    def _name(self, index):
        return next(n for n, i in self.links.items() if i == index)

    def _born(self, space, name):
        self.spaces[space].links[name] = len(self.log) + 100

    def link(self, command, **kwargs):  # pyroute2's
        assert command == "add", "pyroute2 only makes the links a network makes"
        self.log.append((self.where, "add", kwargs["ifname"], kwargs))
        self._born(kwargs.get("net_ns_fd"), kwargs["ifname"])

    def add_veth(self, name, peer, peer_netns=None):
        self.log.append((self.where, "add", name, {"kind": "veth", "peer": peer}))
        self._born(self.where if self.where != "host" else None, name)
        self._born(peer_netns.rsplit("/", 1)[1] if peer_netns else None, peer)

    def set_link(self, index, **kwargs):
        name = self._name(index)
        self.log.append((self.where, "set", name, kwargs))
        if "name" in kwargs:
            self.links[kwargs["name"]] = self.links.pop(name)

    def delete_link(self, index):
        name = self._name(index)
        self.log.append((self.where, "del", name, {}))
        del self.links[name]


@pytest.fixture
def sockets(monkeypatch):
    log = []
    found = {}
    found.update({None: FakeNamespace("host", log, found), "web": FakeNamespace("web", log, found)})
    found[None].links["eth9"] = 1

    def sock(self, netns=None):
        return found[netns]

    def get(self, name, netns=None):  # a link asked by name: what the fake namespace holds
        index = found[netns].links.get(name)
        return SimpleNamespace(index=index) if index is not None else None

    monkeypatch.setattr(_netlink.Netlink, "_ipr", sock)
    monkeypatch.setattr(_netlink.Netlink, "_wire", sock)
    monkeypatch.setattr(_netlink.Netlink, "_get", get)
    return found, log


TEMP = temp_name("vweb")


def test_a_link_gets_its_name_only_once_it_is_tagged(sockets):
    found, log = sockets
    _netlink.Netlink().link_add_veth("vweb", "eth0", "web")
    assert [entry[:3] for entry in log] == [("host", "add", TEMP), ("host", "set", TEMP), ("web", "set", "eth0"), ("host", "set", TEMP)]
    assert log[1][3] == {"alias": "netmodes.linux veth"} and log[2][3] == {"alias": "netmodes.linux veth-peer"}
    assert log[3][3] == {"name": "vweb"} and sorted(found[None].links) == ["eth9", "vweb"]
    assert sorted(found["web"].links) == ["eth0"]


def test_a_link_left_under_its_temporary_name_by_an_interrupted_run_goes_first(sockets):
    found, log = sockets
    found[None].links[TEMP] = 7
    _netlink.Netlink().link_add_bridge("vweb")
    assert [entry[:3] for entry in log] == [("host", "del", TEMP), ("host", "add", TEMP), ("host", "set", TEMP), ("host", "set", TEMP)]
    made = dict(log[1][3])
    mac = bytes.fromhex(made.pop("address").replace(":", ""))
    assert made == {"ifname": TEMP, "kind": "bridge"} and log[3][3] == {"name": "vweb"}
    assert len(mac) == 6 and mac[0] & 0x03 == 0x02, "a bridge is made with a MAC of its own: locally administered, unicast"
    assert sorted(found[None].links) == ["eth9", "vweb"]


def test_a_link_born_in_a_sandbox_gets_its_name_there(sockets):
    found, log = sockets
    found["web"].links[temp_name("mv0")] = 9
    _netlink.Netlink().link_add_macvlan("mv0", "eth9", netns="web")
    assert [entry[:3] for entry in log] == [("web", "del", temp_name("mv0")), ("host", "add", temp_name("mv0")),
                                            ("web", "set", temp_name("mv0")), ("web", "set", temp_name("mv0"))]
    assert log[1][3]["net_ns_fd"] == "web" and log[3][3] == {"name": "mv0"}
    assert "mv0" in found["web"].links and "mv0" not in found[None].links


@pytest.mark.parametrize("name", [None, ""])
def test_no_name_names_no_link_and_asks_the_kernel_nothing(name):
    net = _netlink.Netlink()
    net._sockets = None  # any socket use would fail: the answer must come before one is opened
    assert net.link(name, routes=False) is None
