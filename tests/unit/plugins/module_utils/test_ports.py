# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's -p syntax."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._ports import (
    EPHEMERAL,
    Held,
    docker_ports,
    ephemeral_range,
    pick_ports,
    port_mapping,
    port_mappings,
    resolve_allow,
)


@pytest.mark.parametrize("spec, text", [
    ("8080:80", "8080:80/tcp"),
    ("127.0.0.1:8080:80", "127.0.0.1:8080:80/tcp"),
    ("8080:80/udp", "8080:80/udp"),
    ("8080:80/UDP", "8080:80/udp"),
    ("5000-5010:5000-5010", "5000-5010:5000-5010/tcp"),
    ("8000-8002:9000-9002/sctp", "8000-8002:9000-9002/sctp"),
    ({"host_port": 8080, "container_port": 80}, "8080:80/tcp"),
    ({"host_ip": "127.0.0.1", "host_port": "8080", "container_port": 80, "protocol": "udp"}, "127.0.0.1:8080:80/udp"),
    # IPv6 host addresses in Docker's brackets
    ("[::]:8080:80", "[::]:8080:80/tcp"),
    ("[fd31::1]:8080:80/udp", "[fd31::1]:8080:80/udp"),
    ("[FD31:0::1]:5000-5010:5000-5010/sctp", "[fd31::1]:5000-5010:5000-5010/sctp"),
    ({"host_ip": "::", "host_port": 8080, "container_port": 80}, "[::]:8080:80/tcp"),
    ({"host_ip": "[fd31::1]", "host_port": 8080, "container_port": 80, "protocol": "udp"}, "[fd31::1]:8080:80/udp"),
    # random host ports (Docker's -p 80, -p 127.0.0.1::80, -p 8000-8100:80)
    ("80", "80/tcp"),
    ("53/UDP", "53/udp"),
    ("127.0.0.1::80", "127.0.0.1::80/tcp"),
    ("[fd31::1]::80/sctp", "[fd31::1]::80/sctp"),
    ("8000-8100:80", "8000-8100:80/tcp"),
    ("10.231.0.5:8000-8100:80/udp", "10.231.0.5:8000-8100:80/udp"),
    ({"container_port": 80}, "80/tcp"),
    ({"host_ip": "::", "host_port": "8000-8001", "container_port": 80}, "[::]:8000-8001:80/tcp"),
])
def test_docker_syntax(spec, text):
    assert str(port_mapping(spec, "ports[0]")) == text


@pytest.mark.parametrize("spec", ["8080:80", "[::]:8080:80/udp", "[fd31::1]:8080:80", "10.231.1.11:5000-5001:6000-6001/sctp",
                                  "80", "127.0.0.1::80/udp", "[::]::80", "8000-8100:80", "[fd31::1]:8000-8100:80/sctp"])
def test_printed_mappings_parse_back_as_themselves(spec):
    mapping = port_mapping(spec, "ports[0]")
    assert port_mapping(str(mapping), "ports[0]") == mapping


