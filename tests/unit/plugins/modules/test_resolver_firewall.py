# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The networks batch lets a network's members reach its resolver on this host (and no one else),
on every driver that has one, and takes that away with ``dns: false`` or the network."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks
from ansible_collections.netmodes.linux.tests.shared.multi_host import lab_host
from ansible_collections.netmodes.linux.tests.unit.plugins.modules.test_multi_host import LAN, OVERLAY, SHIM, fleet, site

BACK = {"name": "back", "subnet": ["10.231.90.0/24", "fd31:90::/64"], "ipv6": True}
ip, net = ipaddress.ip_address, ipaddress.ip_network


@pytest.fixture
def firewall(each_firewall):
    return each_firewall


@pytest.fixture
def sim2(kernel, files):
    """Host sim2 of the multi-host tests' fleet."""
    return lab_host(kernel, files, "10.231.1.12/24")


def admitted(firewall, device, addresses, subnets):
    """Whether DEVICE's admission in FIREWALL is exactly the one to ADDRESSES from SUBNETS."""
    want = firewall.render(_firewall.resolver_owner(device), [_firewall.ResolverAccess(
        device, tuple(map(ip, addresses)), tuple(map(net, subnets)), _resolver.PORT)])
    return firewall.read().owned_by(_firewall.resolver_owner(device)) == want


def test_a_bridge_network_admits_its_members_to_its_gateways(converge, firewall):
    run = converge(Networks, config=[BACK])
    assert {"action": "create", "object": "resolver back firewall", "after": {"admits": ["10.231.90.1 port 53", "fd31:90::1 port 53"]}} \
        in run["operations"]
    assert admitted(firewall, "back", ["10.231.90.1", "fd31:90::1"], ["10.231.90.0/24", "fd31:90::/64"])
    assert not converge(Networks, config=[BACK])["changed"]


def test_dns_false_admits_no_one_and_removes_what_was_there(converge, firewall):
    converge(Networks, config=[BACK])
    run = converge(Networks, config=[dict(BACK, dns=False)])
    assert [op["object"] for op in run["operations"]] == ["resolver back firewall"]
    assert "resolver:back" not in firewall.owners() and "bridge:back" in firewall.owners()
    converge(Networks, config=[{"name": "quiet", "dns": False}])
    assert "resolver:quiet" not in firewall.owners()


@pytest.mark.parametrize("remove", [{"config": [BACK], "state": "deleted"}, {"config": [], "state": "overridden"}])
def test_a_network_removed_leaves_nothing_behind(converge, firewall, kernel, remove):
    converge(Networks, config=[BACK])
    converge(Networks, **remove)
    assert kernel.link("back") is None and not firewall.owners() and not firewall.table_exists()


def test_the_admission_of_a_bridge_deleted_by_hand_is_pruned(converge, firewall, kernel):
    converge(Networks, config=[BACK])
    del kernel.links[(None, "back")]
    converge(Networks, config=[], state="overridden")
    assert not firewall.owners()


def test_docker_s_default_network_has_no_resolver(converge, firewall, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Sandboxes, config=[{"name": "legacy", "network_mode": "bridge"}], networks=[])
    assert "bridge:netmodes0" in firewall.owners() and not any(o.startswith("resolver:") for o in firewall.owners())


def test_an_overlay_admits_its_members_to_the_host_s_bridge_address(sim2, converge, firewall):
    site(converge, [OVERLAY], fleet())
    assert admitted(firewall, "ov0", ["10.231.200.16"], ["10.231.200.0/24"]), "every member of the overlay, on any host"


def test_a_macvlan_network_admits_its_members_on_the_shim_only_with_a_shim(sim2, converge, firewall):
    declared = {"sim1": [{"name": "m1", "network_mode": "lan"}], "sim2": [{"name": "m2", "network_mode": "lan"}]}
    site(converge, [LAN], fleet(("sim1", "sim2"), declared), declared)
    assert admitted(firewall, SHIM, ["10.231.1.144"], ["10.231.1.0/24"])
    site(converge, [dict(LAN, shim=False)], fleet(("sim1", "sim2"), declared), declared)
    assert "resolver:" + SHIM not in firewall.owners()
