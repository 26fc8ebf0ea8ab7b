# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _nftables as nft
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import port_mapping
from ansible_collections.netmodes.linux.plugins.modules.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns
from ansible_collections.netmodes.linux.plugins.modules.portmap import Portmap, elements
from ansible_collections.netmodes.linux.plugins.modules.veth import Veth


@pytest.fixture
def world(converge, kernel):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    for name, ip in (("web", "172.18.0.10"), ("db", "172.18.0.11")):
        converge(Netns, name=name)
        converge(Veth, name="veth-" + name, netns=name, bridge="br0", addresses=[ip + "/16"], gateway="172.18.0.1")
    kernel.links[(None, "eth0")] = kernel.links[(None, "br0")].__class__("eth0", 99, "", 1500, "02:00:00:00:00:99", True)
    kernel.links[(None, "eth0")].addresses = frozenset({ipaddress.ip_interface("10.231.1.11/24")})


def test_publish_four_steps(world, four_steps, firewall, sysctl):
    result = four_steps(Portmap, netns="web", bridge="br0", ports=["8080:80", "127.0.0.1:8081:80/udp"])
    assert result["published"] == ["127.0.0.1:8081:80/udp", "8080:80/tcp"] and result["address"] == "172.18.0.10"
    owned = firewall.read().owned_by("web")
    assert ("addr4", ("0.0.0.0/0", "tcp", "8080"), "172.18.0.10") in owned
    assert ("port4", ("0.0.0.0/0", "tcp", "8080"), "80") in owned
    assert ("loopback4", ("127.0.0.1", "udp", "8081"), None) in owned
    assert ("hairpin4", ("172.18.0.0/16", "172.18.0.10", "tcp", "80"), None) in owned
    assert sysctl.values["net/ipv4/conf/br0/route_localnet"] == "1"
    assert sysctl.values["net/ipv4/conf/eth0/forwarding"] == "1"
    assert firewall.commits == 1, "one transaction per run"


def test_the_list_is_complete_and_absent_removes_the_table(world, converge, firewall):
    converge(Portmap, netns="web", bridge="br0", ports=["8080:80", "8081:81"])
    result = converge(Portmap, netns="web", bridge="br0", ports=["8081:81"])
    assert result["diff"] == {"before": {"portmap web": {"published": ["8080:80/tcp", "8081:81/tcp"]}},
                              "after": {"portmap web": {"published": ["8081:81/tcp"]}}}
    converge(Portmap, netns="web", bridge="br0", state="absent")
    assert firewall.listing is None, "the last owner's absent removes our table"


def test_absent_keeps_the_table_while_others_publish(world, converge, firewall):
    converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])
    converge(Portmap, netns="db", bridge="br0", ports=["8081:80"])
    converge(Portmap, netns="web", bridge="br0", state="absent")
    state = firewall.read()
    assert state.owned_by("web") == set() and state.owned_by("db")


def test_another_sandbox_holding_the_port(world, converge, firewall):
    converge(Portmap, netns="web", bridge="br0", ports=["127.0.0.1:8080:80"])
    with pytest.raises(Conflict, match=r"host port 8080/tcp is already published by sandbox web \(127.0.0.1:8080:80/tcp\)"):
        converge(Portmap, netns="db", bridge="br0", ports=["8080:80"])
    converge(Portmap, netns="db", bridge="br0", ports=["10.231.1.11:8080:80", "8080:80/udp"])  # other address, other protocol


@pytest.mark.parametrize("listening, conflict", [
    (("tcp", "0.0.0.0", 8080), True),
    (("tcp", "::", 8080), True),
    (("tcp", "127.0.0.1", 8080), True),
    (("udp", "0.0.0.0", 8080), False),
    (("tcp", "0.0.0.0", 8081), False),
])
def test_a_host_process_holding_the_port(world, converge, sockets, firewall, listening, conflict):
    protocol, addr, port = listening
    sockets.listening.append((protocol, ipaddress.ip_address(addr), port, 4242))
    if not conflict:
        assert converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])["changed"]
        return
    with pytest.raises(Conflict, match="host port 8080/tcp is already in use on the host: python3 \\(pid 4242\\) listens on"):
        converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])
    assert firewall.commits == 0


