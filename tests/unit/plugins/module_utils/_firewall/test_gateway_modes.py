# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's gateway modes, trusted host interfaces and outbound NAT address, as both backends write them.

The facts come from moby's bridge driver (daemon/libnetwork/drivers/bridge/internal/{nftabler,
iptabler}: network.go, port.go, endpoint.go): nat-unprotected ends a network's forward-in chain
with ``accept comment "UNPROTECTED"`` instead of ``drop comment "UNPUBLISHED PORT DROP"``; routed
writes no masquerade, accepts ICMP (``ip protocol icmp accept``, ``meta l4proto ipv6-icmp``) and
each published container port (``ip daddr C tcp dport P accept``), and maps no host port (the
routed port mapper ignores it); a trusted interface passes the drop of direct access to a member's
address (nat mode only); ``com.docker.network.host_ipv4`` makes the masquerade ``snat to A``. Here,
besides: what routing lets in never comes from another bridge of ours (Docker's isolation chains
drop it first), and in routed mode a DNATed connection into the network is dropped.
"""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.plugins.module_utils._gateway import GATEWAY_MODES
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.firewall_cases import SUBNET, SUBNET6, policy, policy6, publish
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.test_nft_rules import (
    ALLOWED,
    DROP,
    ESTABLISHED,
    HAIRPIN,
    ICC,
    MASQUERADE,
    PUBLISHED,
    PUBLISHED_RANGES,
)


def _meta(key, right, op="=="):
    return {"match": {"op": op, "left": {"meta": {"key": key}}, "right": right}}


_L4 = _meta("l4proto", {"set": ["tcp", "udp", "sctp"]})
_KEY4 = {"concat": [{"payload": {"protocol": "ip", "field": "daddr"}}, {"meta": {"key": "l4proto"}}, {"payload": {"protocol": "th", "field": "dport"}}]}
FROM_BRIDGES = [_meta("iifname", "@bridges"), {"drop": None}]
UNPROTECTED = [_meta("nfproto", "ipv4"), {"accept": None}]
ICMP = [_meta("l4proto", "icmp"), {"accept": None}]
DNATED_DROP = [_meta("nfproto", "ipv4"), {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}, {"drop": None}]
OPEN, OPEN_RANGES = ([_L4, {"match": {"op": "==", "left": _KEY4, "right": "@" + name}}, {"accept": None}] for name in ("exposed4", "exposed-range4"))
TRUSTED, TRUSTED_RANGES = ([_L4, _meta("iifname", "eth1"), {"match": {"op": "==", "left": _KEY4, "right": "@" + name}}, {"accept": None}]
                           for name in ("exposed4", "exposed-range4"))
OPEN_ALLOWED = [[_L4, {"vmap": {"key": _KEY4, "data": "@" + name}}] for name in ("allowed4", "allowed-range4")]
TRUSTED_ALLOWED = [[_L4, _meta("iifname", "eth1"), {"vmap": {"key": _KEY4, "data": "@" + name}}] for name in ("allowed4", "allowed-range4")]
SNAT = MASQUERADE[:2] + [{"snat": {"family": "ip", "addr": "10.231.170.1"}}]
HOST = ipaddress.ip_address("10.231.170.1")


@pytest.mark.parametrize("options, into, nat", [
    ({}, [ESTABLISHED, *ALLOWED, PUBLISHED, PUBLISHED_RANGES, ICC, DROP], [HAIRPIN, MASQUERADE]),
    ({"mode4": "nat-unprotected"}, [ESTABLISHED, *ALLOWED, PUBLISHED, PUBLISHED_RANGES, ICC, FROM_BRIDGES, UNPROTECTED, DROP], [HAIRPIN, MASQUERADE]),
    ({"mode4": "routed"}, [ESTABLISHED, DNATED_DROP, ICC, FROM_BRIDGES, ICMP, *OPEN_ALLOWED, OPEN, OPEN_RANGES, DROP], [HAIRPIN]),
    ({"trusted": ("eth1",)}, [ESTABLISHED, *ALLOWED, PUBLISHED, PUBLISHED_RANGES, *TRUSTED_ALLOWED, TRUSTED, TRUSTED_RANGES, ICC, DROP], [HAIRPIN, MASQUERADE]),
    ({"snat": (HOST,)}, [ESTABLISHED, *ALLOWED, PUBLISHED, PUBLISHED_RANGES, ICC, DROP], [HAIRPIN, SNAT]),
    # the IPv6 mode of an IPv4-only network changes nothing; a routed one's trusted interfaces and NAT address neither
    ({"mode6": "routed"}, [ESTABLISHED, *ALLOWED, PUBLISHED, PUBLISHED_RANGES, ICC, DROP], [HAIRPIN, MASQUERADE]),
    ({"mode4": "routed", "trusted": ("eth1",), "snat": (HOST,)}, [ESTABLISHED, DNATED_DROP, ICC, FROM_BRIDGES, ICMP, *OPEN_ALLOWED, OPEN, OPEN_RANGES, DROP],
     [HAIRPIN]),
])
def test_nftables_gateway_modes_match_docker(options, into, nat):
    chains = nft.bridge_chains(policy(**options))
    assert chains["fwd-in-br-x"] == into
    assert chains["nat-out-br-x"] == nat
    assert chains["fwd-out-br-x"] == [ESTABLISHED, [{"accept": None}]], "a member's traffic leaves alike in every mode"


def test_nftables_modes_are_per_family():
    chains = nft.bridge_chains(policy6(mode4="routed", mode6="nat-unprotected", snat=(ipaddress.ip_address("fd31:170::1"),)))
    into = chains["fwd-in-br-x"]
    assert DNATED_DROP in into and ICMP in into and OPEN in into
    assert [_meta("nfproto", "ipv6"), {"accept": None}] in into and UNPROTECTED not in into
    assert [_meta("l4proto", "ipv6-icmp"), {"accept": None}] not in into, "ICMPv6 is routed mode's only"
    outbound = [rule[-1] for rule in chains["nat-out-br-x"] if rule[0] == _meta("oifname", "br-x", "!=")]
    assert outbound == [{"snat": {"family": "ip6", "addr": "fd31:170::1"}}], "the IPv4 subnet is routed: only IPv6 is NATed"


def _ipt(rules):
    return [ipt.text(r, comments=False) for r in rules]


@pytest.mark.parametrize("options, into, postrouting", [
    ({"mode4": "nat-unprotected"}, ["-m conntrack --ctstate DNAT -j NETMODES-PUBLISHED", "-i br-x -j ACCEPT", "-j NETMODES-BRIDGES", "-j ACCEPT"],
     ["-s 172.18.0.0/16 ! -o br-x -j MASQUERADE"]),
    ({"mode4": "routed"}, ["-m conntrack --ctstate DNAT -j DROP", "-i br-x -j ACCEPT", "-j NETMODES-BRIDGES", "-p icmp -j ACCEPT",
                           "-j NETMODES-PUBLISHED"], []),
    ({"trusted": ("eth1", "eth2")}, ["-m conntrack --ctstate DNAT -j NETMODES-PUBLISHED", "-i eth1 -j NETMODES-PUBLISHED",
                                     "-i eth2 -j NETMODES-PUBLISHED", "-i br-x -j ACCEPT"], ["-s 172.18.0.0/16 ! -o br-x -j MASQUERADE"]),
    ({"snat": (HOST,)}, ["-m conntrack --ctstate DNAT -j NETMODES-PUBLISHED", "-i br-x -j ACCEPT"],
     ["-s 172.18.0.0/16 ! -o br-x -j SNAT --to-source 10.231.170.1"]),
])
def test_iptables_gateway_modes_match_docker(options, into, postrouting):
    chains = ipt.bridge_chains(policy(**options), "netmodes:bridge:br-x")
    assert _ipt(chains["NM-IN-br-x"]) == ["-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"] + into + ["-j DROP"]
    items = ipt.render("bridge:br-x", [policy(**options)])
    assert sorted(ipt.text(i[3], comments=False) for i in items if i[0] == "rule" and i[2] == "NETMODES-POSTROUTING") == postrouting
    assert ("rule", "filter", "NETMODES-BRIDGES", ipt.spec((("-i", "br-x"),), target=("DROP",), comment="netmodes:bridge:br-x")) in items


def test_iptables_modes_are_per_family():
    items = ipt.render("bridge:br-x", [policy6(mode4="nat", mode6="routed")])
    chains = {(i[1], i[2]): _ipt(i[3]) for i in items if i[0] == "chain"}
    assert "-p ipv6-icmp -j ACCEPT" in chains[("filter6", "NM-IN-br-x")]
    assert "-p icmp -j ACCEPT" not in chains[("filter", "NM-IN-br-x")]
    postrouting = [ipt.text(i[3], comments=False) for i in items if i[0] == "rule" and i[2] == "NETMODES-POSTROUTING"]
    assert postrouting == ["-s 172.18.0.0/16 ! -o br-x -j MASQUERADE"], "IPv6 is routed: not masqueraded"


MODES = list(itertools.product(GATEWAY_MODES, GATEWAY_MODES))


@pytest.mark.parametrize("backend", [nft, ipt], ids=["nftables", "iptables"])
@pytest.mark.parametrize("mode4, mode6", MODES)
def test_each_mode_is_recognised_from_the_rules_alone(backend, mode4, mode6):
    """net_info and the bridge module's ``before`` name the modes the rules were written for (no hint)."""
    wanted = _firewall.BridgePolicy("br-x", SUBNET + (SUBNET6,), icc=False, mode4=mode4, mode6=mode6)
    have = backend.render("bridge:br-x", [wanted])
    assert _firewall.recognise(backend, "br-x", wanted.subnets, have) == wanted.describe()


