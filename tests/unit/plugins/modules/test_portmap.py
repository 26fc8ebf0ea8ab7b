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


@pytest.fixture
def firewall(each_firewall):
    return each_firewall


@pytest.fixture
def world(bridge_world, kernel):
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
    ({"netns": "web", "bridge": "br0", "ports": ["8000-8001:80-82"]}, InvalidInput, "differ in length"),
])
def test_bad_input(world, refused, options, error, fragment):
    refused(Portmap, error, fragment, **options)


# -- random host ports (issue 19) -----------------------------------------------------------------

def test_a_random_port_is_picked_once_and_kept(world, four_steps, converge, firewall, sysctl, sockets):
    sysctl.values["net/ipv4/ip_local_port_range"] = "40000\t50000"
    sockets.listening.append(("tcp", ipaddress.ip_address("0.0.0.0"), 50001, 7))
    result = four_steps(Portmap, netns="web", bridge="br0", ports=["80", "127.0.0.1::81/udp", "8000-8002:82"])
    assert result["published"] == ["127.0.0.1:50001:81/udp", "50002:80/tcp", "8000:82/tcp"], "a listener's port is skipped (tcp only)"
    assert result["ports"] == {"80/tcp": ["0.0.0.0:50002"], "81/udp": ["127.0.0.1:50001"], "82/tcp": ["0.0.0.0:8000"]}
    sockets.listening.clear()
    sysctl.values["net/ipv4/ip_local_port_range"] = "32768\t60999"
    again = converge(Portmap, netns="web", bridge="br0", ports=["80", "127.0.0.1::81/udp", "8000-8002:82"])
    assert not again["changed"] and again["published"] == result["published"], "kept, though lower ports are free now"


def test_a_container_range_is_published_on_a_random_port_each(world, four_steps, converge):
    result = four_steps(Portmap, netns="web", bridge="br0", ports=["80-82"])
    assert result["ports"] == {"80/tcp": ["0.0.0.0:61000"], "81/tcp": ["0.0.0.0:61001"], "82/tcp": ["0.0.0.0:61002"]}


def test_a_random_port_avoids_ports_of_other_sandboxes_and_host_mode_claims(world, converge, sockets):
    converge(Portmap, netns="db", bridge="br0", ports=["61000:80", "61002:80/udp"])
    sockets.claimed["hostweb"] = [[61001, "tcp"]]
    assert converge(Portmap, netns="web", bridge="br0", ports=["80"])["published"] == ["61002:80/tcp"]


def test_a_kept_port_taken_by_a_host_process_fails_naming_it(world, converge, sockets, firewall):
    converge(Portmap, netns="web", bridge="br0", ports=["80"])
    sockets.listening.append(("tcp", ipaddress.ip_address("0.0.0.0"), 61000, 4242))
    commits = firewall.commits
    with pytest.raises(Conflict, match=r"ports: host port 61000/tcp \(picked for 80/tcp on an earlier run and kept\) is already in use"
                                       r" on the host: python3 \(pid 4242\) listens on 0.0.0.0:61000; stop it, or publish without"
                                       r" 80/tcp once so that a later run picks another free port"):
        converge(Portmap, netns="web", bridge="br0", ports=["80"])
    assert firewall.commits == commits


def test_a_full_range_is_a_conflict(world, converge, sockets):
    sockets.listening += [("tcp", ipaddress.ip_address("0.0.0.0"), p, 1) for p in (8000, 8001)]
    with pytest.raises(Conflict, match="ports: 8000-8001:80/tcp: no free host port for tcp is left in 8000-8001"):
        converge(Portmap, netns="web", bridge="br0", ports=["8000-8001:80"])


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


def test_an_ipv6_sandbox_address_outside_the_bridges_subnets_is_not_found(world, converge):
    with pytest.raises(NotFound, match="address: fd31:9b5e:c207:61::10 is not inside a subnet of bridge br0"):
        converge(Portmap, address="fd31:9b5e:c207:61::10", bridge="br0", ports=["8080:80"])


# -- IPv6 (issue 17): dual-stack and IPv6-only sandboxes ------------------------------------------

def _link(name, index, kind, *cidrs):
    return Link(name, index, kind, 1500, "02:00:00:00:01:%02x" % index, True, addresses=frozenset(ipaddress.ip_interface(c) for c in cidrs))


@pytest.fixture
def dual(converge, kernel):
    """Bridge br6 (not ours: the lead's model makes dual-stack bridges) with an IPv4 and an IPv6
    subnet, sandbox web6 on both, v4 on IPv4 alone, and eth0 with an address of each family."""
    kernel.links[(None, "br6")] = _link("br6", 90, "bridge", "10.231.60.1/24", "fd31:9b5e:c207:60::1/64", "fe80::1/64")
    kernel.links[(None, "eth0")] = _link("eth0", 91, "", "10.231.1.11/24", "fd31:9b5e:c207:1::11/64", "fe80::2/64")
    for name, cidrs in (("web6", ("10.231.60.10/24", "fd31:9b5e:c207:60::10/64", "fe80::10/64")), ("v4", ("10.231.60.11/24",))):
        converge(Netns, name=name)
        kernel.links[(kernel.netns[name], "eth0")] = _link("eth0", 2, "veth", *cidrs)


FWD6 = "net/ipv6/conf/eth0/force_forwarding"


