# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput


@pytest.mark.parametrize("name", ["eth0", "veth-web", "a" * 15, "br.0", "é" * 7])
def test_ifname_accepts_what_the_kernel_accepts(name):
    assert m.ifname(name, "name") == name


@pytest.mark.parametrize("name, fragment", [
    ("a" * 16, "16 bytes; the kernel allows at most 15"),
    ("é" * 8, "16 bytes"),          # 8 characters, 16 bytes: bytes are what count
    ("", "is required"),
    (".", "not valid.*Choose another name"),
    ("..", "not valid.*Choose another name"),
    ("a/b", "not valid.*Choose another name"),
    ("a:b", "not valid.*Choose another name"),
    ("a b", "not valid.*Choose another name"),
])
def test_ifname_rejects_with_the_reason(name, fragment):
    with pytest.raises(InvalidInput, match=fragment) as info:
        m.ifname(name, "peer")
    assert info.value.field == "peer"
    assert info.value.msg.startswith("peer:")


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "x" * 256, "a\0b"])
def test_netns_name_rejects_path_tricks(name):
    with pytest.raises(InvalidInput, match="^name: .*(is required|Choose another name)"):
        m.netns_name(name, "name")


def test_netns_name_accepts_long_names_that_are_not_interfaces():
    assert m.netns_name("a-very-long-sandbox-name-for-a-service", "name")


@pytest.mark.parametrize("text, expected", [
    ("10.231.0.1/24", "10.231.0.1/24"),
    (" 10.231.0.1/255.255.255.0 ", "10.231.0.1/24"),
    ("2001:db8::1/64", "2001:db8::1/64"),
    ("2001:DB8:0::1/64", "2001:db8::1/64"),
])
def test_interface_normalizes(text, expected):
    assert str(m.interface(text, "addresses[0]")) == expected


@pytest.mark.parametrize("text, fragment", [
    ("10.231.0.1", "needs a prefix length"),
    ("10.231.0.300/24", "not a valid address/prefix .*; write it as ADDRESS/PREFIX, for example 172.18.0.1/16"),
    ("10.231.0.1/33", "not a valid address/prefix .*; write it as ADDRESS/PREFIX"),
    ("banana/8", "not a valid address/prefix .*; write it as ADDRESS/PREFIX"),
])
def test_interface_rejects_malformed_cidr(text, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        m.interface(text, "addresses[0]")


def test_interfaces_is_a_set_and_none_means_unmanaged():
    assert m.interfaces(None, "addresses") is None
    assert m.interfaces([], "addresses") == frozenset()
    same = m.interfaces(["10.231.0.1/24", "10.231.0.1/255.255.255.0"], "addresses")
    assert len(same) == 1


def test_interfaces_names_the_bad_element():
    with pytest.raises(InvalidInput, match=r"^addresses\[1\]:"):
        m.interfaces(["10.231.0.1/24", "nope"], "addresses")


@pytest.mark.parametrize("text, expected", [
    ("default", "0.0.0.0/0"),
    ("10.231.0.0/16", "10.231.0.0/16"),
    ("2001:db8::/32", "2001:db8::/32"),
])
def test_network(text, expected):
    assert str(m.network(text, "dst")) == expected


@pytest.mark.parametrize("text", ["10.231.0.300", "dns.google", "10.231.0"])
def test_address_rejects_naming_the_field_and_the_fix(text):
    with pytest.raises(InvalidInput, match=r"^nameservers\[0\]: '%s' is not a valid IP address; write it like 172.18.0.1" % text):
        m.address(text, "nameservers[0]")


def test_network_rejects_host_bits():
    with pytest.raises(InvalidInput, match="host bits zero"):
        m.network("10.231.0.1/16", "dst")


@pytest.mark.parametrize("text, expected", [
    ("02:42:AC:11:00:02", "02:42:ac:11:00:02"),
    ("02-42-ac-11-00-02", "02:42:ac:11:00:02"),
])
def test_mac_normalizes(text, expected):
    assert m.mac(text, "mac") == expected


@pytest.mark.parametrize("text, fragment", [
    ("02:42:ac:11:00", "not a MAC address; write six hex pairs"),
    ("zz:42:ac:11:00:02", "not a MAC address; write six hex pairs"),
    ("01:00:5e:00:00:01", "multicast MAC address; use a unicast one"),
])
def test_mac_rejects(text, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        m.mac(text, "mac")


@pytest.mark.parametrize("value, expected", [(None, None), (1500, 1500), ("9000", 9000), (68, 68)])
def test_mtu(value, expected):
    assert m.mtu(value, "mtu") == expected


@pytest.mark.parametrize("value", [67, 65536, "jumbo"])
def test_mtu_rejects(value):
    with pytest.raises(InvalidInput, match="^mtu: .*; give an MTU in 68..65535"):
        m.mtu(value, "mtu")


def test_route_parses_and_prints():
    rt = m.route({"dst": "10.231.8.0/24", "via": "10.231.0.1", "metric": 5}, "routes[0]")
    assert str(rt) == "10.231.8.0/24 via 10.231.0.1 metric 5"
    assert str(m.route({"dst": "default"}, "routes[0]")) == "default"


@pytest.mark.parametrize("spec, fragment", [
    ({"via": "10.231.0.1"}, "a dict with 'dst'"),
    ("10.231.0.0/16", "a dict with 'dst'"),
    ({"dst": "10.231.0.0/16", "gw": "10.231.0.1"}, r"unknown route keys gw \(known: dst, via, metric\)"),
    ({"dst": "10.231.0.0/16", "via": "2001:db8::1"}, "different IP versions; give a via of the same IP version as dst"),
    ({"dst": "10.231.0.0/16", "metric": "low"}, "not a number; give a whole number"),
])
def test_route_rejects(spec, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        m.route(spec, "routes[0]")


def test_default_route_follows_gateway_family():
    assert str(m.default_route(ipaddress.ip_address("10.231.0.1"))) == "default via 10.231.0.1"
    assert m.default_route(ipaddress.ip_address("2001:db8::1")).dst == ipaddress.ip_network("::/0")


@pytest.mark.parametrize("alias, ours", [
    ("netmodes.linux bridge", True),
    ("netmodes.linux", True),
    ("netmodes.linuxish", False),
    ("docker bridge", False),
    ("", False),
    (None, False),
])
def test_ownership_tag(alias, ours):
    assert m.is_ours(alias) is ours


def test_jsonable_renders_model_values_sorted():
    value = {"a": frozenset({m.interface("10.231.0.2/24", "x"), m.interface("10.231.0.1/24", "x")}), "b": None, "c": (1, "x")}
    assert m.jsonable(value) == {"a": ["10.231.0.1/24", "10.231.0.2/24"], "b": None, "c": [1, "x"]}


@pytest.mark.parametrize("name", ["web1", "WEB-1", "a", "web1.example.internal", "1x", "a" * 63, ".".join(["a" * 63] * 3) + ".b"])
def test_hostname_accepts_rfc_1123_names(name):
    assert m.hostname(name, "hostname") == name


@pytest.mark.parametrize("name", ["", "-web", "web-", "web_1", "web 1", "web..x", "a" * 64, ".".join(["a" * 63] * 4), "wéb", "web1."])
def test_hostname_rejects_with_the_field_and_the_rule(name):
    with pytest.raises(InvalidInput, match=r"^hostname: .* is not a valid host name \(RFC 1123\)") as info:
        m.hostname(name, "hostname")
    assert info.value.field == "hostname"
