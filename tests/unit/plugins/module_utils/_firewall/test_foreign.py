# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Others' firewalls that drop our traffic (netavark#977): a packet must be accepted by every base
chain on its hook, so a drop in another table, in iptables-nft's tables or in iptables-legacy
wins over our accepts. The bridge and portmap modules warn, naming the chain and the fix.

The listings are in the form `nft -j list ruleset` and `iptables-*-save` print them (taken from
a simulated host with the same rules)."""

from __future__ import annotations

import ipaddress
import shlex

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import foreign, foreign_read, iptables
from ansible_collections.netmodes.linux.plugins.modules.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns
from ansible_collections.netmodes.linux.plugins.modules.portmap import Portmap
from ansible_collections.netmodes.linux.plugins.modules.veth import Veth
from ansible_collections.netmodes.linux.tests.shared.foreign_firewalls import DOCKER_LEGACY, DOCKER_LEGACY6, UFW, UFW6


@pytest.fixture
def firewall(each_firewall):
    return each_firewall


def iif(name, op="=="):
    return {"match": {"op": op, "left": {"meta": {"key": "iifname"}}, "right": name}}


def oif(name, op="=="):
    return {"match": {"op": op, "left": {"meta": {"key": "oifname"}}, "right": name}}


ACCEPT, DROP, COUNTER = {"accept": None}, {"drop": None}, {"counter": {"packets": 0, "bytes": 0}}
ESTABLISHED = {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}
INVALID = {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "invalid"}}
DNAT = {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}
TCP_443 = {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}


def saddr(prefix, length):
    return {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                      "right": {"prefix": {"addr": prefix, "len": length}}}}


def ruleset(*chains, family="inet", table="theirs", flags=None):
    """A `nft -j list ruleset` answer: CHAINS are (name, hook or None, policy, [rule exprs])."""
    items = [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
             {"table": dict({"family": family, "name": table, "handle": 1}, **({"flags": flags} if flags else {}))}]
    for handle, (name, hook, policy, _rules) in enumerate(chains, 1):
        chain = {"family": family, "table": table, "name": name, "handle": handle}
        if hook:
            chain.update(type="filter", hook=hook, prio=10, policy=policy)
        items.append({"chain": chain})
    for name, _hook, _policy, rules in chains:
        items += [{"rule": {"family": family, "table": table, "chain": name, "handle": 10 + i, "expr": expr}} for i, expr in enumerate(rules)]
    return {"nftables": items}


def merge(*listings):
    return {"nftables": [i for listing in listings for i in listing["nftables"]]}


# How iptables-nft's ufw tables look in `nft -j list ruleset`: conntrack matches are opaque.
UFW_NFT = ruleset(("FORWARD", "forward", "drop", [[COUNTER, {"jump": {"target": "ufw-before-forward"}}]]),
                  ("INPUT", "input", "drop", [[COUNTER, {"jump": {"target": "ufw-before-input"}}]]),
                  ("ufw-before-forward", None, None, [[{"xt": {"type": "match", "name": "conntrack"}}, COUNTER, ACCEPT]]),
                  ("ufw-before-input", None, None, [[{"xt": {"type": "match", "name": "conntrack"}}, COUNTER, ACCEPT]]),
                  family="ip", table="filter")


def warnings_of(converge, **options):
    return converge(Bridge, **dict({"name": "br0", "addresses": ["10.231.201.1/24"]}, **options)).get("warnings", [])


def test_a_forward_policy_drop_in_another_table_is_named_with_the_fix(converge, firewall):
    firewall.others = ruleset(("forward_drop", "forward", "drop", []))
    (warning,) = warnings_of(converge)
    assert warning.startswith("bridge br0: nftables table inet theirs, chain forward_drop (hook forward) drops outbound"
                              " connections of br0's sandboxes and replies to outbound connections of br0's sandboxes:"
                              " its policy is drop and no rule accepts them.")
    assert "netavark#977" in warning
    assert warning.endswith('nft insert rule inet theirs forward_drop iifname "br0" accept;'
                            ' nft insert rule inet theirs forward_drop oifname "br0" accept')


@pytest.mark.parametrize("rules", [
    [[ESTABLISHED, ACCEPT], [iif("br0"), ACCEPT]],                                # the interface
    [[ESTABLISHED, COUNTER, ACCEPT], [iif("br*"), COUNTER, ACCEPT]],              # a wildcard
    [[ESTABLISHED, ACCEPT], [iif({"set": ["lan0", "br0"]}), ACCEPT]],             # a set
    [[ESTABLISHED, ACCEPT], [{"vmap": {"key": {"meta": {"key": "iifname"}},       # a verdict map
                                       "data": {"set": [["br0", ACCEPT], ["wan0", DROP]]}}}]],
    [[ESTABLISHED, ACCEPT], [saddr("10.231.0.0", 16), ACCEPT]],                   # the subnet's source addresses
    [[ESTABLISHED, ACCEPT], [iif("br0"), {"jump": {"target": "mine"}}]],          # a chain that accepts
    [[oif("br0"), ACCEPT], [iif("br0"), ACCEPT]],                                 # both sides, without conntrack
])
def test_no_warning_when_the_chain_accepts_the_bridge(converge, firewall, rules):
    firewall.others = ruleset(("forward_drop", "forward", "drop", rules), ("mine", None, None, [[ACCEPT]]))
    assert warnings_of(converge) == []


@pytest.mark.parametrize("rules, dropped", [
    ([[TCP_443, ACCEPT]], ["outbound", "replies"]),                       # accepts part of the flow only
    ([[ESTABLISHED, ACCEPT], [saddr("10.0.0.0", 8), TCP_443, ACCEPT]], ["outbound"]),
    ([[ESTABLISHED, ACCEPT], [saddr("10.231.201.128", 25), ACCEPT]], ["outbound"]),   # part of the subnet
    ([[ESTABLISHED, ACCEPT], [iif("br0", "!="), ACCEPT]], ["outbound"]),
    ([[ESTABLISHED, ACCEPT], [iif("br0"), {"jump": {"target": "mine"}}]], ["outbound"]),   # a chain that returns
    ([[ESTABLISHED, ACCEPT], [iif("br0"), {"goto": {"target": "empty"}}], [iif("br0"), ACCEPT]], ["outbound"]),
])
def test_partial_accepts_do_not_count(converge, firewall, rules, dropped):
    firewall.others = ruleset(("forward_drop", "forward", "drop", rules), ("mine", None, None, [[{"return": None}]]),
                              ("empty", None, None, []))
    (warning,) = warnings_of(converge)
    assert ("outbound connections" in warning, "replies to" in warning) == ("outbound" in dropped, "replies" in dropped)


def test_a_drop_rule_in_an_accepting_chain_is_named(converge, firewall):
    firewall.others = ruleset(("in", "prerouting", "accept", [[iif("lo"), ACCEPT], [COUNTER, iif("br*"), DROP]]))
    (warning,) = warnings_of(converge)
    assert "chain in (hook prerouting) drops everything br0's sandboxes send: its rule 2 of chain in drops them." in warning


@pytest.mark.parametrize("rules", [[[TCP_443, DROP]], [[iif("br1"), DROP]], [[INVALID, DROP]], [[iif("br0"), oif("br0"), DROP]]])
def test_a_drop_of_part_of_the_flow_or_of_others_is_not_reported(converge, firewall, rules):
    firewall.others = ruleset(("fw", "forward", "accept", rules))
    assert warnings_of(converge) == []


def test_dormant_tables_ours_and_other_families_and_hooks_are_not_read(converge, firewall):
    drop = [("fw", "forward", "drop", [])]
    firewall.others = merge(ruleset(*drop, flags=["dormant"]), ruleset(*drop, family="ip6"), ruleset(*drop, family="bridge"),
                            ruleset(("out", "output", "drop", [])), ruleset(*drop, table="netmodes"))
    assert warnings_of(converge) == []


def test_between_members_only_when_bridged_traffic_meets_the_hooks(converge, firewall, sysctl):
    firewall.others = ruleset(("fw", "forward", "drop", [[ESTABLISHED, ACCEPT], [iif("br0"), oif("br0", "!="), ACCEPT]]))
    assert warnings_of(converge) == []
    sysctl.values["net/bridge/bridge-nf-call-iptables"] = "1"
    (warning,) = warnings_of(converge)
    assert "drops traffic between members of br0" in warning
    assert warnings_of(converge, icc=False) == [], "icc=false drops it anyway"


def test_an_internal_network_has_no_forwarded_traffic_to_lose(converge, firewall):
    firewall.others = merge(ruleset(("fw", "forward", "drop", [])), ruleset(("in", "input", "drop", [[ESTABLISHED, ACCEPT]]), table="t2"))
    (warning,) = warnings_of(converge, internal=True)
    assert warning.startswith("bridge br0: nftables table inet t2, chain in (hook input) drops connections from br0's sandboxes to"
                              " this host's own addresses")
    assert "if the sandboxes of br0 should reach this host's own services" in warning


def test_docker_on_iptables_legacy(converge, firewall):
    """Docker's FORWARD policy drop: the fix goes into DOCKER-USER. Our iptables backend hooks
    FORWARD first, so its own accepts decide there: no warning on it, also before the first run."""
    firewall.saves["iptables-legacy-save"] = DOCKER_LEGACY
    warnings = warnings_of(converge, **{"firewall_backend": firewall.name})
    if firewall.name == "iptables":
        assert warnings == []
        return
    (warning,) = warnings
    assert warning.startswith("bridge br0: iptables-legacy table filter, chain FORWARD (hook forward) drops outbound connections")
    assert warning.endswith("iptables-legacy -t filter -I DOCKER-USER -i br0 -j ACCEPT; iptables-legacy -t filter -I DOCKER-USER -o br0 -j ACCEPT")


def test_a_jump_into_our_chains_is_our_accept_but_a_drop_before_it_wins(firewall, converge):
    before = "-A FORWARD -i br0 -j DROP\n"
    firewall.saves["iptables-legacy-save"] = DOCKER_LEGACY.replace("-A FORWARD -j DOCKER-USER\n", before
                                                                   + "-A FORWARD -m comment --comment netmodes -j NETMODES-FORWARD\n")
    (warning,) = warnings_of(converge)
    assert 'its rule "-A FORWARD -i br0 -j DROP" drops them' in warning


def test_ufw_through_iptables_nft_is_read_from_iptables_nft_save(converge, firewall):
    firewall.others = UFW_NFT
    firewall.saves["iptables-nft-save"] = UFW
    warnings = warnings_of(converge)
    assert [w.split(" (hook")[0] for w in warnings] == [
        "bridge br0: nftables table ip filter (iptables-nft), chain INPUT", "bridge br0: nftables table ip filter (iptables-nft), chain FORWARD"]
    assert "drops connections from br0's sandboxes to this host's own addresses:" in warnings[0], "established replies are accepted"
    assert "drops outbound connections of br0's sandboxes:" in warnings[1]
    assert warnings[1].endswith("iptables-nft -t filter -I FORWARD -i br0 -j ACCEPT")


def test_without_iptables_nft_save_its_tables_are_read_as_nftables(converge, firewall):
    firewall.others = UFW_NFT
    (forward,) = [w for w in warnings_of(converge) if "chain FORWARD" in w]
    assert forward.startswith("bridge br0: nftables table ip filter, chain FORWARD")
    assert "replies to outbound connections" in forward, "an opaque conntrack match accepts nothing for sure"


@pytest.fixture
def plugged(converge, kernel):
    converge(Bridge, name="br0", addresses=["10.231.201.1/24"])
    converge(Netns, name="web")
    converge(Veth, name="veth-web", netns="web", bridge="br0", addresses=["10.231.201.10/24"], gateway="10.231.201.1")


@pytest.mark.parametrize("check", [False, True])
def test_portmap_warns_about_published_connections(plugged, converge, firewall, check):
    firewall.others = ruleset(("fw", "forward", "drop", [[ESTABLISHED, ACCEPT], [iif("br0"), ACCEPT]]))
    result = converge(Portmap, check=check, netns="web", bridge="br0", ports=["8080:80"])
    (warning,) = result["warnings"]
    assert warning.startswith("portmap netns:web: nftables table inet theirs, chain fw (hook forward) drops connections to ports"
                              " published into br0: its policy is drop")
    assert warning.endswith('nft insert rule inet theirs fw oifname "br0" accept')
    firewall.others = ruleset(("fw", "forward", "drop", [[ESTABLISHED, ACCEPT], [oif("br0"), DNAT, ACCEPT]]))
    firewall._foreign = None
    assert "warnings" not in converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])
    assert "warnings" not in converge(Portmap, netns="web", bridge="br0", state="absent")


def test_nothing_is_read_for_absent_objects(converge, firewall):
    firewall.others = ruleset(("fw", "forward", "drop", []))
    assert "warnings" not in converge(Bridge, name="br0", state="absent")


@pytest.mark.parametrize("line, conditions, verdict", [
    ("-A X -i br+ -j ACCEPT", [("iif", False, frozenset(["br*"]))], "accept"),
    ("-A X ! -o br0 -s 10.0.0.0/8 -j DROP", [("oif", True, frozenset(["br0"])), ("saddr", False, frozenset([ipaddress.ip_network("10.0.0.0/8")]))],
     "drop"),
    ("-A X -m conntrack ! --ctstate NEW -j RETURN", [("ctstate", True, frozenset(["new"]))], "return"),
    ("-A X -m conntrack --ctstate DNAT -g Y", [("ctstatus", False, frozenset(["dnat"]))], "goto"),
    ("-A X -m state --state RELATED,ESTABLISHED -m comment --comment \"a b\" -j LOG --log-prefix x",
     [("ctstate", False, frozenset(["related", "established"]))], "jump"),
    ("-A X -p tcp -m tcp --dport 22 -j ACCEPT", [("other", False, None), ("other", False, None)], "accept"),
    ("-A X -m comment --comment netmodes -j NETMODES-FORWARD", [], "ours"),
])
def test_iptables_save_lines(line, conditions, verdict):
    rule = foreign_read.legacy_rule(shlex.split(line)[2:], line)
    assert (list(rule.conditions), rule.verdict) == (conditions, verdict)


def test_legacy_tables_are_read_only_when_the_kernel_has_some(tmp_path):
    names = tmp_path / "ip_tables_names"
    names.write_text("")
    calls = []
    assert foreign_read.save("iptables-legacy-save", run=lambda *a, **k: calls.append(a), names=str(names)) == ""
    assert calls == [], "naming no table, and listing none: a read must not create the filter table"


def test_an_nftables_rule_we_do_not_understand_decides_nothing():
    (rule,) = foreign_read.foreign_rules([{"match": {"op": "==", "left": {"fib": {"result": "type"}}, "right": "local"}}, ACCEPT], "1")
    flow = _firewall.bridge_flows(_firewall.BridgePolicy("br0", (ipaddress.ip_network("10.231.201.0/24"),)), False)[0]
    assert foreign._matches(rule, flow) is None


def test_python_iptables_is_kept_from_creating_tables(tmp_path):
    """python-iptables opens every table it thinks available to tell a jump from an extension,
    and opening a legacy table creates it: only those there and ours count as available."""
    names = tmp_path / "ip_tables_names"
    names.write_text("filter\nmangle\n")

    class Table:
        ALL = ["filter", "mangle", "raw", "nat", "security"]
        existing_table_names = {"filter": True}

    iptables.only_existing(type("iptc", (), {"Table": Table}), names=str(names))
    assert Table.existing_table_names == {"filter": True, "mangle": True, "raw": True, "nat": True, "security": False}


def test_a_firewall_that_cannot_be_read_is_a_warning_not_a_failure(converge, firewall):
    def refuse(tool):
        raise foreign_read.KernelError("iptables: %s failed: can't initialize iptables table `filter'" % tool)

    firewall.others = ruleset(("fw", "forward", "drop", []))
    chains = foreign_read.read_foreign(firewall, assume_hook=False, save=refuse)
    assert [c.where for c in chains if isinstance(c, foreign.Unreadable)] == ["iptables-legacy's tables", "ip6tables-legacy's tables"]
    (dropping, unreadable, unreadable6) = _firewall.blocked("bridge br0", chains, _firewall.bridge_flows(
        _firewall.BridgePolicy("br0", (ipaddress.ip_network("10.231.201.0/24"),)), False))
    assert dropping.startswith("bridge br0: nftables table inet theirs, chain fw")
    assert unreadable == ("firewall: cannot read iptables-legacy's tables, so drops there that would block netmodes' traffic were not"
                          " looked for: iptables: iptables-legacy-save failed: can't initialize iptables table `filter'")
    assert unreadable6.startswith("firewall: cannot read ip6tables-legacy's tables, so drops there")


# iptables-save prints a comment between quotes as it is, so a newline in it (the comment match
# takes one) continues the rule on the next line; what follows must not be read as rules.
NEWLINE_COMMENT = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i br0 -m comment --comment "theirs
-A INPUT -j ACCEPT
#" -j DROP
-A INPUT -i br1 -j ACCEPT
COMMIT
"""


