# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sandbox's redirect to its resolver view (intents.ViewRedirect), as each backend writes it:
its queries to port 53 of its resolver, from its addresses on that device, go to the view's port;
the view ports admit what was redirected (and the host's own) only."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.test_ipt_rules import texts
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.test_resolver_access import OWNER as ACCESS_OWNER
from ansible_collections.netmodes.linux.tests.unit.plugins.module_utils._firewall.test_resolver_access import access

OWNER = _firewall.view_owner("web")
VIEW_OWNER = _firewall.view_port_owner("view:0123456789ab")
GATEWAY, GATEWAY6 = ipaddress.ip_address("172.18.0.1"), ipaddress.ip_address("fd31:9b5e:c207:18::1")


def redirect(address=GATEWAY, sources=("172.18.0.2",), port=10531):
    return _firewall.ViewRedirect("br-x", tuple(ipaddress.ip_address(s) for s in sources), address, port)


def test_nftables_maps_the_sandbox_s_queries_to_the_view_s_port():
    items = nft.render(OWNER, [redirect()])
    assert items == {("elem", "view-%s4" % kind, ("172.18.0.2", "172.18.0.1", proto, "53"), value)
                     for proto in ("udp", "tcp") for kind, value in (("addr", "172.18.0.1"), ("port", "10531"))}
    # the view ports: what was redirected is accepted before the resolvers' lookup, which drops the rest (ViewPort)
    first = nft.CHAIN_RULES["filter-input"][1]   # after the drop of isolated bridges (test_gateway_modes.py)
    assert first[-1] == {"accept": None} and first[1]["match"]["right"] == {"range": list(_firewall.intents.VIEW_PORTS)}
    view = _firewall.view_port_owner("view:abc")
    assert nft.render(view, [_firewall.ViewPort((GATEWAY, GATEWAY6), 10531)]) == {
        ("elem", "resolve%d" % a.version, (str(a), proto, "10531"), "drop") for a in (GATEWAY, GATEWAY6) for proto in ("udp", "tcp")}
    assert nft.element_json("resolve4", ("172.18.0.1", "udp", "10531"), "drop", "c")[1] == {"drop": None}


def test_iptables_writes_a_dnat_rule_per_source_and_protocol():
    items = ipt.render(OWNER, [redirect()])
    assert texts(items, "NETMODES-DNAT") == sorted(
        "-s 172.18.0.2/32 -d 172.18.0.1/32 -i br-x -p %s -m %s --dport 53 -j DNAT --to-destination 172.18.0.1:10531" % (p, p)
        for p in ("udp", "tcp"))
    six = ipt.render(OWNER, [redirect(GATEWAY6, ("fd31:9b5e:c207:18::2",))])
    assert {i[1] for i in six} == {"nat6"}
    assert all(dict(i[3][2][1])["to-destination"] == "[fd31:9b5e:c207:18::1]:10531" for i in six)
    fixed = [ipt.text(r, comments=False) for r in ipt.CHAIN_RULES[("filter", "NETMODES-INPUT")]]
    assert fixed == ["-p udp -m udp --dport 10530:10629 -m conntrack --ctstate DNAT -j ACCEPT",
                     "-p tcp -m tcp --dport 10530:10629 -m conntrack --ctstate DNAT -j ACCEPT"]
    view = ipt.render(_firewall.view_port_owner("view:abc"), [_firewall.ViewPort((GATEWAY,), 10531)])
    assert texts(view, "NETMODES-INPUT") == sorted("-d 172.18.0.1/32 -p %s -m %s --dport 10531 -j DROP" % (p, p) for p in ("udp", "tcp"))


@pytest.fixture
def firewall(each_firewall):
    return each_firewall


def test_both_backends_write_read_back_and_remove_it_alone(firewall):
    """Written beside a resolver's admission, read back as the same items, skeleton intact, and
    no published port is read from it."""
    def change(owner, want):
        state = firewall.read()
        firewall.stage(firewall.changes(state, owner, want, state.owned_by(owner)))
        firewall.commit()

    admit = firewall.render(ACCESS_OWNER, [access()])
    change(ACCESS_OWNER, admit)
    want = firewall.render(OWNER, [redirect(), redirect(GATEWAY6, ("fd31:9b5e:c207:18::2",))])
    change(OWNER, want)
    closed = firewall.render(VIEW_OWNER, [_firewall.ViewPort((GATEWAY, GATEWAY6), 10531)])
    change(VIEW_OWNER, closed)
    state = firewall.read()
    assert state.owned_by(OWNER) == want and state.intact() and state.owned_by(ACCESS_OWNER) == admit
    assert state.owned_by(VIEW_OWNER) == closed and {OWNER, VIEW_OWNER} <= state.owners()
    assert state.published() == []
    change(VIEW_OWNER, set())
    change(OWNER, set())
    state = firewall.read()
    assert state.owned_by(OWNER) == set() and state.owned_by(ACCESS_OWNER) == admit and state.intact()
