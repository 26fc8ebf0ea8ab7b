# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a network's resolver listens (_resolver)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._declaration import network_spec

ip = ipaddress.ip_address


def test_a_bridge_network_s_resolver_listens_on_its_gateways_ipv4_first():
    spec = network_spec({"name": "back", "subnet": ["10.231.90.0/24", "fd31:90::/64"], "ipv6": True}, "n")
    assert _resolver.addresses(spec, {6: ip("fd31:90::1"), 4: ip("10.231.90.1")}) == [ip("10.231.90.1"), ip("fd31:90::1")]


def test_an_overlay_s_resolver_listens_on_the_host_s_own_address_of_its_slice():
    spec = network_spec({"name": "ov", "driver": "overlay", "subnet": "10.231.96.0/24", "hosts": "all", "max_hosts": 4}, "n")
    assert _resolver.addresses(spec, index=1) == [ip("10.231.96.64")]


def test_a_macvlan_network_has_a_resolver_only_with_a_shim():
    raw = {"name": "lan", "driver": "macvlan", "subnet": "10.231.97.0/24", "gateway": "10.231.97.254", "hosts": "all",
           "parent": "eth0", "max_hosts": 4}
    assert _resolver.addresses(network_spec(raw, "n"), index=0) == []
    assert _resolver.addresses(network_spec(dict(raw, shim=True), "n"), index=0) == [ip("10.231.97.1")]


def test_no_resolver_with_dns_false_nor_on_docker_s_default_network():
    assert _resolver.addresses(network_spec({"name": "back", "dns": False}, "n"), {4: ip("10.231.90.1")}) == []
    assert _resolver.addresses(network_spec({"name": "bridge"}, "n"), {4: ip("172.17.0.1")}) == []


NETWORKS = {spec.name: spec for spec in (network_spec(raw, "n") for raw in (
    {"name": "plain", "dns": False}, {"name": "back"}, {"name": "front"}, {"name": "bridge"},
    {"name": "lan", "driver": "macvlan", "subnet": "10.231.97.0/24", "hosts": "all", "parent": "eth0"}))}


@pytest.mark.parametrize(("networks", "expected"), [
    (("back", "front"), "back"),
    (("plain", "front", "back"), "front"),
    (("bridge",), None),
    (("lan", "plain"), None),
    (("elsewhere", "back"), "back"),
    ((), None),
], ids=["the first", "the first that has one", "Docker's default network has none", "macvlan without a shim, dns false",
        "a network not declared counts as without", "no network"])
def test_a_sandbox_asks_the_first_of_its_networks_that_has_a_resolver(networks, expected):
    assert _resolver.serving(networks, NETWORKS) == expected


def test_a_resolver_is_named_by_its_ipv4_address_else_its_ipv6_one():
    assert _resolver.nameserver([ip("10.231.90.1"), ip("fd31:90::1")]) == ip("10.231.90.1")
    assert _resolver.nameserver([ip("fd31:90::1")]) == ip("fd31:90::1")
    assert _resolver.nameserver([]) is None
