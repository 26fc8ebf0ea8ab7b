# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns
from ansible_collections.netmodes.linux.plugins.modules.portmap import Portmap
from ansible_collections.netmodes.linux.plugins.modules.veth import Veth


@pytest.fixture
def firewall(each_firewall):
    return each_firewall


@pytest.fixture
def world(converge, kernel):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    for name, ip in (("web", "172.18.0.10"), ("db", "172.18.0.11")):
        converge(Netns, name=name)
        converge(Veth, name="veth-" + name, netns=name, bridge="br0", addresses=[ip + "/16"], gateway="172.18.0.1")
    kernel.links[(None, "eth0")] = kernel.links[(None, "br0")].__class__("eth0", 99, "", 1500, "02:00:00:00:00:99", True)
    kernel.links[(None, "eth0")].addresses = frozenset({ipaddress.ip_interface("10.231.1.11/24")})


def test_publish_four_steps(world, four_steps, firewall, sysctl):
    commits = firewall.commits
    result = four_steps(Portmap, netns="web", bridge="br0", ports=["8080:80", "127.0.0.1:8081:80/udp"])
    assert result["published"] == ["127.0.0.1:8081:80/udp", "8080:80/tcp"] and result["address"] == "172.18.0.10"
    assert result["backend"] == firewall.name
    assert firewall.owned("netns:web")
    assert sysctl.values["net/ipv4/conf/br0/route_localnet"] == "1"
    assert sysctl.values["net/ipv4/conf/eth0/forwarding"] == "1"
    assert firewall.commits == commits + 1, "one transaction per run"


def test_the_list_is_complete_and_absent_removes_the_table(world, converge, firewall):
    converge(Portmap, netns="web", bridge="br0", ports=["8080:80", "8081:81"])
    result = converge(Portmap, netns="web", bridge="br0", ports=["8081:81"])
    assert result["diff"] == {"before": {"portmap netns:web": {"published": ["8080:80/tcp", "8081:81/tcp"]}},
                              "after": {"portmap netns:web": {"published": ["8081:81/tcp"]}}}
    converge(Portmap, netns="web", bridge="br0", state="absent")
    assert firewall.owned("netns:web") == []
    converge(Bridge, name="br0", state="absent")
    assert not firewall.table_exists(), "the last owner's absent removes our table (chains)"


def test_absent_keeps_the_table_while_others_publish(world, converge, firewall):
    converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])
    converge(Portmap, netns="db", bridge="br0", ports=["8081:80"])
    converge(Portmap, netns="web", bridge="br0", state="absent")
    assert firewall.owned("netns:web") == [] and firewall.owned("netns:db")


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
    commits = firewall.commits
    sockets.listening.append((protocol, ipaddress.ip_address(addr), port, 4242))
    if not conflict:
        assert converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])["changed"]
        return
    with pytest.raises(Conflict, match="host port 8080/tcp is already in use on the host: python3 \\(pid 4242\\) listens on"):
        converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])
    assert firewall.commits == commits


@pytest.mark.parametrize("options, error, fragment", [
    ({"netns": "web", "bridge": "br9", "ports": ["8080:80"]}, NotFound, "bridge: br9 does not exist"),
    ({"netns": "nobody", "bridge": "br0", "ports": ["8080:80"]}, NotFound, "sandbox 'nobody' has no IPv4 address on bridge br0"),
    ({"address": "10.9.9.9", "bridge": "br0", "ports": ["8080:80"]}, NotFound,
     "^address: 10.9.9.9 is not inside a subnet of bridge br0; give the sandbox's address on br0"),
    ({"netns": "web", "bridge": "br0", "ports": ["8080"]}, InvalidInput, "a host port is required"),
])
def test_bad_input(world, refused, options, error, fragment):
    refused(Portmap, error, fragment, **options)


def test_explicit_address(world, converge, firewall):
    result = converge(Portmap, address="172.18.0.11", bridge="br0", ports=["8080:80"])
    assert result["address"] == "172.18.0.11"
    assert firewall.owned("address:172.18.0.11")


def test_a_damaged_skeleton_is_repaired(world, converge, firewall):
    converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])
    if firewall.name == "nftables":
        firewall.listing["nftables"] = [i for i in firewall.listing["nftables"] if i.get("rule", {}).get("chain") != "published"]
    else:
        firewall.hooks[("nat", "PREROUTING")].clear()
    assert not firewall.read().intact()
    assert converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])["changed"]
    assert firewall.read().intact()


def test_ipv6_sandbox_address_is_refused_as_input(world, converge):
    with pytest.raises(InvalidInput, match="IPv6 sandbox addresses are not supported yet"):
        converge(Portmap, address="2001:db8::10", bridge="br0", ports=["8080:80"])


# -- the host stays closed (issue 13, items 2 and 6) -------------------------------------------

LOCALNET = "net/ipv4/conf/br0/route_localnet"
ETH0 = "net/ipv4/conf/eth0/forwarding"


