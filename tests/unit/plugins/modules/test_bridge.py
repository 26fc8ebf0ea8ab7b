# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.bridge import Bridge


def test_create_four_steps(four_steps, kernel, sysctl):
    result = four_steps(Bridge, name="br0", addresses=["172.18.0.1/16"], mtu=1450, stp=False)
    ops = [(o["action"], o["object"], o.get("field")) for o in result["operations"]]
    assert ops == [("create", "bridge br0", None), ("create", "bridge br0 firewall", None), ("set", "bridge br0", "mtu"),
                   ("set", "bridge br0", "br_stp_state"), ("set", "bridge br0", "state"), ("set", "bridge br0", "addresses"),
                   ("set", "sysctl", "net.ipv4.conf.br0.forwarding")]
    link = kernel.link("br0")
    assert link.kind == "bridge" and link.up and link.mtu == 1450 and link.ours
    assert link.addresses == interfaces(["172.18.0.1/16"], "a")
    assert result["addresses"] == ["172.18.0.1/16"] and result["exists"]


def test_forwarding_is_per_interface_never_global(converge, sysctl, firewall):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16", "fd31:9b5e:c207:18::1/64"])
    # IPv6: force_forwarding (Linux 6.17), the only per-interface switch that forwards
    assert sorted(sysctl.values) == ["net/ipv4/conf/br0/forwarding", "net/ipv6/conf/br0/force_forwarding"]
    assert all("all" not in key and "ip_forward" not in key for key in sysctl.values)


def test_a_dual_stack_bridge_has_its_policy_for_both_families_on_either_backend(converge, firewall, kernel, sysctl):
    """Once refused on the iptables backend (it wrote no ip6tables rules, issue 13 item 9): now the
    policy covers the IPv6 subnet there too, and the IPv6 uplinks forward for its masquerade."""
    kernel.links[(None, "eth0")] = Link("eth0", 99, "", 1500, "02:00:00:00:00:99", True,
                                        addresses=interfaces(["10.231.1.11/24", "fd31:9b5e:c207:1::11/64"], "a"))
    result = converge(Bridge, name="br0", addresses=["172.18.0.1/16", "fd31:9b5e:c207:18::1/64"], icc=False)
    assert result["policy"] == {"ip_masquerade": True, "icc": False, "internal": False}
    assert sysctl.values["net/ipv6/conf/eth0/force_forwarding"] == "1" and sysctl.values[ETH0] == "1"
    text = repr(firewall.listing if firewall.name == "nftables" else firewall.chains)
    assert "fd31:9b5e:c207:18::" in text, "the IPv6 subnet's masquerade"
    if firewall.name == "iptables":
        assert ("filter6", "NM-IN-br0") in firewall.chains and ("nat6", "NETMODES-POSTROUTING") in firewall.chains
    assert not converge(Bridge, name="br0", addresses=["172.18.0.1/16", "fd31:9b5e:c207:18::1/64"], icc=False)["changed"]


def test_a_new_bridge_diff_shows_only_after(converge):
    diff = converge(Bridge, check=True, name="br0", addresses=["172.18.0.1/16"])["diff"]
    assert diff["before"] == {"sysctl": {"net.ipv4.conf.br0.forwarding": {"value": "0", "users": 0}}}
    assert diff["after"]["sysctl"] == {"net.ipv4.conf.br0.forwarding": {"value": "1", "users": 1, "claimed_by": "bridge:br0"}}
    assert diff["after"]["bridge br0"]["kind"] == "bridge"
    assert diff["after"]["bridge br0"]["addresses"] == ["172.18.0.1/16"]


def test_addresses_are_the_complete_list(converge, kernel):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16", "172.19.0.1/16"])
    result = converge(Bridge, name="br0", addresses=["172.18.0.1/255.255.0.0", "172.20.0.1/16"])
    assert result["changed"]
    assert result["diff"]["before"]["bridge br0"] == {"addresses": ["172.18.0.1/16", "172.19.0.1/16"]}
    assert kernel.calls[-1] == ("addresses_set", "br0", None, ["172.20.0.1/16"], ["172.19.0.1/16"])
    assert not converge(Bridge, name="br0", addresses=["172.20.0.1/16", "172.18.0.1/16"])["changed"]


def test_omitted_options_are_left_alone(converge, kernel):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"], mtu=1450)
    assert not converge(Bridge, name="br0")["changed"]
    assert kernel.link("br0").mtu == 1450 and kernel.link("br0").addresses


