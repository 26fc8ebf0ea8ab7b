# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The adapter's own rtnetlink codec (_netlink/wire.py) against a fake kernel socket: the bytes of
requests, the decoding of answers, dumps over several reads, the kernel's errors in its words.
The integration tests run it against the real kernel."""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._netlink import wire

HEADER = struct.Struct("=IHHII")


def message(kind, body, flags=0, sequence=1):
    return HEADER.pack(HEADER.size + len(body), kind, flags, sequence, 0) + body + b"\0" * (-len(body) % 4)


def link_body(index, name, *extra, flags=1):
    return struct.pack("=BxHiII", 0, 1, index, flags, 0) + wire.name_attr(wire.IFLA_IFNAME, name) + b"".join(extra)


def error(code, sequence=1, said=None):
    request = HEADER.pack(HEADER.size, wire.RTM_GETLINK, 1, sequence, 0)
    body = struct.pack("=i", -code) + request
    flags = 0
    if said is not None:
        body += wire.attr(wire.NLMSGERR_ATTR_MSG, said.encode() + b"\0")
        flags = wire.NLM_F_CAPPED | wire.NLM_F_ACK_TLVS
    return message(wire.NLMSG_ERROR, body, flags, sequence)


class FakeSocket:
    """The kernel's side: what each read returns, and every request sent."""

    def __init__(self, reads):
        self.reads, self.sent = list(reads), []

    def send(self, data):
        self.sent.append(data)

    def recv(self, _size):
        return self.reads.pop(0)

    def close(self):
        pass


def fake_wire(*reads):
    sock = wire.Wire.__new__(wire.Wire)
    sock.sock, sock.sequence, sock.where = FakeSocket(reads), 0, None
    return sock


def test_attributes_are_padded_and_read_back_nested_flag_or_not():
    data = wire.attr(1, b"abc") + wire.nested(2, wire.attr(3, b"\x05\x00\x00\x00"))
    assert len(data) % 4 == 0 and len(wire.attr(1, b"abc")) == 8
    found = wire.attrs(data)
    assert found[1] == b"abc" and wire.u32(wire.attrs(found[2])[3]) == 5


def test_a_link_is_decoded_only_as_far_as_asked():
    vxlan = wire.nested(wire.IFLA_LINKINFO, wire.attr(wire.IFLA_INFO_KIND, b"vxlan\0"), wire.nested(
        wire.IFLA_INFO_DATA, wire.attr(wire.IFLA_VXLAN_ID, struct.pack("=I", 42)), wire.attr(wire.IFLA_VXLAN_PORT, struct.pack("!H", 4789)),
        wire.attr(wire.IFLA_VXLAN_LOCAL, socket.inet_aton("10.231.1.11")), wire.attr(wire.IFLA_VXLAN_LEARNING, b"\0")))
    body = link_body(7, "nmx1", wire.attr(wire.IFLA_MTU, struct.pack("=I", 1450)), wire.attr(wire.IFLA_ADDRESS, bytes.fromhex("02420ae7c802")), vxlan)
    msg = wire.LinkMessage(body, 0, len(body))
    assert (msg.index, msg.name, msg.kind, msg.flags & 1) == (7, "nmx1", "vxlan", 1)
    assert wire.u32(msg.attrs[wire.IFLA_MTU]) == 1450 and wire.mac(msg.attrs[wire.IFLA_ADDRESS]) == "02:42:0a:e7:c8:02"
    assert wire.u32(msg.data(wire.IFLA_VXLAN_ID)) == 42 and wire.port(msg.data(wire.IFLA_VXLAN_PORT)) == 4789
    assert wire.ip(msg.data(wire.IFLA_VXLAN_LOCAL)) == "10.231.1.11" and wire.number(msg.data(wire.IFLA_VXLAN_LEARNING)) == 0
    assert msg.data(wire.IFLA_BRPORT_MODE, slave=True) is None and msg.slave_kind is None


def test_addresses_of_another_length_than_a_family_read_as_none():
    assert wire.ip(None) is None and wire.ip(b"\0\0\0\x10\0\0") is None
    assert wire.ip(ipaddress.ip_address("fd31::1").packed) == "fd31::1"


@pytest.mark.parametrize("cidr", ["172.18.0.2/16", "fd31:b0::2/64", "::1/128", "10.231.1.11/32"])
def test_an_address_is_read_as_the_interface_its_text_names(cidr):
    found = ipaddress.ip_interface(cidr)
    family = socket.AF_INET if found.version == 4 else socket.AF_INET6
    body = struct.pack("=BBBBi", family, found.network.prefixlen, 0, 0, 3) + wire.attr(wire.IFA_ADDRESS, found.ip.packed)
    msg = wire.AddressMessage(body, 0, len(body))
    assert (msg.index, msg.address, str(msg.address)) == (3, found, cidr) and type(msg.address) is type(found)


