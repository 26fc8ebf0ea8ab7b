# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who may reach a network's resolver (intents.ResolverAccess), as each backend writes it: its
members, on its device and from its subnets, on udp and tcp port 53 of its addresses; the host
itself goes on to its own rules; anyone else is dropped; nothing else is looked at."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import foreign, foreign_read
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.firewall_cases import SUBNET, SUBNET6, policy6
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.test_ipt_rules import texts

GATEWAY, GATEWAY6 = ipaddress.ip_address("172.18.0.1"), ipaddress.ip_address("fd31:9b5e:c207:18::1")
OWNER = _firewall.resolver_owner("br-x")


def access(addresses=(GATEWAY, GATEWAY6), device="br-x"):
    return _firewall.ResolverAccess(device, tuple(addresses), SUBNET + (SUBNET6,), _resolver.PORT)


def _iif(name, op="=="):
    return {"match": {"op": op, "left": {"meta": {"key": "iifname"}}, "right": name}}


def _saddr(protocol, addr, length):
    return {"match": {"op": "==", "left": {"payload": {"protocol": protocol, "field": "saddr"}}, "right": {"prefix": {"addr": addr, "len": length}}}}


def test_nftables_admits_the_members_on_their_device_and_from_their_subnets_only():
    # `iifname "br-x" ip saddr 172.18.0.0/16 accept`, `iifname "br-x" ip6 saddr fd31:…::/64 accept`,
    # `iifname "lo" return`, `drop`
    assert nft.resolver_chains(access()) == {"resolver-br-x": [
        [_iif("br-x"), _saddr("ip", "172.18.0.0", 16), {"accept": None}],
        [_iif("br-x"), _saddr("ip6", "fd31:9b5e:c207:18::", 64), {"accept": None}],
        [_iif("lo"), {"return": None}],
        [{"drop": None}]]}


def test_nftables_looks_up_the_resolver_s_addresses_udp_and_tcp_port_53_only():
    items = nft.render(OWNER, [access()])
    assert {i for i in items if i[0] == "elem"} == {
        ("elem", "resolve4", ("172.18.0.1", "udp", "53"), "jump resolver-br-x"), ("elem", "resolve4", ("172.18.0.1", "tcp", "53"), "jump resolver-br-x"),
        ("elem", "resolve6", ("fd31:9b5e:c207:18::1", "udp", "53"), "jump resolver-br-x"),
        ("elem", "resolve6", ("fd31:9b5e:c207:18::1", "tcp", "53"), "jump resolver-br-x")}
    # `meta l4proto { tcp, udp } ip daddr . meta l4proto . th dport vmap @resolve4`, and ip6's, on hook input
    assert nft.CHAINS["filter-input"] == ("filter", "input", 0)
    assert [rule[-1]["vmap"]["data"] for rule in nft.CHAIN_RULES["filter-input"][2:]] == ["@resolve4", "@resolve6"]
    assert all(rule[0]["match"]["right"] == {"set": ["tcp", "udp"]} for rule in nft.CHAIN_RULES["filter-input"][1:])
    assert nft.chain_owner("resolver-br-x") == OWNER


def test_iptables_writes_the_same_rules_in_each_family():
    items = ipt.render(OWNER, [access()])
    assert texts([i for i in items if i[1] == "filter"], "NETMODES-INPUT") == sorted(
        "-d 172.18.0.1/32 -p %s -m %s --dport 53 -j NETMODES-DNS-br-x" % (p, p) for p in ("udp", "tcp"))
    assert texts([i for i in items if i[1] == "filter6"], "NETMODES-INPUT") == sorted(
        "-d fd31:9b5e:c207:18::1/128 -p %s -m %s --dport 53 -j NETMODES-DNS-br-x" % (p, p) for p in ("udp", "tcp"))
    chains = {(i[1], i[2]): [ipt.text(r, comments=False) for r in i[3]] for i in items if i[0] == "chain"}
    assert chains == {("filter", "NETMODES-DNS-br-x"): ["-s 172.18.0.0/16 -i br-x -j ACCEPT", "-i lo -j RETURN", "-j DROP"],
                      ("filter6", "NETMODES-DNS-br-x"): ["-s fd31:9b5e:c207:18::/64 -i br-x -j ACCEPT", "-i lo -j RETURN", "-j DROP"]}
    assert ipt.HOOKS[("filter", "INPUT")] == ipt.spec(target=("NETMODES-INPUT",))
    assert {ipt._owner(i) for i in items} == {OWNER}


def test_an_ipv4_only_resolver_leaves_ip6tables_alone():
    items = ipt.render(OWNER, [access((GATEWAY,))])
    assert {i[1] for i in items} == {"filter"}
    assert {i[1] for i in nft.render(OWNER, [access((GATEWAY,))]) if i[0] == "elem"} == {"resolve4"}


def test_the_chain_of_the_longest_device_name_fits_iptables():
    # iptables refuses a chain name of more than 28 characters (XT_EXTENSION_MAXNAMELEN)
    items = ipt.render(_firewall.resolver_owner("a" * 15), [access(device="a" * 15)])
    assert max(len(i[2]) for i in items if i[0] == "chain") == 28


@pytest.fixture
def firewall(each_firewall):
    return each_firewall


def test_both_backends_write_read_back_and_remove_it_alone(firewall):
    """Written beside a bridge's policy, read back as the same items with the skeleton intact;
    removed, it leaves the bridge's rules as they were."""
    def change(owner, want):
        state = firewall.read()
        firewall.stage(firewall.changes(state, owner, want, state.owned_by(owner)))
        firewall.commit()

    bridge = firewall.render("bridge:br-x", [policy6()])
    change("bridge:br-x", bridge)
    want = firewall.render(OWNER, [access()])
    change(OWNER, want)
    state = firewall.read()
    assert state.owned_by(OWNER) == want and state.intact() and state.owned_by("bridge:br-x") == bridge
    change(OWNER, set())
    state = firewall.read()
    assert state.owned_by(OWNER) == set() and state.owned_by("bridge:br-x") == bridge and state.intact()
    change("bridge:br-x", set())
    assert not firewall.read().exists, "nothing of ours is left"


def test_our_input_hook_hides_no_drop_of_the_host_from_the_foreign_analyser():
    """The jump into NETMODES-INPUT decides only packets to a resolver and returns the rest: a
    host's drop of its sandboxes' connections after it is still found (a jump into our forward
    chain counts as an accept: those decide everything of a bridge)."""
    saved = "\n".join(["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
                       "-A INPUT -m comment --comment netmodes -j NETMODES-INPUT", "-A INPUT -i br-x -j DROP", "COMMIT", ""])
    (chain,) = [c for c in foreign_read.save_chains(saved) if c.hook == "input"]
    flows = [f for f in foreign.bridge_flows(policy6(), False) if f.hook == "input"]
    assert foreign.drops(chain, flows[0]) == 'its rule "-A INPUT -i br-x -j DROP" drops them'
