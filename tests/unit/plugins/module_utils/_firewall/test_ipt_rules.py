# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules the iptables backend writes, against what Docker writes for the same options.

The expectations come from moby's bridge driver golden files
(daemon/libnetwork/drivers/bridge/internal/{nftabler,iptabler}/testdata), with Docker's chain
names replaced by ours and userland-proxy off (the hairpin variant: no proxy exists here). The
nftables rules are written as `nft -j list` prints them for the rule text quoted beside each.
"""

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_state
from ansible_collections.netmodes.linux.tests.unit.conftest import FakeIptables
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.firewall_cases import GUARD, PEERS, policy, policy6, publish


def texts(items, chain):
    """The rules of CHAIN among ITEMS in iptables-save words, without our comment."""
    out = []
    for item in items:
        if item[0] == "rule" and item[2] == chain:
            out.append(ipt.text(item[3], comments=False))
        elif item[0] == "chain" and item[2] == chain:
            out += [ipt.text(r, comments=False) for r in item[3]]
    return sorted(out)


@pytest.mark.parametrize("options, into, out, postrouting", [
    # Docker: `-A DOCKER-CT -o br-x -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    # `-A DOCKER-FORWARD -i br-x -j ACCEPT` (outgoing and ICC), `-A DOCKER ! -i br-x -o br-x -j DROP`,
    # `-A POSTROUTING -s 172.18.0.0/16 ! -o br-x -j MASQUERADE`.
    ({}, ["-i br-x -j ACCEPT", "-j DROP", "-m conntrack --ctstate DNAT -j NETMODES-PUBLISHED",
          "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"],
     ["-j ACCEPT", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"], ["-s 172.18.0.0/16 ! -o br-x -j MASQUERADE"]),
    # icc=false: `-A DOCKER-FORWARD -i br-x -o br-x -j DROP`.
    ({"icc": False}, ["-i br-x -j DROP", "-j DROP", "-m conntrack --ctstate DNAT -j NETMODES-PUBLISHED",
                      "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"],
     ["-j ACCEPT", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"], ["-s 172.18.0.0/16 ! -o br-x -j MASQUERADE"]),
    # internal: `-A DOCKER-INTERNAL ! -s 172.18.0.0/16 -o br-x -j DROP` and `! -d ... -i br-x -j DROP`
    # (here by interface, as Docker does for IPv6), no nat rules.
    ({"internal": True}, ["! -i br-x -j DROP", "-i br-x -j ACCEPT", "-j DROP", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"],
     ["! -o br-x -j DROP", "-j ACCEPT", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"], []),
])
def test_iptables_bridge_rules_match_docker(options, into, out, postrouting):
    items = ipt.render("bridge:br-x", [policy(**options)])
    assert texts(items, "NM-IN-br-x") == sorted(into)
    assert texts(items, "NM-OUT-br-x") == sorted(out)
    assert texts(items, "NETMODES-POSTROUTING") == postrouting
    assert texts(items, "NETMODES-FWD-IN") == ["-o br-x -j NM-IN-br-x"]
    # Docker's DOCKER-INTERNAL, jumped to before any accept: what leaves an internal network.
    assert texts(items, "NETMODES-ISOLATE") == (["-i br-x ! -o br-x -j DROP"] if options.get("internal") else [])


def test_iptables_rules_keep_dockers_order():
    chains = ipt.bridge_chains(policy(), "netmodes:bridge:br-x")
    assert [ipt.text(r, comments=False) for r in chains["NM-IN-br-x"]] == [
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-m conntrack --ctstate DNAT -j NETMODES-PUBLISHED",
        "-i br-x -j ACCEPT", "-j DROP"]


def test_iptables_port_rules_match_docker():
    items = ipt.render("netns:web", publish("8080:80", "127.0.0.1:8081:81/udp", "5000-5002:5000-5002"))
    # `-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80` (no proxy)
    assert texts(items, "NETMODES-DNAT") == sorted([
        "-p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80",
        "-d 127.0.0.1/32 -p udp -m udp --dport 8081 -j DNAT --to-destination 172.18.0.2:81",
        "-p tcp -m tcp --dport 5000:5002 -j DNAT --to-destination 172.18.0.2"])
    # `-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP` (raw)
    assert texts(items, "NETMODES-RAW") == ["-d 127.0.0.1/32 ! -i lo -p udp -m udp --dport 8081 -j DROP"]
    # `-A DOCKER -d 172.18.0.2/32 ! -i br-x -o br-x -p tcp -m tcp --dport 80 -j ACCEPT`
    assert "-d 172.18.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT" in texts(items, "NETMODES-PUBLISHED")
    # hairpin: `-A POSTROUTING -s 172.18.0.2/32 -d 172.18.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE`
    assert ("-s 172.18.0.0/16 -d 172.18.0.2/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -j MASQUERADE"
            in texts(items, "NETMODES-POSTROUTING"))
    assert all(ipt._comment(item[3]) == "netmodes:netns:web" for item in items), "every rule is tagged with its owner"


def test_iptables_a_published_ports_replies_are_let_out_of_an_uplink_we_switched():
    """Not Docker's: for NETMODES-CLOSED (a port published into a bridge of someone else's)."""
    items = ipt.render("netns:web", publish("8080:80", "5000-5002:5000-5002/udp"))
    assert texts(items, "NETMODES-REPLIES") == ["-s 172.18.0.2/32 -p tcp -m tcp --sport 80 -j ACCEPT",
                                                "-s 172.18.0.2/32 -p udp -m udp --sport 5000:5002 -j ACCEPT"]


def test_iptables_hooks_are_dockers_no_proxy_hooks():
    assert ipt.text(ipt.HOOKS[("nat", "OUTPUT")]) == "-m addrtype --dst-type LOCAL -m comment --comment netmodes -j NETMODES-DNAT"
    assert ipt.text(ipt.CHAIN_RULES[("filter", "NETMODES-FORWARD")][0]).endswith("-j NETMODES-USER")


def test_iptables_published_ports_read_back():
    items = ipt.render("netns:web", publish("8080:80", "127.0.0.1:8081:81/udp", "5000-5002:5000-5002"))
    chains = {}
    for _kind, table, chain, rule in items:
        chains.setdefault((table, chain), []).append(rule)
    state = ipt_state.State(chains)
    assert {str(m) for _w, m in state.published()} == {"127.0.0.1:8081:81/udp", "5000-5002:5000-5002/tcp", "8080:80/tcp"}
    assert state.owned_by("netns:web") == items


def test_iptables_vxlan_is_accepted_from_the_peers_and_dropped_from_others_before_conntrack():
    items = ipt.render("vxlan:vx0", [PEERS])
    # Docker's match of an overlay's VXLAN (its encrypted networks' cleartext drop), here for local destinations
    assert texts(items, "NETMODES-RAW") == [
        "-p udp -m udp --dport 4789 -m u32 --u32 0x0>>0x16&0x3c@0xc>>0x8=0x1092 -m addrtype --dst-type LOCAL -j NETMODES-VX-vx0"]
    (chain,) = [item for item in items if item[0] == "chain"]
    assert chain[1:3] == ("raw", "NETMODES-VX-vx0")
    assert [ipt.text(r, comments=False) for r in chain[3]] == ["-s 10.231.1.12/32 -j RETURN", "-s 10.231.1.13/32 -j RETURN", "-j DROP"]
    assert all(ipt._comment(r) == "netmodes:vxlan:vx0" for r in chain[3])
    chains = {("raw", "NETMODES-VX-vx0"): list(chain[3]), ("raw", "NETMODES-RAW"): [i[3] for i in items if i[0] == "rule"]}
    assert ipt_state.State(chains).owned_by("vxlan:vx0") == items, "read back as the owner's"


def test_ip6tables_vxlan_over_ipv6_is_filtered_alike_and_behind_extension_headers_dropped():
    items = ipt.render("vxlan:vx0", [_firewall.VxlanPeers("vx0", 4242, 4789, 6, ("fd31:9b5e:c207:1::12",))])
    assert sorted(ipt.text(i[3], comments=False) for i in items if i[0] == "rule" and i[1:3] == ("raw6", "NETMODES-RAW")) == [
        "-p udp -m udp --dport 4789 -m u32 --u32 0x4>>0x8&0xff=0x0:0x10,0x12:0xff -m addrtype --dst-type LOCAL -j DROP",
        "-p udp -m udp --dport 4789 -m u32 --u32 0x4>>0x8&0xff=0x11&&0x34>>0x8=0x1092 -m addrtype --dst-type LOCAL -j NETMODES-VX-vx0"]
    (chain,) = [item for item in items if item[0] == "chain"]
    assert chain[1:3] == ("raw6", "NETMODES-VX-vx0")
    assert [ipt.text(r, comments=False) for r in chain[3]] == ["-s fd31:9b5e:c207:1::12/128 -j RETURN", "-j DROP"]
    assert not [item for item in items if item[1] == "raw"], "nothing in iptables' own raw table"


def test_iptables_the_guard_is_rules_of_the_ledger_after_the_bridges():
    items = ipt.render(_firewall.GUARD_OWNER, [GUARD])
    assert texts(items, "NETMODES-UPLINKS") == ["-i eth0 -j NETMODES-CLOSED", "-i eth1 -j NETMODES-CLOSED"]
    assert texts(items, "NETMODES-RAW") == ["-d 127.0.0.0/8 -i docker0 -j DROP"]
    assert all(ipt._comment(item[3]) == "netmodes:sysctl:ledger" for item in items)
    assert ipt.text(ipt.CHAIN_RULES[("filter", "NETMODES-FORWARD")][-1], comments=False) == "-j NETMODES-UPLINKS"
    assert [ipt.text(r, comments=False) for r in ipt.CHAIN_RULES[("filter", "NETMODES-CLOSED")]] == [
        "-m conntrack --ctstate DNAT -j NETMODES-PUBLISHED", "-m conntrack --ctdir REPLY --ctstate DNAT -j NETMODES-REPLIES", "-j DROP"]
    assert "-d 127.0.0.0/8 -i br-x -j DROP" in texts(ipt.render("bridge:br-x", [policy()]), "NETMODES-RAW")


@pytest.mark.parametrize("options", [{}, {"icc": False}, {"internal": True}])
def test_iptables_dual_stack_bridge_writes_the_same_filter_rules_in_ip6tables(options):
    """Docker 27+ (ip6tables on by default): the same chains and rules in ip6tables for a network
    with an IPv6 subnet; here items of the tables filter6/nat6 (raw6: ::1 is never routed in)."""
    items = ipt.render("bridge:br-x", [policy6(**options)])
    for chain in ("NM-IN-br-x", "NM-OUT-br-x", "NETMODES-FWD-IN", "NETMODES-FWD-OUT", "NETMODES-ISOLATE"):
        four = texts({i for i in items if i[1] == "filter"}, chain)
        assert texts({i for i in items if i[1] == "filter6"}, chain) == four
    masquerade = [] if options.get("internal") else ["-s fd31:9b5e:c207:18::/64 ! -o br-x -j MASQUERADE"]
    assert texts({i for i in items if i[1] == "nat6"}, "NETMODES-POSTROUTING") == masquerade
    assert texts({i for i in items if i[1] == "nat"}, "NETMODES-POSTROUTING") == [m.replace("fd31:9b5e:c207:18::/64", "172.18.0.0/16")
                                                                                  for m in masquerade]
    assert not {i for i in items if i[1] == "raw6"}
    # an IPv4-only network writes nothing in ip6tables
    assert not {i for i in ipt.render("bridge:br-x", [policy(**options)]) if ipt.is6(i[1])}


def test_iptables_ip6tables_holds_our_chains_only_while_something_of_ipv6_is_ours():
    fw = FakeIptables()
    for pol, v6 in ((policy6(), True), (policy(), False), (policy6(), True)):
        state = fw.read()
        want = fw.render("bridge:br-x", [pol])
        fw.stage(fw.changes(state, "bridge:br-x", want, state.owned_by("bridge:br-x")))
        fw.commit()
        state = fw.read()
        assert state.owned_by("bridge:br-x") == want and state.intact()
        assert fw.after(state, "bridge:br-x", want).intact()
        assert any(ipt.is6(table) for table, _chain in fw.chains) == v6
        assert any(ipt.is6(table) and rules for (table, _chain), rules in fw.hooks.items()) == v6
    fw.stage(fw.changes(fw.read(), "bridge:br-x", set(), fw.read().owned_by("bridge:br-x")))
    fw.commit()
    assert not fw.chains and not any(fw.hooks.values())


def test_iptables_the_guard_of_ipv6_uplinks_is_in_ip6tables():
    items = ipt.render(_firewall.GUARD_OWNER, [_firewall.Guard((), (), ("eth0",))])
    rule = ipt.spec((("-i", "eth0"),), target=("NETMODES-CLOSED",), comment="netmodes:" + _firewall.GUARD_OWNER)
    assert items == {("rule", "filter6", "NETMODES-UPLINKS", rule)}
    assert ipt.CHAIN_RULES6[("filter6", "NETMODES-CLOSED")] == ipt.CHAIN_RULES[("filter", "NETMODES-CLOSED")]