@pytest.mark.parametrize("family, dst, gateway", [(socket.AF_INET, None, "172.18.0.1"), (socket.AF_INET, "10.231.5.0/24", None),
                                                  (socket.AF_INET6, None, "fd31:b0::1"), (socket.AF_INET6, "fd31:b1::/64", None)])
def test_a_route_is_read_with_its_destination_the_default_one_when_it_names_none(family, dst, gateway):
    network = ipaddress.ip_network(dst or ("0.0.0.0/0" if family == socket.AF_INET else "::/0"))
    body = struct.pack("=BBBBBBBBI", family, network.prefixlen, 0, 0, 254, 4, 0, 1, 0) + wire.attr(wire.RTA_OIF, struct.pack("=I", 2))
    if dst:
        body += wire.attr(wire.RTA_DST, network.network_address.packed)
    if gateway:
        body += wire.attr(wire.RTA_GATEWAY, ipaddress.ip_address(gateway).packed)
    msg = wire.RouteMessage(body, 0, len(body))
    assert (msg.dst, msg.gateway, msg.oif, msg.table, msg.proto) == (network, gateway and ipaddress.ip_address(gateway), 2, 254, 4)


def test_a_dump_runs_over_several_reads_until_done_and_skips_late_answers():
    sock = fake_wire(message(wire.RTM_NEWLINK, link_body(9, "old"), wire.NLM_F_MULTI, sequence=0)  # an earlier request's
                     + message(wire.RTM_NEWLINK, link_body(1, "lo"), wire.NLM_F_MULTI),
                     message(wire.RTM_NEWLINK, link_body(2, "eth0"), wire.NLM_F_MULTI) + message(wire.NLMSG_DONE, struct.pack("=i", 0),
                                                                                                 wire.NLM_F_MULTI))
    assert [(m.index, m.name) for m in sock.links()] == [(1, "lo"), (2, "eth0")]
    length, kind, flags, sequence, _port = HEADER.unpack_from(sock.sock.sent[0])
    assert (length, kind, flags & wire.NLM_F_DUMP, sequence) == (len(sock.sock.sent[0]), wire.RTM_GETLINK, wire.NLM_F_DUMP, 1)


def test_an_interrupted_dump_is_asked_again():
    done = message(wire.NLMSG_DONE, struct.pack("=i", 0), wire.NLM_F_MULTI | wire.NLM_F_DUMP_INTR)
    again = message(wire.RTM_NEWLINK, link_body(1, "lo"), wire.NLM_F_MULTI, sequence=2) + message(
        wire.NLMSG_DONE, struct.pack("=i", 0), wire.NLM_F_MULTI, sequence=2)
    sock = fake_wire(done, again)
    assert [m.name for m in sock.links()] == ["lo"] and len(sock.sock.sent) == 2


def test_a_missing_link_is_none_and_other_refusals_carry_the_kernels_words():
    assert fake_wire(error(errno.ENODEV)).link("ghost") is None
    with pytest.raises(wire.WireError) as caught:
        fake_wire(error(errno.EINVAL, said="Attribute failed policy validation")).link("x" * 20)
    assert caught.value.code == errno.EINVAL and caught.value.args[1] == "Attribute failed policy validation"
    with pytest.raises(wire.WireError) as caught:
        fake_wire(error(errno.EPERM)).delete_link(3)
    assert caught.value.code == errno.EPERM and caught.value.args[1] == "Operation not permitted"


def test_a_write_sends_one_request_and_returns_on_the_acknowledgement():
    sock = fake_wire(error(0))
    sock.route(True, 4, ipaddress.ip_network("0.0.0.0/0"), via=ipaddress.ip_address("172.17.0.1"), proto=4, table=254)
    sent = sock.sock.sent[0]
    length, kind, flags, _sequence, _port = HEADER.unpack_from(sent)
    assert kind == wire.RTM_NEWROUTE and flags & wire.NLM_F_ACK and flags & wire.NLM_F_CREATE and flags & wire.NLM_F_EXCL
    family, dst_len, _src, _tos, table, proto, scope, rtype, _flags = struct.unpack_from("=BBBBBBBBI", sent, HEADER.size)
    assert (family, dst_len, table, proto, scope, rtype) == (socket.AF_INET, 0, 254, 4, 0, wire.RTN_UNICAST)
    found = wire.attrs(sent, HEADER.size + 12, length)
    assert wire.RTA_DST not in found, "a default route names no destination"
    assert wire.u32(found[wire.RTA_OIF]) == 4 and wire.ip(found[wire.RTA_GATEWAY]) == "172.17.0.1"