def test_without_a_host_address_a_port_is_published_on_each_family():
    """Docker on a dual-stack network: -p 8080:80 publishes on 0.0.0.0 and on ::."""
    every = port_mapping("8080:80", "p")
    assert every.every_family and every.hosts() == (ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::"))
    assert [str(every.for_family(v)) for v in (4, 6)] == ["8080:80/tcp", "[::]:8080:80/tcp"]
    assert not port_mapping("0.0.0.0:8080:80", "p").every_family, "Docker: 0.0.0.0 is IPv4 alone"
    assert every == every.for_family(4), "what the firewall reads back compares equal"
    assert sorted([port_mapping("[::]:8080:80", "p"), every.for_family(4)]) == [every.for_family(4), every.for_family(6)]


def test_a_range_keeps_its_shape():
    m = port_mapping("8000-8002:9000-9002", "ports[0]")
    assert (m.host_port, m.host_port_end, m.container_port, m.container_port_end, m.size) == (8000, 8002, 9000, 9002, 3)


@pytest.mark.parametrize("spec, fragment, fix", [
    ("8000-8100:80-81", "differ in length", "or one container port to publish on one free port of the host range"),
    ("127.0.0.1:8080:", "needs a container port", "needs a container port"),
    ("8080:80/icmp", "protocol 'icmp' is not supported", "use tcp, udp or sctp"),
    ("5000-5010:5000-5005", "differ in length", "give ranges of the same length"),
    ("70000:80", "host port '70000' is outside 1-65535", "give ports from 1 to 65535"),
    ("0:80", "host port '0' is outside 1-65535", "give ports from 1 to 65535"),
    ("8080:0", "container port '0' is outside 1-65535", "give ports from 1 to 65535"),
    ("5010-5000:80-90", "host port '5010-5000' runs backwards", "write the lower port first (5000-5010)"),
    ("http:80", "host port 'http' is not a port", "write it like 8080 or 5000-5010"),
    ("10.231.0.300:8080:80", "host_ip: '10.231.0.300' is not a valid IP address", "write it like 172.18.0.1"),
    ("::1:8080:80", "'::1:8080:80': write it as Docker's -p", "an IPv6 HOST_IP in brackets ([::]:8080:80"),
    ("[fd31::1]:8080", "'[fd31::1]:8080': write it as Docker's -p", "in brackets"),
    ("[fd31::g]:8080:80", "host_ip: 'fd31::g' is not a valid IP address", "write it like"),
    ({"host_port": 8080, "container_port": 80, "proto": "tcp"}, "unknown keys proto", "(known: allow, container_port, host_ip, host_port, port, protocol)"),
    ({"port": "8080:80", "allow": "10.231.1.0/24"}, "ports[3].allow: must be a list of CIDRs", "and inventory group names"),
    ({"port": "8080:80", "allow": ["10.231.1.1/24"]}, "ports[3].allow[0]: '10.231.1.1/24' has host bits set", "give the network (10.231.1.0/24)"),
    ({"port": "8080:80", "allow": ["10.231.1.0/33"]}, "ports[3].allow[0]: '10.231.1.0/33' is neither a CIDR", "nor an inventory group name"),
    ({"port": "8080:80", "allow": ["web-clients"]}, "ports[3].allow[0]: 'web-clients' is neither", "(letters, digits and _)"),
    ({"port": "8080:80", "allow": [True]}, "ports[3].allow[0]: True is neither", "inventory group name"),
    ({"port": "8080:80", "allow": [{"cidr": "10.231.1.0/24"}]}, "ports[3].allow[0]: {'cidr'", "inventory group name"),
    ({"port": "8080:80", "host_port": 8080}, "ports[3]: give either port (Docker's -p text) or host_port", "not both"),
    ({"port": "8080:80/icmp", "allow": []}, "ports[3].port: protocol 'icmp' is not supported", "use tcp, udp or sctp"),
])
def test_refused_with_the_reason_and_the_fix(spec, fragment, fix):
    with pytest.raises(InvalidInput) as info:
        port_mapping(spec, "ports[3]")
    assert info.value.msg.startswith("ports[3]")
    assert fragment in info.value.msg and fix in info.value.msg, info.value.msg


@pytest.mark.parametrize("a, b, overlap", [
    ("8080:80", "8080:81", True),
    ("8080:80", "8080:80/udp", False),
    ("127.0.0.1:8080:80", "8080:80", True),
    ("127.0.0.1:8080:80", "10.231.1.11:8080:80", False),
    ("5000-5010:5000-5010", "5010:80", True),
    ("5000-5010:5000-5010", "5011:80", False),
    # 0.0.0.0 and :: are different addresses: the firewall tells the families apart
    ("0.0.0.0:8080:80", "[::]:8080:80", False),
    ("10.231.1.11:8080:80", "[::]:8080:80", False),
    ("[fd31::1]:8080:80", "[::]:8080:80", True),
    ("[fd31::1]:8080:80", "[fd31::2]:8080:80", False),
    # without a host address a mapping may be published on both
    ("8080:80", "[fd31::1]:8080:80", True),
    ("8080:80", "10.231.1.11:8080:80", True),
])
def test_overlap(a, b, overlap):
    assert port_mapping(a, "a").overlaps(port_mapping(b, "b")) is overlap
    assert port_mapping(b, "b").overlaps(port_mapping(a, "a")) is overlap


def test_a_list_may_not_publish_one_port_twice():
    with pytest.raises(InvalidInput, match="publish the same host port 8080/tcp twice; publish each host port once"):
        port_mappings(["8080:80", "8080:81"], "ports")
    assert len(port_mappings(["8080:80", "8080:80", "8080:80/udp"], "ports")) == 2


def _held(*pairs):
    return Held((who, port_mapping(text, "ports")) for who, text in pairs)


def test_held_ports_name_the_first_owner_that_overlaps_in_the_order_they_came():
    held = _held(("a", "5000-5010:5000-5010/tcp"), ("b", "5005:80/tcp"), ("c", "10.231.0.5:6000:80/tcp"), ("d", "6000:80/udp"))
    assert held.overlapping(port_mapping("5005:80", "ports"))[0] == "a", "the range came first"
    assert held.overlapping(port_mapping("5011:80", "ports")) is None
    assert held.overlapping(port_mapping("10.231.0.6:6000:80", "ports")) is None, "another address, another protocol"
    assert held.overlapping(port_mapping("6000:80", "ports"))[0] == "c", "every address covers 10.231.0.5"
    assert held.overlapping(port_mapping("6000:80/udp", "ports"))[0] == "d"
    # A long range is compared with every single port of its protocol rather than looked up port by port.
    wide = port_mapping("1000-%d:1000-%d" % (1000 + Held.LOOKUP * 100, 1000 + Held.LOOKUP * 100), "ports")
    assert held.overlapping(wide)[0] == "a"
    held.add("e", port_mapping("100:80", "ports"))
    assert held.overlapping(port_mapping("90-110:90-110", "ports"))[0] == "e"


def _listening(addr):
    return [("tcp", ipaddress.ip_address(addr), 8080, 7)]


@pytest.mark.parametrize("spec, addr, held", [
    # a listener on :: with IPV6_V6ONLY off (Linux's default, which /proc/net does not tell) also holds IPv4
    ("0.0.0.0:8080:80", "::", True),
    ("10.231.1.11:8080:80", "::", True),
    ("[::]:8080:80", "0.0.0.0", False),
    ("[fd31::1]:8080:80", "0.0.0.0", False),
    ("[::]:8080:80", "fd31::1", True),
    ("[fd31::2]:8080:80", "fd31::1", False),
    ("10.231.1.11:8080:80", "::ffff:10.231.1.11", True),
    ("10.231.1.12:8080:80", "::ffff:10.231.1.11", False),
    ("8080:80", "fd31::1", True),
])
def test_a_listener_holds_the_port_on_its_own_family_and_on_both_from_any6(spec, addr, held):
    assert (port_mapping(spec, "p").listener(_listening(addr)) is not None) is held


# -- random host ports ---------------------------------------------------------------------------

def _pick(specs, published=(), busy=(), ephemeral=(32768, 60999)):
    wanted = port_mappings(specs, "ports")
    mine = [port_mapping(p, "p").for_family(4) for p in published]
    return {str(m): str(picked) for m, picked in pick_ports(wanted, mine, busy, ephemeral).items()}


@pytest.mark.parametrize("value, expected", [
    ("32768\t60999", (32768, 60999)), ("1024 65000", (1024, 65000)), (None, EPHEMERAL), ("garbage", EPHEMERAL), ("9 3", EPHEMERAL),
])
def test_the_ephemeral_range_is_read_from_the_sysctl_or_is_linux_default(value, expected):
    assert ephemeral_range(value) == expected


def test_a_random_port_is_the_first_free_one_above_the_ephemeral_range_then_below_it():
    assert _pick(["80"]) == {"80/tcp": "61000:80/tcp"}
    assert _pick(["80"], busy={("tcp", 61000), ("tcp", 61001), ("udp", 61002)}) == {"80/tcp": "61002:80/tcp"}
    assert _pick(["53/udp"], busy={("tcp", 61000)}) == {"53/udp": "61000:53/udp"}, "another protocol's port is free"
    above = {("tcp", p) for p in range(61000, 65536)}
    assert _pick(["80"], busy=above) == {"80/tcp": "32767:80/tcp"}, "then downwards below the range"
    assert _pick(["80"], ephemeral=(2000, 65000)) == {"80/tcp": "65001:80/tcp"}, "the host's range, as read"
    assert _pick(["127.0.0.1::80", "[::]::81"]) == {"127.0.0.1::80/tcp": "127.0.0.1:61000:80/tcp", "[::]::81/tcp": "[::]:61001:81/tcp"}


def test_no_free_port_left_is_a_conflict_naming_the_range():
    with pytest.raises(Conflict, match=r"ports: 80/tcp: no free host port for tcp is left from 1024 to 65535 outside the ephemeral"
                                       r" range 1024-65535 \(net.ipv4.ip_local_port_range\); free one, or give a host port"):
        _pick(["80"], ephemeral=(1024, 65535))
    with pytest.raises(Conflict, match="8000-8001:80/tcp: no free host port for tcp is left in 8000-8001"):
        _pick(["8000-8001:80"], busy={("tcp", 8000), ("tcp", 8001)})


def test_a_container_range_without_host_ports_gets_a_random_port_for_each_of_its_ports():
    """Docker's -p 80-82: three mappings, each with a host port of its own, kept run after run."""
    assert sorted(str(m) for m in port_mappings(["80-82", "127.0.0.1::53-54/udp"], "p")) == [
        "127.0.0.1::53/udp", "127.0.0.1::54/udp", "80/tcp", "81/tcp", "82/tcp"]
    assert _pick(["80-82"], busy={("tcp", 61001)}) == {"80/tcp": "61000:80/tcp", "81/tcp": "61002:81/tcp", "82/tcp": "61003:82/tcp"}
    assert _pick(["80-82"], published=["61700:81"]) == {"80/tcp": "61000:80/tcp", "81/tcp": "61700:81/tcp", "82/tcp": "61001:82/tcp"}
    with pytest.raises(InvalidInput, match="ports: 80/tcp is published twice with different allow lists; give it once"):
        port_mappings([{"port": "80-81", "allow": ["10.231.1.0/24"]}, "80"], "ports")
    (one, two) = sorted(port_mappings([{"container_port": "80-81", "allow": ["10.231.1.0/24"]}], "ports"))
    assert (one.container_port, two.container_port, one.allow, two.allow) == (80, 81, one.allow, one.allow) and one.allow


def test_a_range_gets_its_first_free_port_whatever_the_ephemeral_range():
    assert _pick(["40000-40010:80"], busy={("tcp", 40000)}) == {"40000-40010:80/tcp": "40001:80/tcp"}


def test_the_sandboxs_own_fixed_ports_and_earlier_picks_are_not_picked():
    assert _pick(["61000:8080", "80", "81"]) == {"80/tcp": "61001:80/tcp", "81/tcp": "61002:81/tcp"}


def test_a_port_picked_before_is_kept_even_when_a_lower_one_is_free():
    assert _pick(["80"], published=["61500:80"]) == {"80/tcp": "61500:80/tcp"}
    assert _pick(["80"], published=["61500:80"], busy={("tcp", 61500)}) == {"80/tcp": "61500:80/tcp"}, \
        "kept even when someone holds it: the conflict check names the holder, nothing moves silently"
    assert _pick(["8000-8100:80"], published=["8050:80"]) == {"8000-8100:80/tcp": "8050:80/tcp"}
    assert _pick(["8000-8100:80"], published=["9000:80"]) == {"8000-8100:80/tcp": "8000:80/tcp"}, "outside the range: picked again"
    assert _pick(["80"], published=["61500:81"]) == {"80/tcp": "61000:80/tcp"}, "another container port"
    assert _pick(["80/udp"], published=["61500:80"]) == {"80/udp": "61000:80/udp"}, "another protocol"
    assert _pick(["127.0.0.1::80"], published=["61500:80"]) == {"127.0.0.1::80/tcp": "127.0.0.1:61000:80/tcp"}, "another address"


def test_a_fixed_mapping_of_the_same_container_port_is_not_taken_as_kept():
    assert _pick(["61500:80", "80"], published=["61500:80"]) == {"80/tcp": "61000:80/tcp"}


def test_two_random_mappings_of_one_container_port_keep_one_port_each():
    assert _pick(["80", "8000-8100:80"], published=["8005:80", "61700:80"]) == {"80/tcp": "61700:80/tcp", "8000-8100:80/tcp": "8005:80/tcp"}


def test_an_every_family_mapping_keeps_its_port_for_both_families():
    wanted = port_mappings(["80"], "ports")
    mine = [port_mapping("61200:80", "p").for_family(v) for v in (4, 6)]
    (picked,) = list(pick_ports(wanted, mine, set(), (32768, 60999)).values())
    assert picked.every_family and (picked.host_port, picked.pick) == (61200, None)
    assert [str(picked.for_family(v)) for v in (4, 6)] == ["61200:80/tcp", "[::]:61200:80/tcp"]


def test_held_ports_lists_every_port_of_every_owner_but_those_skipped():
    held = _held(("a", "5000-5002:5000-5002/udp"), ("b", "8080:80"), ("c", "10.231.0.5:8081:80"))
    assert held.ports() == {("udp", 5000), ("udp", 5001), ("udp", 5002), ("tcp", 8080), ("tcp", 8081)}
    assert held.ports(skip={"a", "c"}) == {("tcp", 8080)}


def test_docker_port_lists_each_container_port_with_its_host_addresses():
    published = [port_mapping(s, "p") for s in ("61000:80", "[::]:61000:80", "127.0.0.1:5000-5001:53-54/udp")]
    assert docker_ports(published) == {"80/tcp": ["0.0.0.0:61000", "[::]:61000"], "53/udp": ["127.0.0.1:5000"],
                                       "54/udp": ["127.0.0.1:5001"]}


def test_allow_takes_cidrs_of_both_families_and_group_names():
    m = port_mapping({"port": "8080:80", "allow": ["web_clients", "fd31::/64", "10.231.1.0/24", "10.231.2.7"]}, "ports[0]")
    assert (m.protocol, m.host_port, m.container_port, m.every_family) == ("tcp", 8080, 80, True)
    assert [str(a) for a in m.allow] == ["10.231.1.0/24", "10.231.2.7/32", "fd31::/64", "web_clients"]
    assert m.groups() == ["web_clients"]
    assert m == port_mapping("8080:80", "p"), "the firewall reads the port back without its allow-list"
    assert port_mapping("8080:80", "p").allow is None and port_mapping({"port": "8080:80", "allow": []}, "p").allow == ()
    assert m.for_family(6).allow == m.allow and m.picked(9000).allow == m.allow
    assert port_mapping(m.option(), "p").allow == m.allow and port_mapping("8080:80", "p").option() == "8080:80/tcp"


def test_one_port_with_two_allow_lists_is_refused():
    with pytest.raises(InvalidInput) as info:
        port_mappings([{"port": "8080:80", "allow": ["10.231.1.0/24"]}, "8080:80"], "publish")
    assert "publish the same host port 8080/tcp twice" in info.value.msg
    same = port_mappings([{"port": "8080:80", "allow": ["a"]}, {"port": "8080:80", "allow": ["a"]}], "publish")
    assert len(same) == 1


def test_resolve_allow_puts_each_groups_addresses_in_its_place():
    m = port_mapping({"port": "8080:80", "allow": ["web_clients", "10.231.1.0/24"]}, "ports[0]")
    fleet = {"web_clients": [ipaddress.ip_address("10.231.5.2"), ipaddress.ip_address("fd31::2")]}
    out = resolve_allow(m, fleet.get, "publish")
    assert [str(a) for a in out.allow] == ["10.231.1.0/24", "10.231.5.2/32", "fd31::2/128"]
    assert resolve_allow(port_mapping("8080:80", "p"), fleet.get, "publish").allow is None
    with pytest.raises(InvalidInput) as info:
        resolve_allow(port_mapping({"port": "8080:80", "allow": ["nobody_here"]}, "p"), fleet.get, "sandboxes[0]: publish")
    assert info.value.msg.startswith("sandboxes[0]: publish: 8080:80/tcp: allow names the group 'nobody_here'"), info.value.msg