@pytest.mark.parametrize("backend", [nft, ipt], ids=["nftables", "iptables"])
def test_trusted_interfaces_and_outbound_address_are_recognised_with_the_wanted_policy(backend):
    wanted = policy(trusted=("eth1",), snat=(HOST,))
    have = backend.render("bridge:br-x", [wanted])
    hint = policy(trusted=("eth1",), snat=(HOST,), icc=False)   # a change of icc: the rules now are found with the hint's extras
    assert _firewall.recognise(backend, "br-x", SUBNET, have, hint=hint) == wanted.describe()
    assert _firewall.recognise(backend, "br-x", SUBNET, have, hint=policy()) == _firewall.UNRECOGNISED, "other extras are not guessed"
    # routed mode has no direct-access filter nor outbound NAT: rules alike with or without them read as the hint's
    routed = backend.render("bridge:br-x", [policy(mode4="routed")])
    assert _firewall.recognise(backend, "br-x", SUBNET, routed, hint=wanted) == policy(mode4="routed", trusted=("eth1",), snat=(HOST,)).describe()


def test_a_mode_switch_and_back_renders_exactly_the_first_rules():
    """nat -> routed -> nat: what a switch leaves is the rules of the mode it ends in, nothing of the one before."""
    for backend in (nft, ipt):
        nat, routed = (backend.render("bridge:br-x", [policy6(mode4=m, mode6=m)]) for m in ("nat", "routed"))
        assert nat != routed
        assert backend.render("bridge:br-x", [policy6()]) == nat