def test_empty_address_list_removes_addresses(converge, kernel):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    assert converge(Bridge, name="br0", addresses=[])["changed"]
    assert kernel.link("br0").addresses == frozenset()


def test_a_link_set_down_by_hand_is_brought_up(converge, kernel):
    converge(Bridge, name="br0")
    kernel.link("br0").up = False
    result = converge(Bridge, name="br0")
    assert result["operations"] == [{"action": "set", "object": "bridge br0", "field": "state", "before": "down", "after": "up"}]


def test_a_bridge_whose_mac_follows_its_ports_gets_the_one_it_has_fixed_once(four_steps, converge, kernel):
    """A bridge the kernel lets take its lowest port's MAC changes it when a port with a lower one
    joins, and its members' neighbour entries of the gateway point nowhere until they expire (up to
    45 s without DNS or a way out). One made before bridges were made with a MAC of their own keeps
    the MAC it has, now fixed: changing it would be that same cut."""
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    assert kernel.link("br0").mac_fixed, "made with a MAC of its own"
    kernel.link("br0").mac_fixed, kernel.link("br0").mac = False, "02:00:00:00:00:03"
    result = four_steps(Bridge, name="br0", addresses=["172.18.0.1/16"])
    assert result["operations"] == [{"action": "set", "object": "bridge br0", "field": "mac",
                                     "before": "02:00:00:00:00:03 (its lowest port's)", "after": "02:00:00:00:00:03 (fixed)"}]
    assert kernel.link("br0").mac == "02:00:00:00:00:03" and kernel.link("br0").mac_fixed
    kernel.link("br0").mac_fixed = None  # not known (sysfs is another namespace's): nothing planned
    assert not converge(Bridge, name="br0", addresses=["172.18.0.1/16"])["changed"]


@pytest.mark.parametrize("link, fragment", [
    (Link("br0", 7, "bridge", 1500, "02:00:00:00:00:07", True, alias=""), "^name: bridge br0 exists but was not created by netmodes.linux"),
    (Link("br0", 7, "bridge", 1500, "02:00:00:00:00:07", True, alias="docker"), "^name: .* not created by netmodes.linux.*choose another name"),
    (Link("br0", 7, "veth", 1500, "02:00:00:00:00:07", True, alias="netmodes.linux veth"),
     "^name: bridge br0 exists but is a veth link, not a bridge; remove it or choose another name"),
])
def test_links_that_are_not_our_bridges_are_left_alone(converge, kernel, link, fragment):
    kernel.links[(None, "br0")] = link
    for state in ("present", "absent"):
        with pytest.raises(Conflict, match=fragment):
            converge(Bridge, name="br0", state=state, addresses=["172.18.0.1/16"])
    assert kernel.calls == []


@pytest.mark.parametrize("options, fragment", [
    ({"name": "a-bridge-name-too-long"}, "name: interface name 'a-bridge-name-too-long' is 22 bytes.*Choose a shorter name"),
    ({"name": "br 0"}, "name: interface name 'br 0' is not valid.*Choose another name"),
    ({"name": "br0", "addresses": ["172.18.0.1/16", "172.18.0.300/16"]},
     r"addresses\[1\]: '172.18.0.300/16' is not a valid address/prefix \(CIDR\); write it as ADDRESS/PREFIX"),
    ({"name": "br0", "addresses": ["172.18.0.1"]}, "needs a prefix length"),
    ({"name": "br0", "mtu": 20}, "mtu: MTU 20 is outside what the kernel accepts; give an MTU in 68..65535"),
])
def test_bad_input_fails_before_anything_changes(refused, options, fragment):
    refused(Bridge, InvalidInput, fragment, **options)


def test_absent_four_steps(converge, four_steps, kernel):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    result = four_steps(Bridge, name="br0", state="absent")
    assert result["diff"] == {"before": {"bridge br0": {"addresses": ["172.18.0.1/16"]},
                                         "bridge br0 firewall": {"policy": {"ip_masquerade": True, "icc": True, "internal": False}},
                                         "sysctl": {"net.ipv4.conf.br0.forwarding": {"value": "1", "users": 1}}},
                              "after": {"sysctl": {"net.ipv4.conf.br0.forwarding": {"value": "0", "users": 0, "released_by": "bridge:br0"}}}}
    assert kernel.link("br0") is None and result["exists"] is False


@pytest.fixture
def firewall(each_firewall):
    return each_firewall


