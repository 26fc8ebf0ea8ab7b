# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published IPv6 ports (issue 17): rendered in the IPv6 sets (nftables) and in ip6tables
(iptables), and read back by ``published()`` as the mappings they were written for."""

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.plugins.module_utils._ports import port_mapping
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.firewall_cases import NET, SUBNET6, TARGET, TARGET6

T6 = str(TARGET6)


def publish6(*specs):
    return [_firewall.Publish(port_mapping(s, "ports").for_family(6), TARGET6, SUBNET6) for s in specs]


@pytest.mark.parametrize("spec, elements", [
    ("[::]:8080:80", {("any-addr6", ("tcp", "8080"), T6), ("any-port6", ("tcp", "8080"), "80"), ("exposed6", (T6, "tcp", "80"), None)}),
    ("8080:80/udp", {("any-addr6", ("udp", "8080"), T6), ("any-port6", ("udp", "8080"), "80"), ("exposed6", (T6, "udp", "80"), None)}),
    ("[fd31::1]:8080:80/sctp", {("addr6", ("fd31::1", "sctp", "8080"), T6), ("port6", ("fd31::1", "sctp", "8080"), "80"),
                                ("exposed6", (T6, "sctp", "80"), None)}),
    ("[::]:5000-5002:5000-5002", {("range6", ("::/0", "tcp", "5000-5002"), T6), ("exposed-range6", (T6, "tcp", "5000-5002"), None)}),
])
def test_nftables_an_ipv6_port_is_elements_of_the_ipv6_sets(spec, elements):
    items = nft.render("netns:web", publish6(spec))
    assert {(name, key, value) for _kind, name, key, value in items} == elements
    for name in {e[0] for e in elements}:
        key = nft.ELEMENT_SETS[name][0]
        assert "ipv4_addr" not in key and (name.startswith("any-") or "ipv6_addr" in key)


def test_nftables_ipv6_ports_are_dnatted_with_the_ip6_family():
    published = nft.CHAIN_RULES["published"]
    six = [rule[1]["dnat"] for rule in published if rule[1]["dnat"]["family"] == "ip6"]
    assert [d["addr"]["map"]["data"] for d in six] == ["@addr6", "@any-addr6", "@range6"]
    assert published[:3] == [r for r in published if r[1]["dnat"]["family"] == "ip"], "IPv4's rules as before, first"


def test_iptables_an_ipv6_port_is_rules_in_ip6tables():
    items = ipt.render("netns:web", publish6("[fd31::1]:8080:80", "[::]:5000-5002:5000-5002/udp"))
    assert {item[1] for item in items} == {"nat6", "filter6"}
    words = sorted((item[1], item[2], ipt.text(item[3], comments=False)) for item in items)
    assert words == sorted([
        ("nat6", "NETMODES-DNAT", "-d fd31::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [%s]:80" % T6),
        ("nat6", "NETMODES-DNAT", "-p udp -m udp --dport 5000:5002 -j DNAT --to-destination %s" % T6),
        ("filter6", "NETMODES-PUBLISHED", "-d %s/128 -p tcp -m tcp --dport 80 -j ACCEPT" % T6),
        ("filter6", "NETMODES-PUBLISHED", "-d %s/128 -p udp -m udp --dport 5000:5002 -j ACCEPT" % T6),
        ("filter6", "NETMODES-REPLIES", "-s %s/128 -p tcp -m tcp --sport 80 -j ACCEPT" % T6),
        ("filter6", "NETMODES-REPLIES", "-s %s/128 -p udp -m udp --sport 5000:5002 -j ACCEPT" % T6),
        ("nat6", "NETMODES-POSTROUTING", "-s %s -d %s/128 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -j MASQUERADE" % (SUBNET6, T6)),
        ("nat6", "NETMODES-POSTROUTING",
         "-s %s -d %s/128 -p udp -m udp --dport 5000:5002 -m conntrack --ctstate DNAT -j MASQUERADE" % (SUBNET6, T6)),
    ])


SPECS6 = ["[::]:8080:80", "[fd31::1]:8081:81/udp", "[::]:5000-5002:5000-5002/sctp", "[fd31::1]:6000:7000"]


def test_published_ipv6_ports_read_back_as_the_same_mappings_beside_ipv4s(each_firewall):
    fw = each_firewall
    four = [_firewall.Publish(port_mapping("8080:80", "ports").for_family(4), TARGET, NET)]
    want = fw.render("netns:web", four + publish6(*SPECS6))
    state = fw.read()
    fw.stage(fw.changes(state, "netns:web", want, set()))
    fw.commit()
    state = fw.read()
    assert state.owned_by("netns:web") == want and state.intact()
    assert sorted(str(m) for _who, m in state.published()) == sorted(["8080:80/tcp"] + [str(port_mapping(s, "p")) for s in SPECS6])
    assert fw.after(fw.read(), "netns:web", want).published() == state.published()
    # the ports of the other family are no conflict; the same family's are
    held = state.held()
    assert held.overlapping(port_mapping("0.0.0.0:8081:81/udp", "p")) is None
    assert held.overlapping(port_mapping("[fd31::2]:8080:80", "p"))[0] == "netns:web"
