# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules the nftables backend writes, against what Docker writes for the same options.

The expectations come from moby's bridge driver golden files
(daemon/libnetwork/drivers/bridge/internal/{nftabler,iptabler}/testdata), with Docker's chain
names replaced by ours and userland-proxy off (the hairpin variant: no proxy exists here). The
nftables rules are written as `nft -j list` prints them for the rule text quoted beside each.
"""

from __future__ import annotations

import ipaddress
import json

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_state
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.firewall_cases import GUARD, PEERS, policy, policy6, publish

ESTABLISHED = [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": None}]
ICC = [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "br-x"}}, {"accept": None}]
NO_ICC = [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "br-x"}}, {"drop": None}]
DROP = [{"drop": None}]
ACCEPT = [{"accept": None}]
INTERNAL_INGRESS = [{"match": {"op": "!=", "left": {"meta": {"key": "iifname"}}, "right": "br-x"}}, {"drop": None}]
INTERNAL_EGRESS = [{"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "br-x"}}, {"drop": None}]
HAIRPIN = [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "br-x"}},
           {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                      "right": {"prefix": {"addr": "172.18.0.0", "len": 16}}}},
           {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}, {"masquerade": None}]
MASQUERADE = [{"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "br-x"}},
              {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                         "right": {"prefix": {"addr": "172.18.0.0", "len": 16}}}},
              {"masquerade": None}]
PUBLISHED, PUBLISHED_RANGES = (
    [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": {"set": ["tcp", "udp", "sctp"]}}},
     {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}},
     {"match": {"op": "==", "left": {"concat": [{"payload": {"protocol": "ip", "field": "daddr"}}, {"meta": {"key": "l4proto"}},
                                                {"payload": {"protocol": "th", "field": "dport"}}]}, "right": "@" + name}},
     {"accept": None}]
    for name in ("exposed4", "exposed-range4"))
# A port with an allow-list: its element jumps to its chain (accepting its sources) instead of the accept.
ALLOWED = [
    [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": {"set": ["tcp", "udp", "sctp"]}}},
     {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}},
     {"vmap": {"key": {"concat": [{"payload": {"protocol": "ip", "field": "daddr"}}, {"meta": {"key": "l4proto"}},
                                  {"payload": {"protocol": "th", "field": "dport"}}]}, "data": "@" + name}}]
    for name in ("allowed4", "allowed-range4")]


@pytest.mark.parametrize("options, into, out, nat", [
    # usernet-portmap: `ct state established,related accept`, `iifname "br-x" accept comment "ICC"`,
    # the per-port accepts, `drop comment "UNPUBLISHED PORT DROP"`; out: established, `accept
    # comment "OUTGOING"`; nat: `oifname != "br-x" ip saddr 172.18.0.0/16 masquerade`, and the
    # hairpin masquerade (Docker's `MASQ TO OWN PORT`, per port; here for any DNATed connection
    # of a member that goes back into the bridge).
    ({}, [ESTABLISHED, *ALLOWED, PUBLISHED, PUBLISHED_RANGES, ICC, DROP], [ESTABLISHED, ACCEPT], [HAIRPIN, MASQUERADE]),
    # icc=false: `iifname "br-x" drop comment "ICC"`.
    ({"icc": False}, [ESTABLISHED, *ALLOWED, PUBLISHED, PUBLISHED_RANGES, NO_ICC, DROP], [ESTABLISHED, ACCEPT], [HAIRPIN, MASQUERADE]),
    # masq=false: no outbound masquerade.
    ({"masquerade": False}, [ESTABLISHED, *ALLOWED, PUBLISHED, PUBLISHED_RANGES, ICC, DROP], [ESTABLISHED, ACCEPT], [HAIRPIN]),
    # internal: `iifname != "br-x" drop comment "INTERNAL NETWORK INGRESS"`, `oifname != "br-x"
    # drop comment "INTERNAL NETWORK EGRESS"`, no outbound masquerade, no published ports from
    # outside (hairpin masquerade stays: it never leaves the bridge).
    ({"internal": True}, [ESTABLISHED, INTERNAL_INGRESS, ICC, DROP], [ESTABLISHED, INTERNAL_EGRESS, ACCEPT], [HAIRPIN]),
])
def test_nftables_bridge_chains_match_docker(options, into, out, nat):
    # isolate-br-x is not Docker's (see test_nftables_internal_egress_is_dropped_before_any_accept)
    chains = nft.bridge_chains(policy(**options))
    assert chains.pop("isolate-br-x") == ([INTERNAL_EGRESS] if options.get("internal") else [])
    assert chains == {"fwd-in-br-x": into, "fwd-out-br-x": out, "nat-out-br-x": nat}


def test_nftables_internal_egress_is_dropped_before_any_accept():
    """Docker's iptables rules drop what leaves an internal network first (``-i br-x ! -o br-x -j
    DROP``, its isolation chain); with in and out chains only, the in chain of another bridge
    accepted a connection to a port published there before the out chain of the internal one
    could drop it (test_isolation.py measured it)."""
    forward = nft.CHAIN_RULES["filter-forward"]
    assert forward.index([{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@isolate"}}]) == 1
    assert forward.index([{"vmap": {"key": {"meta": {"key": "oifname"}}, "data": "@fwd-in"}}]) == 2


def test_nftables_bridges_are_reached_through_verdict_maps():
    items = nft.render("bridge:br-x", [policy()])
    # host-in-BR is a bridge's only with a family in gateway mode isolated (test_gateway_modes.py)
    assert {i for i in items if i[0] == "elem"} == {("elem", m, ("br-x",), "jump %s-br-x" % m) for m in nft.BRIDGE_MAPS if m != "host-in"} | {
        ("elem", "bridges", ("br-x",), None)}
    assert nft.CHAIN_RULES["filter-forward"][0] == [{"jump": {"target": "user"}}], "the user chain goes before our accepts"


@pytest.mark.parametrize("spec, expected", [
    # `tcp dport 8080 dnat to 172.18.0.2:80` (every local address: the key is protocol and port)
    # and the forward accept `ip daddr 172.18.0.2 tcp dport 80 accept`.
    ("8080:80", {("any-addr4", ("tcp", "8080"), "172.18.0.2"), ("any-port4", ("tcp", "8080"), "80"),
                 ("exposed4", ("172.18.0.2", "tcp", "80"), None)}),
    # A range is one element (Docker expands it to one rule per port).
    ("5000-5002:5000-5002/udp", {("range4", ("0.0.0.0/0", "udp", "5000-5002"), "172.18.0.2"),
                                 ("exposed-range4", ("172.18.0.2", "udp", "5000-5002"), None)}),
    # bindlh: `ip daddr 127.0.0.1 tcp dport 8081 dnat to 172.18.0.2:81` and in raw-PREROUTING
    # `iifname != "lo" ip daddr 127.0.0.1 tcp dport 8081 drop comment "DROP REMOTE LOOPBACK"`.
    ("127.0.0.1:8081:81", {("addr4", ("127.0.0.1", "tcp", "8081"), "172.18.0.2"), ("port4", ("127.0.0.1", "tcp", "8081"), "81"),
                           ("exposed4", ("172.18.0.2", "tcp", "81"), None),
                           ("loopback4", ("127.0.0.1", "tcp", "8081"), None)}),
])
def test_nftables_port_elements_match_docker(spec, expected):
    assert nft.render("netns:web", publish(spec)) == {("elem",) + e for e in expected}


def test_nftables_dnat_only_for_local_destinations():
    # `fib daddr type local jump nat-prerouting-and-output` from prerouting and (no proxy) output.
    local = [{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}},
             {"jump": {"target": "published"}}]
    assert nft.CHAIN_RULES["nat-prerouting"][0] == local and nft.CHAIN_RULES["nat-output"] == [local]
    # then the redirects to resolver views (keyed by the query's destination: a local address)
    assert [rule[-1]["dnat"]["addr"]["map"]["data"] for rule in nft.CHAIN_RULES["nat-prerouting"][1:]] == ["@view-addr4", "@view-addr6"]


def test_nftables_an_offset_range_is_one_element_per_port():
    items = nft.render("netns:web", publish("8000-8002:9000-9002"))
    assert sorted(v for _k, n, _key, v in items if n == "any-port4") == ["9000", "9001", "9002"]
    assert ("elem", "exposed-range4", ("172.18.0.2", "tcp", "9000-9002"), None) in items


def test_nftables_element_json_round_trip():
    raw = nft.element_json("range4", ("0.0.0.0/0", "tcp", "5000-5010"), "172.18.0.10", "netns:web")
    assert raw == [{"elem": {"val": {"concat": [{"prefix": {"addr": "0.0.0.0", "len": 0}}, "tcp", {"range": [5000, 5010]}]},
                             "comment": "netns:web"}}, "172.18.0.10"]
    assert nft._parse_element(raw) == (("0.0.0.0/0", "tcp", "5000-5010"), "172.18.0.10", "netns:web")
    # an interface called "123" stays a name
    assert nft.element_json("fwd-in", ("123",), "jump fwd-in-123", "bridge:123") == [
        {"elem": {"val": "123", "comment": "bridge:123"}}, {"jump": {"target": "fwd-in-123"}}]


def test_nftables_chain_json_is_canonical():
    rules = nft.bridge_chains(policy(internal=True, masquerade=True))["fwd-out-br-x"]
    assert nft._canonical(rules) == tuple(json.dumps(r, sort_keys=True) for r in (ESTABLISHED, INTERNAL_EGRESS, ACCEPT))


def test_nftables_single_ports_are_exact_keys_ranges_are_intervals():
    # exact keys live in hash tables: the cost of a lookup does not grow with the element count
    exact = {n for n in nft.ELEMENT_SETS if n not in nft.INTERVAL}
    assert {"addr4", "port4", "any-addr4", "any-port4", "exposed4", "loopback4"} <= exact
    assert set(nft.INTERVAL) == {"range4", "exposed-range4", "loopback-range4", "range6", "exposed-range6",
                                 "allowed-range4", "allowed-range6"}


# -- who may send an overlay VXLAN (issue 13, item 13) ---------------------------------------------

# `udp dport 4789 @th,96,24 0x1092`: VXLAN with VNI 4242 (after UDP's 8 bytes, VXLAN's flags and 3 reserved)
VXLAN_4242 = [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 4789}},
              {"match": {"op": "==", "left": {"payload": {"base": "th", "offset": 96, "len": 24}}, "right": 4242}}]


def test_nftables_vxlan_is_accepted_from_the_peers_and_dropped_from_others_before_conntrack(firewall):
    items = nft.render("vxlan:vx0", [PEERS])
    assert items == {("chain", "vxlan-vx0", nft._canonical([
        VXLAN_4242 + [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.231.1.12"}},
                      {"accept": None}],
        VXLAN_4242 + [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.231.1.13"}},
                      {"accept": None}],
        # `fib daddr type local drop`: only what is for this host; VXLAN routed through it is not ours to judge
        VXLAN_4242 + [{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}},
                      {"drop": None}]]))}
    six = _firewall.VxlanPeers("vx0", 4242, 4789, 6, (ipaddress.ip_address("fd31::12"),))
    (item,) = nft.render("vxlan:vx0", [six])
    assert '"protocol": "ip6"' in item[2][0] and '"fd31::12"' in item[2][0]
    state = firewall.read()
    commands = nft_state.changes(state, "vxlan:vx0", items, set())
    assert {"add": {"chain": {"family": "inet", "table": "netmodes", "name": "vxlan-vx0", "type": "filter", "hook": "prerouting",
                              "prio": -300, "policy": "accept"}}} in commands, "a base chain of its own, before conntrack"
    firewall.stage(commands)
    firewall.commit()
    assert firewall.read().owned_by("vxlan:vx0") == items and firewall.read().owners() == {"vxlan:vx0"}


# -- the guard: what keeps the host closed where we switched a sysctl on (issue 13) -----------

LOOPBACK_NET = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                          "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}}


def test_nftables_the_guard_is_elements_of_the_ledger_and_rules_after_the_bridges():
    assert nft.render(_firewall.GUARD_OWNER, [GUARD]) == {
        ("elem", "uplinks", ("eth0",), None), ("elem", "uplinks", ("eth1",), None), ("elem", "localnet", ("docker0",), None)}
    forward = nft.CHAIN_RULES["filter-forward"]
    # Last: the bridges' verdict maps before it are terminal (each bridge chain ends in a verdict).
    assert forward[-2:] == [[{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "@" + name}},
                             {"jump": {"target": chain}}] for name, chain in (("uplinks", "closed"), ("uplinks6", "closed6"))]
    closed = nft.CHAIN_RULES["closed"]
    assert closed[:2] == [PUBLISHED, PUBLISHED_RANGES], "connections to published ports (into a bridge not ours) cross"
    assert closed[-1] == [{"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": "ipv4"}}, {"drop": None}], \
        "IPv4 where we switched IPv4 forwarding on"
    assert nft.CHAIN_RULES["closed6"][-1] == [{"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": "ipv6"}}, {"drop": None}], \
        "IPv6 where we switched IPv6 forwarding on: an uplink may forward one family and not the other"
    assert all("ip6" in json.dumps(rule) for rule in nft.CHAIN_RULES["closed6"][:4]), "published IPv6 ports cross"
    raw = nft.CHAIN_RULES["raw-prerouting"]
    for name in ("bridges", "localnet"):
        assert [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "@" + name}}, LOOPBACK_NET, {"drop": None}] in raw


def test_nftables_every_bridge_is_guarded_against_reaching_the_hosts_loopback():
    assert ("elem", "bridges", ("br-x",), None) in nft.render("bridge:br-x", [policy(internal=True)])


def _nat_rule(op, protocol, prefix, length, dnated):
    rule = [{"match": {"op": op, "left": {"meta": {"key": "oifname"}}, "right": "br-x"}},
            {"match": {"op": "==", "left": {"payload": {"protocol": protocol, "field": "saddr"}},
                       "right": {"prefix": {"addr": prefix, "len": length}}}}]
    return rule + ([{"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}] if dnated else []) + [{"masquerade": None}]


@pytest.mark.parametrize("options, masquerade", [({}, True), ({"masquerade": False}, False), ({"internal": True}, False)])
def test_nftables_dual_stack_bridge_masquerades_each_family_by_its_own_source(options, masquerade):
    """Docker's ip6 docker-bridges table: the same rules with `ip6 saddr` (an `ip saddr` match
    of an IPv6 prefix is no rule nftables takes)."""
    nat = nft.bridge_chains(policy6(**options))["nat-out-br-x"]
    hairpin = [_nat_rule("==", "ip", "172.18.0.0", 16, True), _nat_rule("==", "ip6", "fd31:9b5e:c207:18::", 64, True)]
    out = [_nat_rule("!=", "ip", "172.18.0.0", 16, False), _nat_rule("!=", "ip6", "fd31:9b5e:c207:18::", 64, False)]
    assert nat == hairpin + (out if masquerade else [])


def test_nftables_dual_stack_bridge_lets_in_published_ports_of_either_family():
    """icc and the drop of the rest hold for IPv6 as they are (the inet table's forward chain sees
    both families); a published IPv6 port of a member is looked up by the IPv6 destination."""
    into = nft.bridge_chains(policy6())["fwd-in-br-x"]
    exposed6 = [rule for rule in into if json.dumps({"protocol": "ip6", "field": "daddr"}, sort_keys=True) in json.dumps(rule, sort_keys=True)]
    assert [rule[2]["match"]["right"] if "match" in rule[2] else rule[2]["vmap"]["data"] for rule in exposed6] == [
        "@allowed6", "@allowed-range6", "@exposed6", "@exposed-range6"]
    assert into[:5] == [ESTABLISHED, *ALLOWED, PUBLISHED, PUBLISHED_RANGES] and into[-2:] == [ICC, DROP]
    assert nft.ELEMENT_SETS["exposed6"][0][0] == "ipv6_addr"
    # an IPv4-only network renders as before IPv6
    assert len(nft.bridge_chains(policy())["fwd-in-br-x"]) == 7


def test_nftables_the_guard_of_ipv6_uplinks_is_a_set_of_its_own():
    guard = _firewall.Guard(("eth0",), (), ("eth0", "eth1"))
    assert nft.render(_firewall.GUARD_OWNER, [guard]) == {
        ("elem", "uplinks", ("eth0",), None), ("elem", "uplinks6", ("eth0",), None), ("elem", "uplinks6", ("eth1",), None)}
    assert guard.describe() == {"forwarding": ["eth0"], "route_localnet": [], "forwarding6": ["eth0", "eth1"]}
    assert GUARD.describe() == {"forwarding": ["eth0", "eth1"], "route_localnet": ["docker0"]}, "IPv4 only: as before IPv6"