def test_a_dual_stack_sandbox_publishes_a_port_without_host_address_on_both_families(dual, converge, firewall, sysctl):
    result = converge(Portmap, netns="web6", bridge="br6", ports=["8080:80", "[::]:5000-5001:5000-5001/udp"])
    assert result["published"] == ["8080:80/tcp", "[::]:5000-5001:5000-5001/udp", "[::]:8080:80/tcp"]
    assert (result["address"], result["address6"]) == ("10.231.60.10", "fd31:9b5e:c207:60::10")
    assert sysctl.values[ETH0] == "1" and sysctl.values[FWD6] == "1", "forwarding of each family on the uplink, per interface"
    assert not any("all" in key for key in sysctl.values)
    assert not converge(Portmap, netns="web6", bridge="br6", ports=["8080:80", "[::]:5000-5001:5000-5001/udp"])["changed"]
    if firewall.name == "nftables":
        guard = {(where, entry["elem"]["val"]) for where, entry in firewall.owned("sysctl:ledger")}
        assert {("uplinks", "eth0"), ("uplinks6", "eth0")} <= guard
    converge(Portmap, netns="web6", bridge="br6", state="absent")
    assert sysctl.values[FWD6] == "0" and not firewall.owned("netns:web6")


def test_an_ipv6_host_address_publishes_on_ipv6_alone(dual, converge, sysctl):
    result = converge(Portmap, netns="web6", bridge="br6", ports=["[fd31:9b5e:c207:1::11]:8081:80"])
    assert result["published"] == ["[fd31:9b5e:c207:1::11]:8081:80/tcp"]
    assert FWD6 in sysctl.ledger() and ETH0 not in sysctl.ledger()
    assert sysctl.values.get("net/ipv4/conf/br6/route_localnet", "0") == "0", "IPv6 has no route_localnet"


def test_an_ipv6_only_sandbox_publishes_on_any6_only(dual, converge):
    result = converge(Portmap, address="fd31:9b5e:c207:60::20", bridge="br6", ports=["8080:80"])
    assert result["published"] == ["[::]:8080:80/tcp"] and result["address6"] == "fd31:9b5e:c207:60::20"


@pytest.mark.parametrize("who, ports, fragment", [
    ({"netns": "v4"}, ["[::]:8080:80"],
     "ports: [::]:8080:80/tcp: the sandbox has no IPv6 address on bridge br6, so Docker would need its userland proxy"),
    ({"netns": "web6"}, ["8080:80", "[::1]:8081:80"], "ports: [::1]:8081:80/tcp: publishing on ::1 needs Docker's userland proxy"),
    ({"address": "fd31:9b5e:c207:60::20"}, ["10.231.1.11:8080:80"],
     "ports: 10.231.1.11:8080:80/tcp: the sandbox has no IPv4 address on bridge br6"),
])
def test_what_needs_dockers_userland_proxy_is_refused_before_any_change(dual, converge, firewall, sysctl, who, ports, fragment):
    commits, calls = firewall.commits, list(sysctl.calls)
    with pytest.raises(InvalidInput) as info:
        converge(Portmap, bridge="br6", ports=ports, **who)
    assert info.value.msg.startswith(fragment) and "which netmodes.linux does not run" in info.value.msg
    assert firewall.commits == commits and sysctl.calls == calls


def test_a_port_held_on_either_family_is_a_conflict_named_as_for_ipv4(dual, converge):
    converge(Portmap, address="fd31:9b5e:c207:60::20", bridge="br6", ports=["[::]:8080:80"])
    with pytest.raises(Conflict, match=r"^ports: host port 8080/tcp is already published by address fd31:9b5e:c207:60::20 "
                                       r"\(\[::\]:8080:80/tcp\); choose another host port"):
        converge(Portmap, netns="web6", bridge="br6", ports=["8080:80"])
    # 0.0.0.0 is another address than ::: an IPv4-only publication of the same port is no conflict
    assert converge(Portmap, netns="v4", bridge="br6", ports=["8080:80"])["published"] == ["8080:80/tcp"]


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


# -- a fixed host port inside the ephemeral range (issue 20: capacity) ------------------------------

@pytest.mark.parametrize("ports, reserved, warned", [
    (["40000:80"], "", "host port 40000 of 40000:80/tcp is inside net.ipv4.ip_local_port_range (32768-60999)"),
    (["32760-32770:80-90"], "", "host port 32768-32770 of 32760-32770:80-90/tcp"),
    (["40000:80"], "8080,39990-40010", None),            # reserved: the kernel never hands it out
    (["8080:80", "61000:81"], "", None),                  # below and above the range
])
def test_a_fixed_port_the_kernel_may_hand_out_is_warned_of_with_the_fix(world, converge, sysctl, ports, reserved, warned):
    sysctl.values.update({"net/ipv4/ip_local_port_range": "32768\t60999", "net/ipv4/ip_local_reserved_ports": reserved})
    result = converge(Portmap, netns="web", bridge="br0", ports=ports)
    warnings = result.get("warnings", [])
    if warned is None:
        assert not warnings, warnings
    else:
        (warning,) = warnings
        assert warning.startswith("portmap netns:web: " + warned) and "net.ipv4.ip_local_reserved_ports=" in warning, warning
    again = converge(Portmap, netns="web", bridge="br0", ports=ports, check=True)
    assert not again["changed"] and again.get("warnings", []) == warnings, "check mode warns as the run does"