def test_policy_four_steps_on_both_backends(four_steps, converge, kernel, firewall):
    four_steps(Bridge, name="br0", addresses=["172.18.0.1/16"])
    result = four_steps(Bridge, name="br0", addresses=["172.18.0.1/16"], icc=False, ip_masquerade=False)
    assert result["operations"][-1]["before"] == {"ip_masquerade": True, "icc": True, "internal": False}
    assert result["policy"] == {"ip_masquerade": False, "icc": False, "internal": False}
    assert kernel.link("br0").nf_call_iptables, "icc=false needs bridged traffic to meet the firewall"
    assert kernel.link("br0").nf_call_ip6tables is None, "an IPv4-only bridge is left as it was for IPv6"
    four_steps(Bridge, name="br0", addresses=["172.18.0.1/16", "fd31:18::1/64"], icc=False, ip_masquerade=False)
    assert kernel.link("br0").nf_call_ip6tables, "with IPv6, its IPv6 frames meet the firewall too"


def test_masquerade_follows_the_addresses_and_the_uplinks_forward(converge, kernel, sysctl, firewall):
    kernel.links[(None, "eth0")] = Link("eth0", 99, "", 1500, "02:00:00:00:00:99", True,
                                        addresses=interfaces(["10.231.1.11/24"], "a"))
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    assert sysctl.values["net/ipv4/conf/eth0/forwarding"] == "1", "replies of masqueraded connections come in on eth0"
    result = converge(Bridge, name="br0", addresses=["172.19.0.1/16"])
    assert result["operations"][-1]["before"] == "rules for other subnets or changed by hand"
    assert result["policy"]["ip_masquerade"]


def test_two_bridges_own_their_rules_and_the_last_one_out_removes_the_table(converge, firewall):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    converge(Bridge, name="br1", addresses=["172.19.0.1/16"], internal=True)
    assert firewall.owned("bridge:br0") and firewall.owned("bridge:br1")
    assert not [entry for entry in firewall.owned("bridge:br0") if entry in firewall.owned("bridge:br1")]
    converge(Bridge, name="br0", state="absent")
    assert firewall.owned("bridge:br0") == [] and firewall.table_exists()
    converge(Bridge, name="br1", state="absent")
    assert not firewall.table_exists()


def test_the_user_chain_is_never_removed_while_it_has_rules(converge, firewall):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    if firewall.name == "nftables":
        firewall.listing["nftables"].append({"rule": {"chain": "user", "expr": [{"drop": None}]}})
    else:
        firewall.chains[("filter", "NETMODES-USER")].append(ipt.spec(target=("DROP",), comment=None))
    converge(Bridge, name="br0", state="absent")
    assert firewall.table_exists(), "the user's own rules went with our last bridge"


# -- the host stays closed (issue 13, items 1 and 9) -------------------------------------------

ETH0 = "net/ipv4/conf/eth0/forwarding"


@pytest.fixture
def uplink(kernel):
    kernel.links[(None, "eth0")] = Link("eth0", 99, "", 1500, "02:00:00:00:00:99", True, addresses=interfaces(["10.231.1.11/24"], "a"))


@pytest.mark.parametrize("before", ["0", "1"], ids=["closed-host", "forwarding-host"])
def test_the_uplinks_forwarding_is_guarded_and_put_back_with_the_last_bridge(uplink, converge, sysctl, firewall, before):
    sysctl.values[ETH0] = before
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    converge(Bridge, name="br1", addresses=["172.19.0.1/16"])
    assert sysctl.values[ETH0] == "1"
    assert sysctl.ledger()[ETH0] == {"before": before, "users": ["bridge:br0", "bridge:br1"]}
    guarded = firewall.owned("sysctl:ledger")
    assert bool(guarded) == (before == "0"), "only an uplink whose forwarding we switched on is guarded"
    converge(Bridge, name="br0", state="absent")
    assert sysctl.values[ETH0] == "1", "br1 still needs it"
    converge(Bridge, name="br1", state="absent")
    assert sysctl.values[ETH0] == before and sysctl.ledger() == {}
    assert not firewall.table_exists(), "the guard went with the last sysctl it guarded"


def test_forwarding_is_switched_on_only_after_the_guard_is_committed(uplink, converge, sysctl, firewall, monkeypatch):
    seen, claim = [], sysctl.claim
    monkeypatch.setattr(sysctl, "claim", lambda key, owner, value: (seen.append((key, firewall.commits)), claim(key, owner, value)))
    commits = firewall.commits
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"])
    assert sorted(seen) == [("net/ipv4/conf/br0/forwarding", commits + 1), (ETH0, commits + 1)]


