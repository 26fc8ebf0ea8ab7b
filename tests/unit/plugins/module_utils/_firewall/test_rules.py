# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules each backend writes, against what Docker writes for the same options.

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
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_state, iptables, nft_state, nftables
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.plugins.module_utils._model import port_mapping

SUBNET = (ipaddress.ip_network("172.18.0.0/16"),)
TARGET, NET = ipaddress.ip_address("172.18.0.2"), ipaddress.ip_network("172.18.0.0/16")


def publish(*specs):
    return [_firewall.Publish(port_mapping(s, "ports"), TARGET, NET) for s in specs]


def policy(**options):
    return _firewall.BridgePolicy("br-x", SUBNET, **options)


# -- nftables ---------------------------------------------------------------------------------

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


@pytest.mark.parametrize("options, into, out, nat", [
    # usernet-portmap: `ct state established,related accept`, `iifname "br-x" accept comment "ICC"`,
    # the per-port accepts, `drop comment "UNPUBLISHED PORT DROP"`; out: established, `accept
    # comment "OUTGOING"`; nat: `oifname != "br-x" ip saddr 172.18.0.0/16 masquerade`, and the
    # hairpin masquerade (Docker's `MASQ TO OWN PORT`, per port; here for any DNATed connection
    # of a member that goes back into the bridge).
    ({}, [ESTABLISHED, PUBLISHED, PUBLISHED_RANGES, ICC, DROP], [ESTABLISHED, ACCEPT], [HAIRPIN, MASQUERADE]),
    # icc=false: `iifname "br-x" drop comment "ICC"`.
    ({"icc": False}, [ESTABLISHED, PUBLISHED, PUBLISHED_RANGES, NO_ICC, DROP], [ESTABLISHED, ACCEPT], [HAIRPIN, MASQUERADE]),
    # masq=false: no outbound masquerade.
    ({"masquerade": False}, [ESTABLISHED, PUBLISHED, PUBLISHED_RANGES, ICC, DROP], [ESTABLISHED, ACCEPT], [HAIRPIN]),
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
    assert {i for i in items if i[0] == "elem"} == {("elem", m, ("br-x",), "jump %s-br-x" % m) for m in nft.BRIDGE_MAPS} | {
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
    assert nft.CHAIN_RULES["nat-prerouting"] == [local] and nft.CHAIN_RULES["nat-output"] == [local]


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
    assert set(nft.INTERVAL) == {"range4", "exposed-range4", "loopback-range4"}


# -- iptables ---------------------------------------------------------------------------------

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


# -- who may send an overlay VXLAN (issue 13, item 13) ---------------------------------------------

PEERS = _firewall.VxlanPeers("vx0", 4242, 4789, 4, (ipaddress.ip_address("10.231.1.12"), ipaddress.ip_address("10.231.1.13")))
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
    assert ipt.render("vxlan:vx0", [_firewall.VxlanPeers("vx0", 4242, 4789, 6, ())]) == set(), "IPv4 only"


@pytest.mark.parametrize("name", ["nftables", "iptables"])
def test_auto_picks_iptables_only_on_legacy_hosts(name):
    class Proc:
        stdout = "iptables v1.8.9 (legacy)" if name == "iptables" else "iptables v1.8.9 (nf_tables)"
        stderr = ""

    assert _firewall.detect(run=lambda *a, **k: Proc(), which=lambda c: "/usr/sbin/" + c) == name
    assert _firewall.detect(run=lambda *a, **k: Proc(), which=lambda c: "/usr/sbin/" + c if c == "iptables" else None,
                            nft_binding=False) == "iptables", "no nftables at all"


@pytest.mark.parametrize("backend", [nft, ipt], ids=["nftables", "iptables"])
@pytest.mark.parametrize("options", [{}, {"icc": False}, {"internal": True}, {"masquerade": False, "icc": False}])
def test_a_bridges_rules_are_recognised_as_the_policy_they_were_written_for(backend, options):
    have = backend.render("bridge:br-x", [policy(**options)])
    assert _firewall.recognise(backend, "br-x", SUBNET, have) == policy(**options).describe()
    assert _firewall.recognise(backend, "br-x", SUBNET, set()) is None, "no rules, no policy"
    other = (ipaddress.ip_network("172.19.0.0/16"),)
    if not options:  # masquerade rules name the subnets
        assert _firewall.recognise(backend, "br-x", other, have) == _firewall.UNRECOGNISED


# -- the state kept after a commit ------------------------------------------------------------

def _model(state):
    return state.exists, sorted(map(str, state._items())), {k: v for k, v in state.chains.items() if v or k == nft.USER_CHAIN}


STEPS = [
    ("bridge:br-x", lambda: [policy()]),
    ("netns:a", lambda: publish("8080:80", "127.0.0.1:9090:90/udp")),
    ("netns:b", lambda: publish("7000-7002:7000-7002")),
    ("bridge:br-x", lambda: [policy(icc=False)]),
    ("vxlan:vx0", lambda: [PEERS]),
    ("netns:a", lambda: publish("8081:80")),
    ("vxlan:vx0", lambda: []),
    ("netns:b", lambda: []),
    ("netns:a", lambda: []),
    ("bridge:br-x", lambda: []),
]


def test_the_state_predicted_after_a_commit_is_what_the_table_then_lists(firewall):
    """Nftables keeps ``after(...)`` instead of listing the table again; it must be the same."""
    for owner, intents in STEPS:
        state = firewall.read()
        want = nft.render(owner, intents())
        firewall.stage(nft_state.changes(state, owner, want, state.owned_by(owner)))
        predicted = nftables.Nftables.after(state, owner, want)
        firewall.commit()
        assert _model(predicted) == _model(firewall.read()), owner
    assert not firewall.read().exists


# -- the guard: what keeps the host closed where we switched a sysctl on (issue 13) -----------

GUARD = _firewall.Guard(("eth0", "eth1"), ("docker0",))
LOOPBACK_NET = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                          "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}}


def test_nftables_the_guard_is_elements_of_the_ledger_and_rules_after_the_bridges():
    assert nft.render(_firewall.GUARD_OWNER, [GUARD]) == {
        ("elem", "uplinks", ("eth0",), None), ("elem", "uplinks", ("eth1",), None), ("elem", "localnet", ("docker0",), None)}
    forward = nft.CHAIN_RULES["filter-forward"]
    # Last: the bridges' verdict maps before it are terminal (each bridge chain ends in a verdict).
    assert forward[-1] == [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "@uplinks"}},
                           {"jump": {"target": "closed"}}]
    closed = nft.CHAIN_RULES["closed"]
    assert closed[:2] == [PUBLISHED, PUBLISHED_RANGES], "connections to published ports (into a bridge not ours) cross"
    assert closed[-1] == [{"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": "ipv4"}}, {"drop": None}], \
        "IPv4 only: we never switch IPv6 forwarding on for an uplink"
    raw = nft.CHAIN_RULES["raw-prerouting"]
    for name in ("bridges", "localnet"):
        assert [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "@" + name}}, LOOPBACK_NET, {"drop": None}] in raw