@pytest.mark.parametrize("options, error, fragment", [
    ({"netns": "web", "bridge": "br9", "ports": ["8080:80"]}, NotFound, "bridge: br9 does not exist"),
    ({"netns": "nobody", "bridge": "br0", "ports": ["8080:80"]}, NotFound, "sandbox 'nobody' has no IPv4 address on bridge br0"),
    ({"address": "10.9.9.9", "bridge": "br0", "ports": ["8080:80"]}, NotFound, "not inside a subnet of bridge br0"),
    ({"netns": "web", "bridge": "br0", "ports": ["8080"]}, InvalidInput, "a host port is required"),
])
def test_bad_input(world, converge, firewall, options, error, fragment):
    with pytest.raises(error, match=fragment):
        converge(Portmap, **options)
    assert firewall.commits == 0


def test_explicit_address(world, converge, firewall):
    result = converge(Portmap, address="172.18.0.11", bridge="br0", ports=["8080:80"])
    assert result["address"] == "172.18.0.11"
    assert firewall.read().owned_by("172.18.0.11")


def test_a_damaged_skeleton_is_repaired(world, converge, firewall):
    converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])
    firewall.listing["nftables"] = [i for i in firewall.listing["nftables"] if i.get("rule", {}).get("chain") != "published"]
    assert not firewall.read().skeleton_intact()
    assert converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])["changed"]
    assert firewall.read().skeleton_intact()


@pytest.mark.parametrize("spec, expected", [
    ("8080:80", {("addr4", ("0.0.0.0/0", "tcp", "8080"), "172.18.0.10"), ("port4", ("0.0.0.0/0", "tcp", "8080"), "80"),
                 ("hairpin4", ("172.18.0.0/16", "172.18.0.10", "tcp", "80"), None)}),
    ("5000-5002:5000-5002/udp", {("range4", ("0.0.0.0/0", "udp", "5000-5002"), "172.18.0.10"),
                                 ("hairpin4", ("172.18.0.0/16", "172.18.0.10", "udp", "5000-5002"), None)}),
    ("127.0.0.1:8081:81", {("addr4", ("127.0.0.1", "tcp", "8081"), "172.18.0.10"), ("port4", ("127.0.0.1", "tcp", "8081"), "81"),
                           ("hairpin4", ("172.18.0.0/16", "172.18.0.10", "tcp", "81"), None),
                           ("loopback4", ("127.0.0.1", "tcp", "8081"), None)}),
])
def test_elements_follow_dockers_rules(spec, expected):
    # Docker: DNAT host port -> container:port for local destinations; hairpin masquerade for
    # the same bridge; 127.0.0.1 bindings get the "DROP REMOTE LOOPBACK" guard.
    got = elements(port_mapping(spec, "p"), ipaddress.ip_address("172.18.0.10"), ipaddress.ip_network("172.18.0.0/16"))
    assert got == expected


def test_an_offset_range_is_one_element_per_port():
    got = elements(port_mapping("8000-8002:9000-9002", "p"), ipaddress.ip_address("172.18.0.10"), ipaddress.ip_network("172.18.0.0/16"))
    assert sorted(v for n, k, v in got if n == "port4") == ["9000", "9001", "9002"]


def test_element_json_round_trip():
    raw = nft.element_json(("0.0.0.0/0", "tcp", "5000-5010"), "172.18.0.10", "web")
    assert raw == [{"elem": {"val": {"concat": [{"prefix": {"addr": "0.0.0.0", "len": 0}}, "tcp", {"range": [5000, 5010]}]},
                             "comment": "web"}}, "172.18.0.10"]
    assert nft._parse_element(raw) == (("0.0.0.0/0", "tcp", "5000-5010"), "172.18.0.10", "web")


def test_ipv6_sandbox_address_is_refused_as_input(world, converge):
    with pytest.raises(InvalidInput, match="IPv6 sandbox addresses are not supported yet"):
        converge(Portmap, address="2001:db8::10", bridge="br0", ports=["8080:80"])