def test_a_link_is_set_in_one_request_with_what_is_given():
    sock = fake_wire(error(0))
    sock.set_link(5, up=True, mtu=1450, address="02:42:0a:e7:c8:02", master=0)
    sent = sock.sock.sent[0]
    _family, _type, index, flags, change = struct.unpack_from("=BxHiII", sent, HEADER.size)
    assert (index, flags, change) == (5, 1, 1)
    found = wire.attrs(sent, HEADER.size + 16)
    assert sorted(found) == [wire.IFLA_ADDRESS, wire.IFLA_MTU, wire.IFLA_MASTER]
    assert wire.mac(found[wire.IFLA_ADDRESS]) == "02:42:0a:e7:c8:02" and wire.u32(found[wire.IFLA_MASTER]) == 0


@pytest.mark.parametrize("cidr, family, flags", [("172.17.0.2/16", socket.AF_INET, 0), ("fd31:120::2/64", socket.AF_INET6, wire.IFA_F_NODAD)])
def test_an_ipv6_address_is_added_without_duplicate_address_detection(cidr, family, flags):
    # As Docker's: usable at once (the address plan keeps it unique), never "tentative" for a second.
    sock = fake_wire(error(0))
    sock.address(True, 7, ipaddress.ip_interface(cidr))
    sent = sock.sock.sent[0]
    found_family, prefixlen, found_flags, _scope, index = struct.unpack_from("=BBBBi", sent, HEADER.size)
    assert (found_family, prefixlen, found_flags, index) == (family, ipaddress.ip_interface(cidr).network.prefixlen, flags, 7)
    assert wire.ip(wire.attrs(sent, HEADER.size + 8).get(wire.IFA_LOCAL)) == cidr.split("/", maxsplit=1)[0]


def ipv6_conf(values):
    """IFLA_AF_SPEC with AF_INET6's devconf array, VALUES {DEVCONF index: value}."""
    array = [0] * 40
    for index, value in values.items():
        array[index] = value
    conf = wire.attr(wire.IFLA_INET6_CONF, struct.pack("=%di" % len(array), *array))
    return wire.nested(wire.IFLA_AF_SPEC, wire.nested(socket.AF_INET6, conf))


def test_a_links_ipv6_sysctls_are_read_from_its_devconf_array():
    body = link_body(3, "eth0", ipv6_conf({wire.DEVCONF_ACCEPT_RA: 0, wire.DEVCONF_DISABLE_IPV6: 1}))
    msg = wire.LinkMessage(body, 0, len(body))
    assert msg.ipv6_conf(wire.DEVCONF_DISABLE_IPV6) == 1 and msg.ipv6_conf(wire.DEVCONF_ACCEPT_RA) == 0
    bare = link_body(3, "eth0")
    assert wire.LinkMessage(bare, 0, len(bare)).ipv6_conf(wire.DEVCONF_DISABLE_IPV6) is None, "no IPv6 state: unknown"


def neighbour_body(family, index, state, flags, dst=None, lladdr=None):
    body = struct.pack("=BxxxiHBB", family, index, state, flags, 0)
    if dst is not None:
        body += wire.attr(wire.NDA_DST, ipaddress.ip_address(dst).packed)
    if lladdr is not None:
        body += wire.attr(wire.NDA_LLADDR, bytes.fromhex(lladdr.replace(":", "")))
    return body


def test_neighbour_and_fdb_entries_are_dumped_for_one_link_named_by_attribute():
    """A strict dump refuses a link index in the ndmsg header: the link goes as NDA_IFINDEX."""
    done = message(wire.NLMSG_DONE, struct.pack("=i", 0), sequence=1)
    sock = fake_wire(message(28, neighbour_body(7, 12, 0x80, 0x02, "10.231.0.2", "00:00:00:00:00:00"), wire.NLM_F_MULTI)
                     + message(28, neighbour_body(7, 12, 0x80, 0x02, "fd31::2", "0A:58:0A:E7:00:02"), wire.NLM_F_MULTI)
                     + message(28, neighbour_body(7, 12, 0x02, 0x01), wire.NLM_F_MULTI) + done)
    found = sock.neighbours(12, wire.AF_BRIDGE)
    length, kind, flags, _seq, _port = HEADER.unpack_from(sock.sock.sent[0])
    assert (kind, flags) == (wire.RTM_GETNEIGH, wire.NLM_F_REQUEST | wire.NLM_F_DUMP)
    assert sock.sock.sent[0][HEADER.size:length] == struct.pack("=BxxxiHBB", 7, 0, 0, 0, 0) + wire.attr(wire.NDA_IFINDEX, struct.pack("=I", 12))
    assert [(m.family, m.index, m.state, m.flags, m.dst, m.lladdr) for m in found] == [
        (7, 12, 0x80, 0x02, ipaddress.ip_address("10.231.0.2"), "00:00:00:00:00:00"),
        (7, 12, 0x80, 0x02, ipaddress.ip_address("fd31::2"), "0a:58:0a:e7:00:02"),
        (7, 12, 0x02, 0x01, None, None)]