def test_a_comment_over_several_lines_is_one_rule_of_its_chain():
    (chain,) = [c for c in foreign_read.save_chains(NEWLINE_COMMENT) if c.address == ("filter", "INPUT")]
    assert [(r.conditions, r.verdict) for r in chain.rules] == [((("iif", False, frozenset(["br0"])),), "drop"),
                                                                ((("iif", False, frozenset(["br1"])),), "accept")]
    assert chain.rules[0].text == '"-A INPUT -i br0 -m comment --comment "theirs\\n-A INPUT -j ACCEPT\\n#" -j DROP"'
    (warning,) = _firewall.blocked("bridge br0", [chain], _firewall.bridge_flows(
        _firewall.BridgePolicy("br0", (ipaddress.ip_network("10.231.201.0/24"),)), False))
    assert "its rule \"-A INPUT -i br0 -m comment --comment \"theirs\\n-A INPUT" in warning and "\n" not in warning


def test_a_rule_whose_quotes_never_close_makes_its_table_unreadable_not_the_run():
    text = NEWLINE_COMMENT.replace('#" -j DROP', "# -j DROP")
    chains = foreign_read.save_chains(text)
    assert [(c.where, c.why) for c in chains if isinstance(c, foreign.Unreadable)] == [
        ("iptables-legacy table filter", "its rule '-A INPUT -i br0 -m comment --comment \"theirs' has quotes that do not close")]
    assert not [c for c in chains if getattr(c, "address", None) == ("filter", "INPUT")]