def test_the_guard_is_planned_and_shown_in_check_mode(uplink, four_steps):
    result = four_steps(Bridge, name="br0", addresses=["172.18.0.1/16"])
    (guard,) = [op for op in result["operations"] if op["object"] == "firewall guard"]
    assert guard == {"action": "create", "object": "firewall guard", "after": {"closed": {"forwarding": ["eth0"], "route_localnet": []}}}
    assert result["diff"]["after"]["sysctl"]["net.ipv4.conf.eth0.forwarding"] == {"value": "1", "users": 1, "claimed_by": "bridge:br0"}


def test_an_internal_network_switches_no_uplink(uplink, converge, sysctl, firewall):
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"], internal=True)
    assert list(sysctl.ledger()) == ["net/ipv4/conf/br0/forwarding"] and ETH0 not in sysctl.values
    assert not firewall.owned("sysctl:ledger")


@pytest.mark.parametrize("name", ["nm+", "+", "nm*", "!br"])
def test_a_wildcard_bridge_is_refused_but_one_an_older_version_made_can_go(refused, converge, kernel, name):
    """Issue 13, item 5: such a name matches other interfaces in firewall rules, so none is made;
    removal writes nothing with the name, and takes one made before names were checked."""
    refused(Bridge, InvalidInput, r"^name: interface name '%s' is not valid" % name.replace("+", r"\+").replace("*", r"\*"), name=name)
    kernel.link_add_bridge(name)
    result = converge(Bridge, name=name, state="absent")
    assert result["changed"] and kernel.link(name) is None


# -- a run killed between a bridge's link and its ledger entry (crash test, CRASH_SEED=174817) ---

BACK = "net/ipv4/conf/back/forwarding"


def _ledger_users(sysctl):
    return {key: entry["users"] for key, entry in sysctl.ledger().items()}


def test_a_bridge_of_ours_the_ledger_does_not_know_yet_is_no_uplink(uplink, converge, sysctl):
    """Killed after bridge back got its address and before it claimed its forwarding: the re-run's
    front must not claim back's forwarding as an uplink's (the tag says back is ours)."""
    converge(Bridge, name="back", addresses=["10.231.202.1/24"], internal=True)
    sysctl.entries = {}  # the claim never reached the ledger, nor the value the kernel
    sysctl.values[BACK] = "0"
    converge(Bridge, name="front", addresses=["10.231.201.1/24"])
    converge(Bridge, name="back", addresses=["10.231.202.1/24"], internal=True)
    assert _ledger_users(sysctl) == {ETH0: ["bridge:front"], BACK: ["bridge:back"],
                                     "net/ipv4/conf/front/forwarding": ["bridge:front"]}
    assert not converge(Bridge, name="front", addresses=["10.231.201.1/24"])["changed"]


def test_a_bridge_of_ours_released_but_not_yet_removed_is_no_uplink(uplink, converge, sysctl):
    """Killed after bridge back released its forwarding and before its link went: the re-run's
    front must not claim back's forwarding either (it would stay in the ledger after back goes)."""
    converge(Bridge, name="front", addresses=["10.231.201.1/24"])
    converge(Bridge, name="back", addresses=["10.231.202.1/24"], internal=True)
    sysctl.release(BACK, "bridge:back")  # the release is applied before the link's removal
    assert not converge(Bridge, name="front", addresses=["10.231.201.1/24"])["changed"]
    converge(Bridge, name="back", state="absent")
    assert BACK not in sysctl.ledger()


def test_a_bridge_not_ours_with_an_address_is_an_uplink(converge, kernel, sysctl):
    kernel.links[(None, "lan")] = Link("lan", 98, "bridge", 1500, "02:00:00:00:00:98", True,
                                       addresses=interfaces(["10.231.9.2/24"], "a"))
    converge(Bridge, name="front", addresses=["10.231.201.1/24"])
    assert sysctl.ledger()["net/ipv4/conf/lan/forwarding"]["users"] == ["bridge:front"]


def test_a_claim_on_a_bridge_of_ours_as_an_uplink_is_released(uplink, converge, sysctl):
    """What such a killed run left before: front a user of back's forwarding, which the next run puts right."""
    converge(Bridge, name="back", addresses=["10.231.202.1/24"], internal=True)
    converge(Bridge, name="front", addresses=["10.231.201.1/24"])
    sysctl.claim(BACK, "bridge:front", "1")
    assert converge(Bridge, name="front", addresses=["10.231.201.1/24"])["changed"]
    assert sysctl.ledger()[BACK]["users"] == ["bridge:back"] and sysctl.values[BACK] == "1"