def test_a_routed_published_port_opens_its_container_port_only():
    """Docker's routed port mapper ignores the host port: no DNAT, no loopback filter, no hairpin masquerade."""
    mapping = publish("127.0.0.1:8081:81")[0]
    routed = _firewall.Publish(mapping.mapping, mapping.target, mapping.subnet, routed=True)
    assert nft.render("netns:web", [routed]) == {("elem", "exposed4", ("172.18.0.2", "tcp", "81"), None)}
    assert {(i[1], i[2], ipt.text(i[3], comments=False)) for i in ipt.render("netns:web", [routed])} == {
        ("filter", "NETMODES-PUBLISHED", "-d 172.18.0.2/32 -p tcp -m tcp --dport 81 -j ACCEPT")}


HOST_IN4, HOST_IN6 = ([_meta("nfproto", family), {"drop": None}] for family in ("ipv4", "ipv6"))


def test_nftables_isolated_drops_the_family_into_the_host_from_the_bridge():
    """isolated is internal (the same forward chains) and, per family, host-in-BR: the host's
    input drops what arrives on the bridge, first in filter-input (before the view ports' accept
    of what was DNATed there, and the resolvers' lookup)."""
    internal = nft.bridge_chains(policy6(internal=True))
    chains = nft.bridge_chains(policy6(internal=True, mode4="isolated"))
    assert chains.pop("host-in-br-x") == [HOST_IN4]
    assert chains == internal
    assert nft.bridge_chains(policy6(internal=True, mode4="isolated", mode6="isolated"))["host-in-br-x"] == [HOST_IN4, HOST_IN6]
    items = nft.render("bridge:br-x", [policy6(internal=True, mode6="isolated")])
    assert ("elem", "host-in", ("br-x",), "jump host-in-br-x") in items
    assert ("chain", "host-in-br-x", nft._canonical([HOST_IN6])) in items
    assert nft.CHAIN_RULES["filter-input"][0] == [{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@host-in"}}]
    assert nft.chain_owner("host-in-br-x") == "bridge:br-x"
    assert not [i for i in nft.render("bridge:br-x", [policy6(internal=True)]) if "host-in" in i[1]], "nat: nothing of host-in"


def test_iptables_isolated_drops_the_family_into_the_host_from_the_bridge():
    tag = "netmodes:bridge:br-x"
    internal = ipt.render("bridge:br-x", [policy6(internal=True)])
    items = ipt.render("bridge:br-x", [policy6(internal=True, mode6="isolated")])
    drop6 = ("rule", "filter6", "NETMODES-INPUT", ipt.spec((("-i", "br-x"),), target=("DROP",), comment=tag))
    assert items - internal == {drop6}
    both = ipt.render("bridge:br-x", [policy6(internal=True, mode4="isolated", mode6="isolated")])
    assert both - internal == {drop6, ("rule", "filter", "NETMODES-INPUT", ipt.spec((("-i", "br-x"),), target=("DROP",), comment=tag))}


@pytest.mark.parametrize("backend", [nft, ipt], ids=["nftables", "iptables"])
@pytest.mark.parametrize("mode4, mode6", [("isolated", "nat"), ("nat", "isolated"), ("isolated", "isolated")])
def test_isolated_internal_networks_are_recognised_from_the_rules_alone(backend, mode4, mode6):
    wanted = _firewall.BridgePolicy("br-x", SUBNET + (SUBNET6,), internal=True, mode4=mode4, mode6=mode6)
    have = backend.render("bridge:br-x", [wanted])
    assert _firewall.recognise(backend, "br-x", wanted.subnets, have) == wanted.describe()