def test_a_dual_stack_networks_flows_meet_rules_of_either_family():
    """A source match of one family beside a network with subnets of both: no TypeError from
    comparing an IPv6 subnet with an IPv4 network (ipaddress refuses subnet_of across versions)."""
    nets = (ipaddress.ip_network("10.231.201.0/24"), ipaddress.ip_network("fd31:9b5e:c207:201::/64"))
    flow = _firewall.bridge_flows(_firewall.BridgePolicy("br0", nets), False)[0]
    assert foreign._addresses(flow, "saddr", [ipaddress.ip_network("10.0.0.0/8")]) is None, "one family's part of the flow"
    assert foreign._addresses(flow, "saddr", [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd31::/16")]) is True
    assert foreign._addresses(flow, "saddr", [ipaddress.ip_network("192.168.0.0/16")]) is False


# -- IPv6: ip6 tables, ip6tables-legacy and ip6tables-nft (issue 17) -------------------------------

DUAL = {"addresses": ["10.231.201.1/24", "fd31:201::1/64"]}

# How ip6tables-nft's ufw6 tables look in `nft -j list ruleset` (table ip6 filter).
UFW6_NFT = ruleset(("FORWARD", "forward", "drop", [[COUNTER, {"jump": {"target": "ufw6-before-forward"}}]]),
                   ("INPUT", "input", "drop", [[COUNTER, {"jump": {"target": "ufw6-before-input"}}]]),
                   ("ufw6-before-forward", None, None, [[{"xt": {"type": "match", "name": "conntrack"}}, COUNTER, ACCEPT]]),
                   ("ufw6-before-input", None, None, [[{"xt": {"type": "match", "name": "conntrack"}}, COUNTER, ACCEPT]]),
                   family="ip6", table="filter")


def saddr6(prefix, length, op="=="):
    return {"match": {"op": op, "left": {"payload": {"protocol": "ip6", "field": "saddr"}},
                      "right": {"prefix": {"addr": prefix, "len": length}}}}


def test_an_ip6_tables_drop_is_named_for_a_dual_stack_bridge_only(converge, firewall):
    firewall.others = ruleset(("fw", "forward", "drop", [[ESTABLISHED, ACCEPT]]), family="ip6")
    assert warnings_of(converge) == [], "an IPv4 bridge's packets do not pass ip6 tables"
    (warning,) = warnings_of(converge, **DUAL)
    assert warning.startswith("bridge br0: nftables table ip6 theirs, chain fw (hook forward) drops outbound connections of br0's"
                              " sandboxes: its policy is drop")
    assert warning.endswith('nft insert rule ip6 theirs fw iifname "br0" accept')


@pytest.mark.parametrize("rules, warned", [
    ([[ESTABLISHED, ACCEPT], [saddr6("fd31:201::", 64), ACCEPT], [saddr("10.231.0.0", 16), ACCEPT]], False),   # each family's sources
    ([[ESTABLISHED, ACCEPT], [saddr6("fd31:201::", 64, "!="), DROP], [ACCEPT]], False),
    ([[ESTABLISHED, ACCEPT], [saddr("10.231.0.0", 16), ACCEPT]], True),          # IPv4's accept leaves IPv6's part dropped
])
def test_an_inet_chain_judges_each_family_of_a_dual_stack_flow(converge, firewall, rules, warned):
    firewall.others = ruleset(("fw", "forward", "drop", rules))
    assert bool(warnings_of(converge, **DUAL)) == warned
    assert warnings_of(converge) == [], "an IPv4 bridge: ip6 matches are none of its packets, negated or not"


def test_docker_on_ip6tables_legacy(converge, firewall):
    firewall.saves["ip6tables-legacy-save"] = DOCKER_LEGACY6
    assert warnings_of(converge) == [], "an IPv4 bridge's packets do not pass ip6tables"
    warnings = warnings_of(converge, **dict(DUAL, firewall_backend=firewall.name))
    if firewall.name == "iptables":   # its ip6tables FORWARD hook accepts first
        assert warnings == []
        return
    (warning,) = warnings
    assert warning.startswith("bridge br0: ip6tables-legacy table filter, chain FORWARD (hook forward) drops outbound connections")
    assert warning.endswith("ip6tables-legacy -t filter -I DOCKER-USER -i br0 -j ACCEPT; ip6tables-legacy -t filter -I DOCKER-USER -o br0 -j ACCEPT")


def test_ufw6_through_ip6tables_nft_is_read_from_ip6tables_nft_save(converge, firewall):
    firewall.others = merge(UFW_NFT, UFW6_NFT)
    firewall.saves["iptables-nft-save"], firewall.saves["ip6tables-nft-save"] = UFW, UFW6
    warnings = warnings_of(converge, **DUAL)
    assert [w.split(" (hook")[0] for w in warnings] == [
        "bridge br0: nftables table ip filter (iptables-nft), chain INPUT", "bridge br0: nftables table ip filter (iptables-nft), chain FORWARD",
        "bridge br0: nftables table ip6 filter (ip6tables-nft), chain INPUT", "bridge br0: nftables table ip6 filter (ip6tables-nft), chain FORWARD"]
    assert warnings[3].endswith("ip6tables-nft -t filter -I FORWARD -i br0 -j ACCEPT")
    assert [w.split(" (hook")[0] for w in warnings_of(converge)] == [w.split(" (hook")[0] for w in warnings[:2]]


def test_legacy_ip6_tables_are_read_only_when_the_kernel_has_some(tmp_path, monkeypatch):
    monkeypatch.setattr(foreign_read, "LEGACY_NAMES6", str(tmp_path / "absent"))
    calls = []
    assert foreign_read.save("ip6tables-legacy-save", run=lambda *a, **k: calls.append(a)) == ""
    assert calls == []


def test_iptables_save_lines_of_ip6tables():
    rule = foreign_read.legacy_rule(shlex.split("-A X -s fd31:201::/64 ! -d fd31::/16 -j ACCEPT")[2:], "")
    assert rule.conditions == (("saddr", False, frozenset([ipaddress.ip_network("fd31:201::/64")])),
                               ("daddr", True, frozenset([ipaddress.ip_network("fd31::/16")])))


@pytest.fixture
def plugged6(converge, kernel):
    converge(Bridge, name="br0", **DUAL)
    converge(Netns, name="web")
    converge(Veth, name="veth-web", netns="web", bridge="br0", addresses=["10.231.201.10/24", "fd31:201::10/64"], gateway="10.231.201.1")


def test_portmap_warns_about_published_ipv6_connections(plugged6, converge, firewall):
    firewall.others = ruleset(("fw", "forward", "drop", [[ESTABLISHED, ACCEPT]]), family="ip6")
    (warning,) = converge(Portmap, netns="web", bridge="br0", ports=["8080:80"])["warnings"]
    assert warning.startswith("portmap netns:web: nftables table ip6 theirs, chain fw (hook forward) drops connections to ports"
                              " published into br0: its policy is drop")
    assert warning.endswith('nft insert rule ip6 theirs fw oifname "br0" accept')


def test_an_isolated_family_has_no_flow_into_the_host_to_warn_about():
    """A foreign input drop cannot block what gateway mode isolated drops itself."""
    nets = (ipaddress.ip_network("10.231.201.0/24"), ipaddress.ip_network("fd31:201::/64"))
    flows = _firewall.bridge_flows(_firewall.BridgePolicy("br0", nets, internal=True, mode4="isolated"), False)
    assert {f.subnets for f in flows if f.hook == "input"} == {(nets[1],)}
    both = _firewall.bridge_flows(_firewall.BridgePolicy("br0", nets, internal=True, mode4="isolated", mode6="isolated"), False)
    assert [f.hook for f in both] == ["prerouting"]
