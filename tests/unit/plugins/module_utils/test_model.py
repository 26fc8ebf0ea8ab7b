# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput


@pytest.mark.parametrize("name", ["eth0", "veth-web", "a" * 15, "br.0", "br_0", "docker0", "eth0.100", "0"])
def test_ifname_accepts_names_of_letters_digits_and_dot_dash_underscore(name):
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
    # The kernel takes these; a firewall rule reads them as more than one name, or as a negation.
    ("+", "'\\+' as a wildcard that matches other interfaces"),
    ("nm+", "'\\+' as a wildcard that matches other interfaces"),
    ("nm*", "'\\*' as a wildcard"),
    ("n*m", "'\\*' as a wildcard"),
    ("!eth0", "it contains '!'"),
    ("@fwd-in", "it contains '@'"),
    ("$br", "it contains '\\$'"),
    ('br"0', "it contains '\"'"),
    ("br\\0", r"it contains '\\\\'"),
    ("-br", "it starts with '-'"),
    ("é" * 7, "it contains 'é'"),
    ("br0\n", r"the control character '\\n'"),
    ("br\x00", r"the control character '\\x00'"),
    ("br\u2028", r"the control character '\\u2028'"),
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


@pytest.mark.parametrize("name", ["a-very-long-sandbox-name-for-a-service", "web", "my_app", "app.v2", "A1", "x" * 255])
def test_netns_name_accepts_dockers_container_names(name):
    assert m.netns_name(name, "name") == name


@pytest.mark.parametrize("name, reason", [
    ("s3\n-I INPUT 1 -j ACCEPT\n#", r"it contains the control character '\\n'"),
    ("web\n", r"it contains the control character '\\n'"),
    ("web\r", r"it contains the control character '\\r'"),
    ("web 1", "it contains white space"),
    ("web\u00a0", "it contains white space"),
    (".x.tmp", "it starts with '.'"),
    ("_web", "it starts with '_'"),
    ("web;reboot", "it contains ';'"),
    ("w'e\"b", "it contains '\"', \"'\""),
    ("web+", r"firewall rules read '\+' as a wildcard that matches other interfaces"),
])
def test_a_sandbox_name_is_dockers_container_name_and_the_message_says_why_not(name, reason):
    with pytest.raises(InvalidInput, match=r"^config\[0\]\.name: sandbox name .* is not valid: %s; use letters, digits, '_', '.' and '-',"
                                           r" starting with a letter or digit\. Choose another name\.$" % reason) as info:
        m.netns_name(name, "config[0].name")
    assert info.value.field == "config[0].name"


def test_a_network_name_follows_the_same_rule():
    assert m.name("front-1", "config[0].name", "network name") == "front-1"
    with pytest.raises(InvalidInput, match=r"^config\[0\]\.name: network name 'nm\+' is not valid: firewall rules read '\+' as a wildcard"):
        m.name("nm+", "config[0].name", "network name")


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


@pytest.mark.parametrize("name", ["web1\n.evil", "web1\n", "\nweb1", "web\t1", "web1.\nevil", "a\u2028b"])
def test_hostname_is_matched_as_a_whole_so_no_newline_gets_through(name):
    """``$`` matches before a trailing newline: label by label, web1\\n passed, and the hostname
    and hosts files got a line of the user's choosing."""
    with pytest.raises(InvalidInput, match=r"^hostname: .* is not a valid host name \(RFC 1123\)"):
        m.hostname(name, "hostname")


def test_hostname_drops_the_spaces_around_it():
    assert m.hostname(" web1 ", "hostname") == "web1"


# The attack of issue 13 (item 3): a scope id holds anything but '%', so an address became
# lines of resolv.conf and hosts.
INJECTED = "fe80::1%x\nnameserver 6.6.6.6\nsearch evil.example"


@pytest.mark.parametrize("parse", [m.address, lambda v, f: m.address(v, f, 6)])
@pytest.mark.parametrize("text", [INJECTED, "fe80::1%eth0", "fd31::1%1"])
def test_an_address_takes_no_scope_id_where_it_means_nothing(parse, text):
    with pytest.raises(InvalidInput, match=r"^peers\[0\]: .* carries a scope id, .*, which means nothing here; remove it$"):
        parse(text, "peers[0]")


@pytest.mark.parametrize("text", ["fe80::1%eth0", "fe80::1%2", "fe80::1%br-1a2b.100"])
def test_a_nameserver_takes_a_link_local_address_with_an_interface(text):
    found = m.address(text, "nameservers[0]", scoped=True)
    assert str(found) == text and found.scope_id == text.partition("%")[2]


