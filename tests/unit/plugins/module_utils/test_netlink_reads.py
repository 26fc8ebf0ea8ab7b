# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter's reads against a fake kernel per namespace: what a batch reads of each
sandbox many times is asked of the kernel once, and the answers stay those of the kernel."""

from __future__ import annotations

import ipaddress
import socket
import struct

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _netlink
from ansible_collections.netmodes.linux.plugins.module_utils._netlink import wire


def link_message(index, name):
    body = struct.pack("=BxHiII", 0, 1, index, 1, 0) + wire.name_attr(wire.IFLA_IFNAME, name)
    return wire.LinkMessage(body, 0, len(body))


def address_message(index, cidr):
    interface = ipaddress.ip_interface(cidr)
    family = socket.AF_INET if interface.version == 4 else socket.AF_INET6
    body = struct.pack("=BBBBi", family, interface.network.prefixlen, 0, 0, index) + wire.attr(wire.IFA_ADDRESS, interface.ip.packed)
    return wire.AddressMessage(body, 0, len(body))


class FakeKernel:
    """One namespace's links ({name: (index, [cidr])}) as the wire asks them; every request in LOG."""

    def __init__(self, where, links, log):
        self.where, self.held, self.log = where, links, log

    def link(self, name=None, index=0):
        self.log.append((self.where, "link", name or index))
        found = [(i, n) for n, (i, _addrs) in self.held.items() if n == name or i == index]
        return link_message(*found[0]) if found else None

    def links(self, master=0):
        self.log.append((self.where, "links"))
        return [link_message(i, n) for n, (i, _addrs) in self.held.items()]

    def addresses(self, index=0):
        self.log.append((self.where, "addresses", index))
        return [address_message(i, a) for _n, (i, addrs) in self.held.items() if index in (0, i) for a in addrs]

    def routes(self, family=0):
        self.log.append((self.where, "routes"))
        return []


@pytest.fixture
def kernel(monkeypatch):
    log = []
    spaces = {None: FakeKernel("host", {"lo": (1, ["127.0.0.1/8"]), "eth0": (2, ["10.231.1.11/24"]), "vweb": (7, []), "vdb": (8, [])}, log),
              "web": FakeKernel("web", {"lo": (1, ["127.0.0.1/8"]), "eth0": (2, ["172.18.0.2/16", "fd31:b0::2/64"])}, log)}
    monkeypatch.setattr(_netlink.Netlink, "_wire", lambda self, netns=None: spaces[netns])
    return log


def test_a_sandboxs_link_with_and_without_routes_and_its_addresses_are_asked_once(kernel):
    net = _netlink.Netlink()
    bare, full = net.link("eth0", "web", routes=False), net.link("eth0", "web")
    by_link = net.addresses_by_link("web")
    assert bare.addresses == full.addresses == by_link["eth0"] == {ipaddress.ip_interface("172.18.0.2/16"), ipaddress.ip_interface("fd31:b0::2/64")}
    assert by_link["lo"] == {ipaddress.ip_interface("127.0.0.1/8")}
    # the link by name once; the sandbox's every address in one dump, shared by every read of it
    assert sorted(kernel) == sorted([("web", "link", "eth0"), ("web", "addresses", 0), ("web", "routes"), ("web", "links")])


def test_a_host_link_has_its_addresses_filtered_by_the_kernel_until_the_hosts_are_dumped(kernel):
    net = _netlink.Netlink()
    assert net.link("eth0", routes=False).addresses == {ipaddress.ip_interface("10.231.1.11/24")}
    assert ("host", "addresses", 2) in kernel
    net.all_links()  # the dump of every address of the host, which the next reads share
    del kernel[:]
    assert net.link("vweb", routes=False).addresses == frozenset() and net.link("vdb", routes=False).addresses == frozenset()
    assert kernel == [("host", "link", "vweb"), ("host", "link", "vdb")]


def test_a_write_forgets_what_was_read(kernel):
    net = _netlink.Netlink()
    net.link("eth0", "web")
    net._forget_reads()  # what every write does before and after itself
    net.link("eth0", "web")
    assert kernel.count(("web", "link", "eth0")) == 2 and kernel.count(("web", "addresses", 0)) == 2


def bridge_message(index, name):
    body = struct.pack("=BxHiII", 0, 1, index, 1, 0) + wire.name_attr(wire.IFLA_IFNAME, name)
    body += wire.nested(wire.IFLA_LINKINFO, wire.attr(wire.IFLA_INFO_KIND, b"bridge\0"))
    return wire.LinkMessage(body, 0, len(body))


@pytest.mark.parametrize("assigned, index, fixed", [("3", 9, True), ("1", 9, False), ("3", 10, None)],
                         ids=["set", "the-kernel-s-choice", "another-namespace-s-sysfs"])
def test_a_host_bridge_s_mac_is_known_fixed_from_sysfs_when_sysfs_is_the_host_s(monkeypatch, tmp_path, assigned, index, fixed):
    (tmp_path / "front").mkdir()
    (tmp_path / "front" / "ifindex").write_text("%d\n" % index)
    (tmp_path / "front" / "addr_assign_type").write_text(assigned + "\n")
    monkeypatch.setattr(_netlink.reads, "SYS_NET", str(tmp_path))
    reads = _netlink.Netlink()
    assert reads._link(bridge_message(9, "front"), None, {}, {}, None).mac_fixed is fixed
    assert reads._link(bridge_message(9, "front"), None, {}, {}, "web").mac_fixed is None, "a sandbox's bridge: not read"
    assert reads._link(link_message(9, "front"), None, {}, {}, None).mac_fixed is None, "not a bridge: not read"