def test_nftables_every_bridge_is_guarded_against_reaching_the_hosts_loopback():
    assert ("elem", "bridges", ("br-x",), None) in nft.render("bridge:br-x", [policy(internal=True)])


def test_iptables_the_guard_is_rules_of_the_ledger_after_the_bridges():
    items = ipt.render(_firewall.GUARD_OWNER, [GUARD])
    assert texts(items, "NETMODES-UPLINKS") == ["-i eth0 -j NETMODES-CLOSED", "-i eth1 -j NETMODES-CLOSED"]
    assert texts(items, "NETMODES-RAW") == ["-d 127.0.0.0/8 -i docker0 -j DROP"]
    assert all(ipt._comment(item[3]) == "netmodes:sysctl:ledger" for item in items)
    assert ipt.text(ipt.CHAIN_RULES[("filter", "NETMODES-FORWARD")][-1], comments=False) == "-j NETMODES-UPLINKS"
    assert [ipt.text(r, comments=False) for r in ipt.CHAIN_RULES[("filter", "NETMODES-CLOSED")]] == [
        "-m conntrack --ctstate DNAT -j NETMODES-PUBLISHED", "-m conntrack --ctdir REPLY --ctstate DNAT -j NETMODES-REPLIES", "-j DROP"]
    assert "-d 127.0.0.0/8 -i br-x -j DROP" in texts(ipt.render("bridge:br-x", [policy()]), "NETMODES-RAW")


# Each step: one owner's change, and the guard's planned on the state it leaves, in one commit.
GUARDED_STEPS = [
    (("bridge:br-x", [policy()]), (_firewall.GUARD_OWNER, [GUARD])),
    (("netns:a", publish("8080:80")), (_firewall.GUARD_OWNER, [_firewall.Guard(("eth0",))])),
    (("bridge:br-x", []), (_firewall.GUARD_OWNER, [_firewall.Guard(("eth0",))])),
    (("netns:a", []), (_firewall.GUARD_OWNER, [])),
]


def test_a_second_change_planned_on_the_predicted_state_commits_with_the_first(each_firewall):
    """A resource stages its own change and the guard's in one commit, the guard's planned on
    ``after`` (the state the first leaves): both must apply, and the table go with the last item."""
    firewall, backend = each_firewall, nftables.Nftables if each_firewall.name == "nftables" else iptables.Iptables
    for changes in GUARDED_STEPS:
        state = predicted = firewall.read()
        for owner, intents in changes:
            want = backend.render(owner, intents)
            firewall.stage(backend.changes(predicted, owner, want, predicted.owned_by(owner)))
            predicted = firewall.after(predicted, owner, want)
        firewall.commit()
        listed = firewall.read()
        assert sorted(map(str, predicted._items())) == sorted(map(str, listed._items())), changes
        assert listed.intact() or not state.exists or not listed.exists
    assert not firewall.read().exists, "the table went with its last item"