def test_gateway_modes_four_steps_and_a_switch_back_leaves_exactly_the_nat_rules(four_steps, converge, firewall):
    """nat -> routed -> nat-unprotected with a trusted interface and an outbound address -> nat:
    each step is four-step idempotent, says what the rules were written for, and the last leaves
    the firewall exactly as the first did (nothing of routed mode, of the trusted interface or of
    the SNAT stays behind)."""
    dual = ["172.18.0.1/16", "fd31:18::1/64"]
    four_steps(Bridge, name="br0", addresses=dual)
    nat = firewall.read().owned_by("bridge:br0")
    result = four_steps(Bridge, name="br0", addresses=dual, gateway_mode_ipv4="routed", gateway_mode_ipv6="routed")
    assert result["operations"][-1]["before"] == {"ip_masquerade": True, "icc": True, "internal": False}
    assert result["policy"] == {"ip_masquerade": True, "icc": True, "internal": False, "gateway_mode_ipv4": "routed", "gateway_mode_ipv6": "routed"}
    result = four_steps(Bridge, name="br0", addresses=dual, gateway_mode_ipv4="nat-unprotected", trusted_host_interfaces=["eth1"],
                        host_ipv4="10.231.170.1")
    assert result["operations"][-1]["before"]["gateway_mode_ipv4"] == "routed"
    assert result["policy"] == {"ip_masquerade": True, "icc": True, "internal": False, "gateway_mode_ipv4": "nat-unprotected",
                                "trusted_host_interfaces": ["eth1"], "host_ipv4": "10.231.170.1"}
    four_steps(Bridge, name="br0", addresses=dual)
    assert firewall.read().owned_by("bridge:br0") == nat


def test_isolated_removes_the_family_s_address_and_puts_it_back_four_steps(four_steps, converge, firewall, kernel):
    """internal nat -> IPv4 isolated -> both isolated -> nat: the bridge loses exactly the isolated
    families' addresses (the firewall still covers their subnets) and gets them back; each step
    is four-step idempotent and the last leaves the rules exactly as the first."""
    dual = ["172.18.0.1/16", "fd31:18::1/64"]
    four_steps(Bridge, name="br0", addresses=dual, internal=True)
    nat = firewall.read().owned_by("bridge:br0")
    result = four_steps(Bridge, name="br0", addresses=dual, internal=True, gateway_mode_ipv4="isolated")
    assert kernel.link("br0").addresses == interfaces(["fd31:18::1/64"], "a")
    assert [o for o in result["operations"] if o.get("field") == "addresses"][0]["after"] == ["fd31:18::1/64"]
    assert result["policy"] == {"ip_masquerade": True, "icc": True, "internal": True, "gateway_mode_ipv4": "isolated"}
    result = four_steps(Bridge, name="br0", addresses=dual, internal=True, gateway_mode_ipv4="isolated", gateway_mode_ipv6="isolated")
    assert kernel.link("br0").addresses == frozenset()
    assert result["operations"][-1]["before"]["gateway_mode_ipv4"] == "isolated", "what the rules were written for, read back"
    if firewall.name == "iptables":
        assert ("filter6", "NM-IN-br0") in firewall.chains, "the IPv6 subnet keeps its rules without an IPv6 address"
    four_steps(Bridge, name="br0", addresses=dual, internal=True)
    assert kernel.link("br0").addresses == interfaces(dual, "a")
    assert firewall.read().owned_by("bridge:br0") == nat


@pytest.mark.parametrize("options, fragment", [
    ({"gateway_mode_ipv4": "routed", "internal": True}, "gateway_mode_ipv4: an internal network has no traffic to or from outside its bridge"),
    ({"gateway_mode_ipv6": "isolated"}, "gateway_mode_ipv6: isolated leaves the host's bridge without an address, which only an internal network"),
    ({"trusted_host_interfaces": ["eth1", "br*"]}, r"trusted_host_interfaces\[1\]: interface name 'br\*' is not valid"),
    ({"host_ipv6": "10.231.170.1"}, "host_ipv6: '10.231.170.1' is not an IPv6 address"),
    ({"host_ipv4": "10.231.170.1", "ip_masquerade": False}, "host_ipv4: the network has ip_masquerade: false"),
])
def test_bad_gateway_options_fail_before_anything_changes(refused, options, fragment):
    refused(Bridge, InvalidInput, fragment, name="br0", addresses=["172.18.0.1/16"], **options)