@pytest.mark.parametrize("ports, localnet, forwarding", [
    (["8080:80"], True, True),                   # the host reaches it through 127.0.0.1 too
    (["127.0.0.1:8080:80"], True, False),        # only through 127.0.0.1: no uplink
    (["10.231.1.11:8080:80"], False, True),      # only through eth0's address: no 127.0.0.1
])
def test_route_localnet_only_for_a_port_the_host_reaches_through_loopback(world, converge, sysctl, ports, localnet, forwarding):
    converge(Portmap, netns="web", bridge="br0", ports=ports)
    held = sysctl.ledger()
    assert (LOCALNET in held, ETH0 in held) == (localnet, forwarding)
    assert sysctl.values.get(LOCALNET, "0") == ("1" if localnet else "0")
    converge(Portmap, netns="web", bridge="br0", state="absent")
    assert sysctl.values.get(LOCALNET, "0") == "0" and sysctl.values.get(ETH0, "0") == "0"
    assert not sysctl.ledger().get(ETH0) and LOCALNET not in sysctl.ledger()


def test_a_link_that_is_not_a_bridge_is_refused(world, converge, sysctl, firewall):
    commits, calls = firewall.commits, list(sysctl.calls)
    with pytest.raises(Conflict, match="^bridge: eth0 is a plain link, not a bridge; name a bridge"):
        converge(Portmap, address="10.231.1.50", bridge="eth0", ports=["8080:80"])
    assert firewall.commits == commits and sysctl.calls == calls


def test_a_bridge_not_ours_is_guarded_and_put_back(world, converge, kernel, sysctl, firewall):
    kernel.links[(None, "docker0")] = Link("docker0", 98, "bridge", 1500, "02:00:00:00:00:98", True,
                                           addresses=frozenset({ipaddress.ip_interface("10.231.173.1/24")}))
    converge(Portmap, address="10.231.173.2", bridge="docker0", ports=["8088:80"])
    assert sysctl.values["net/ipv4/conf/docker0/route_localnet"] == "1"
    assert sysctl.values["net/ipv4/conf/docker0/forwarding"] == "1", "the replies of the published port come in there"
    if firewall.name == "nftables":
        guard = {(where, entry["elem"]["val"]) for where, entry in firewall.owned("sysctl:ledger")}
        assert guard == {("uplinks", "docker0"), ("uplinks", "eth0"), ("localnet", "docker0")}
    converge(Portmap, address="10.231.173.2", bridge="docker0", state="absent")
    assert sysctl.values["net/ipv4/conf/docker0/route_localnet"] == "0" and sysctl.values["net/ipv4/conf/docker0/forwarding"] == "0"
    assert not firewall.owned("sysctl:ledger")


# -- a table or chain of our name made by someone else (issue 13, item 12) ------------------------

def plant_foreign(firewall):
    """A table inet netmodes, or a chain NM-IN-br0, of someone else's (no mark, no comment of ours)."""
    if firewall.name == "nftables":
        firewall.listing = {"nftables": [{"chain": {"family": "inet", "table": "netmodes", "name": "theirs"}},
                                         {"rule": {"family": "inet", "table": "netmodes", "chain": "theirs", "expr": [{"accept": None}]}}]}
        return "nftables: a table inet netmodes exists that netmodes.linux did not make"
    firewall.chains[("filter", "NM-IN-br0")] = [ipt.spec((("-s", "10.231.9.9/32"),), comment=None)]
    return "iptables: chain NM-IN-br0 of table filter holds a rule netmodes.linux did not write \\(-s 10.231.9.9/32 -j ACCEPT\\)"


def test_a_table_or_chain_of_our_name_made_by_someone_else_is_refused_never_changed(converge, firewall):
    converge(Netns, name="web")
    message = plant_foreign(firewall)
    before = repr(firewall.listing) if firewall.name == "nftables" else repr(firewall.chains)
    for args in ({"name": "br0", "addresses": ["172.18.0.1/16"]}, {"name": "br0", "state": "absent"}):
        with pytest.raises(Conflict, match="^%s.* nothing was changed. Rename or remove that" % message):
            converge(Bridge, **args)
    assert (repr(firewall.listing) if firewall.name == "nftables" else repr(firewall.chains)) == before
    assert firewall.commits == 0


def test_our_table_carries_our_mark_and_without_it_is_not_ours(world, converge, firewall):
    if firewall.name != "nftables":
        pytest.skip("the mark is nftables': iptables chains are ours by their rules' comments")
    converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])
    (mark,) = [i["set"] for i in firewall.listing["nftables"] if i.get("set", {}).get("name") == nft.MARK_SET]
    assert mark["type"] == "ifname" and mark["elem"][0]["elem"]["val"] == nft.MARK and firewall.read().intact()
    mark["elem"] = [{"elem": {"val": "other"}}]
    with pytest.raises(Conflict, match="did not make"):
        firewall.read()