@pytest.mark.parametrize("text, reason", [
    (INJECTED, r"its scope id 'x\\nnameserver 6.6.6.6\\nsearch evil.example' is not an interface name: it contains the control"
               r" character '\\n'"),
    ("fe80::1%" + "e" * 16, r"its scope id 'e{16}' is longer than an interface name \(at most 15 bytes\)"),
    ("fe80::1%x\n", r"its scope id 'x\\n' is not an interface name: it contains the control character '\\n'"),
    ("fe80::1%a b", r"its scope id 'a b' is not an interface name: it contains white space"),
    ("fe80::1%eth+", r"its scope id 'eth\+' is not an interface name: firewall rules read '\+' as a wildcard that matches other interfaces"),
    ("fd31::1%eth0", r"a scope id \('eth0'\) applies to link-local addresses \(fe80::/10\) only"),
])
def test_a_nameservers_scope_id_names_an_interface_of_a_link_local_address(text, reason):
    with pytest.raises(InvalidInput, match=r"^nameservers\[0\]: .*: %s; write a link-local address and an interface, like fe80::1%%eth0$"
                       % reason):
        m.address(text, "nameservers[0]", scoped=True)


@pytest.mark.parametrize("parse, text", [
    (m.interface, "fe80::1%x\n6.6.6.6/64"),
    (m.interface, "fe80::1%eth0/64"),
    (m.network, "fe80::%x\ny/64"),
])
def test_cidrs_take_no_scope_id(parse, text):
    with pytest.raises(InvalidInput, match=r"^addresses\[0\]: .* carries a scope id"):
        parse(text, "addresses[0]")


@pytest.mark.parametrize("parse, text", [
    (m.address, "10.231.0.1\n"), (m.interface, "10.231.0.1/24\n"), (m.network, "10.231.0.0/24\n"), (m.mac, "02:42:ac:11:00:02\n"),
    (m.ifname, "eth0\n"), (m.netns_name, "web\n"), (m.hostname, "web1\n"), (m.resolver_option, "edns0\n"), (m.unit_path, "/x\n"),
])
def test_every_parser_refuses_a_trailing_newline(parse, text):
    with pytest.raises(InvalidInput, match="^f: "):
        parse(text, "f")


@pytest.mark.parametrize("text", ["ndots:2", "timeout:1", "edns0", "trust-ad", "single-request-reopen", " rotate "])
def test_resolver_options_are_words(text):
    assert m.resolver_option(text, "options[0]") == text.strip()


@pytest.mark.parametrize("text", ["ndots:2 edns0", "ndots:1\nnameserver 6.6.6.6", "#comment", ";x", "a\x00b", ""])
def test_a_resolver_option_is_one_word(text):
    with pytest.raises(InvalidInput, match=r"^options\[0\]: .* is not one resolver option; give each option as its own list item"):
        m.resolver_option(text, "options[0]")


@pytest.mark.parametrize("text", ["/etc/netmodes/declared.json", "/usr/local/lib/netmodes/netmodes-restore", "/etc/systemd/system",
                                  "/srv/a@b/c+d_e.f"])
def test_unit_paths(text):
    assert m.unit_path(text, "path") == text


@pytest.mark.parametrize("text", ["relative/x", "/etc/x\nExecStartPre=/bin/sh", "/opt/my dir/x", "/opt/%h/x", "/a$HOME", "/a\\b",
                                  '/a"b', "/", "/a//b", "/a/"])
def test_a_path_in_a_unit_is_one_word_systemd_takes_as_it_is(text):
    with pytest.raises(InvalidInput, match=r"^path: .* is not a path a systemd unit can name as it is: give an absolute path"):
        m.unit_path(text, "path")


def test_names_of_objects_to_remove_are_held_to_the_kernels_rules_only():
    """What an older version made under a name refused now can still be removed by its name."""
    assert m.ifname("nm+", "name", existing=True) == "nm+"
    assert m.netns_name("s3\n-I INPUT 1 -j ACCEPT\n#", "name", existing=True) == "s3\n-I INPUT 1 -j ACCEPT\n#"
    for bad in ("a b", "a/b", "..", "a" * 16):
        with pytest.raises(InvalidInput, match="^name: interface name"):
            m.ifname(bad, "name", existing=True)
    for bad in ("a/b", "..", "a\0b", ""):
        with pytest.raises(InvalidInput, match="^name: "):
            m.netns_name(bad, "name", existing=True)
