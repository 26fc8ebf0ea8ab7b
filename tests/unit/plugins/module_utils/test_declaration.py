# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declaration: the names it derives (its parsing is tested through the modules, in
test_sandboxes.py and test_multi_host.py, and in test_fleet.py)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput


def test_veth_names_are_stable_and_short():
    # The names are written out (sha256 of "SANDBOX\0NETWORK", 11 hex digits): a name that changes
    # from one version to the next would orphan every veth made before the upgrade.
    assert _declaration.veth_name("web", "br0") == "nmva697f8b15b4"
    assert _declaration.veth_name("web", "br1") == "nmv36f01ab81c1"
    assert _declaration.veth_name("a" * 200, "b" * 200) == "nmvddb1f4c7b40"


def test_a_user_defined_network_has_a_resolver_unless_it_says_dns_false():
    spec = _declaration.networks.network_spec
    assert spec({"name": "back"}, "networks[0]").dns is True
    assert spec({"name": "back", "dns": False}, "networks[0]").dns is False
    assert spec({"name": "ov", "driver": "overlay", "subnet": "10.231.96.0/24", "hosts": "all"}, "networks[0]").dns is True


def test_docker_s_default_network_never_has_a_resolver():
    spec = _declaration.networks.network_spec
    assert spec({"name": "bridge"}, "networks[0]").dns is False
    try:
        spec({"name": "bridge", "dns": True}, "networks[0]")
    except InvalidInput as exc:
        assert "dns: Docker's default network bridge has no resolver" in str(exc)
    else:
        raise AssertionError("dns: true on the default network was accepted")


def test_an_internal_network_takes_gateway_mode_isolated_per_family():
    spec = _declaration.networks.network_spec
    found = spec({"name": "vault", "internal": True, "ipv6": True, "subnet": ["10.231.50.0/24", "fd31:50::/64"],
                  "gateway_mode_ipv4": "isolated"}, "networks[0]")
    assert (dict(found.gateway_policy)["mode4"], dict(found.gateway_policy)["mode6"], found.isolated) == ("isolated", "nat", (4,))
    both = spec({"name": "vault", "internal": True, "ipv6": True, "subnet": ["10.231.50.0/24", "fd31:50::/64"],
                 "gateway_mode_ipv4": "isolated", "gateway_mode_ipv6": "isolated"}, "networks[0]")
    assert both.isolated == (4, 6)
    # an IPv6 mode of an IPv4-only network is no family of it (Docker takes it alike): no IPv6 subnet needed
    assert spec({"name": "vault", "internal": True, "subnet": "10.231.50.0/24", "gateway_mode_ipv6": "isolated"}, "networks[0]").isolated == ()


def test_a_bridge_network_takes_docker_s_gateway_options():
    spec = _declaration.networks.network_spec
    assert spec({"name": "back"}, "networks[0]").gateway_policy == (), "the defaults are kept out of the spec"
    found = dict(spec({"name": "back", "ipv6": True, "gateway_mode_ipv4": "routed", "gateway_mode_ipv6": "nat-unprotected",
                       "trusted_host_interfaces": "eth2:eth1", "host_ipv6": "fd31:170::1"}, "networks[0]").gateway_policy)
    assert found == {"mode4": "routed", "mode6": "nat-unprotected", "trusted": ("eth1", "eth2"), "snat": (ipaddress.ip_address("fd31:170::1"),)}


@pytest.mark.parametrize("raw, words", [
    ({"gateway_mode_ipv4": "bridge"}, "networks[0]: gateway_mode_ipv4: 'bridge' is not a gateway mode (choose one of nat, nat-unprotected,"
                                      " routed, isolated)"),
    # Docker: "gateway mode 'isolated' can only be used for an internal network"
    ({"gateway_mode_ipv6": "isolated"}, "networks[0]: gateway_mode_ipv6: isolated leaves the host's bridge without an address, which only"
                                        " an internal network can do"),
    ({"gateway_mode_ipv4": "isolated", "internal": False, "subnet": "10.231.50.0/24"}, "only an internal network can do"),
    ({"gateway_mode_ipv4": "isolated", "internal": True}, "networks[0]: gateway_mode_ipv4: isolated leaves the bridge without an IPv4"
                                                          " address, where a picked subnet is remembered; declare the network's IPv4 subnet"),
    ({"gateway_mode_ipv6": "isolated", "internal": True, "ipv6": True, "subnet": "10.231.50.0/24"},
     "networks[0]: gateway_mode_ipv6: isolated leaves the bridge without an IPv6 address"),
    ({"gateway_mode_ipv4": "isolated", "internal": True, "subnet": "10.231.50.0/24", "trusted_host_interfaces": ["eth1"]},
     "networks[0]: trusted_host_interfaces: an internal network has no traffic to or from"),
    ({"driver": "macvlan", "parent": "eth1", "subnet": "10.231.50.0/24", "gateway_mode_ipv4": "isolated"},
     "networks[0]: gateway_mode_ipv4: a macvlan network has no gateway_mode_ipv4: only bridge networks take it"),
    ({"gateway_mode_ipv4": "routed", "internal": True}, "networks[0]: gateway_mode_ipv4: an internal network has no traffic to or from"),
    ({"trusted_host_interfaces": ["eth+"]}, "networks[0]: trusted_host_interfaces[0]: interface name 'eth+' is not valid"),
    ({"trusted_host_interfaces": {"eth1": 1}}, "networks[0]: trusted_host_interfaces: {'eth1': 1} is not a list of interface names"),
    ({"host_ipv4": "fd31::1"}, "networks[0]: host_ipv4: 'fd31::1' is not an IPv4 address"),
    ({"host_ipv4": "10.0.0.1\n-j ACCEPT"}, "networks[0]: host_ipv4: '10.0.0.1\\n-j ACCEPT' is not an IPv4 address"),
    ({"host_ipv4": "127.0.0.1"}, "networks[0]: host_ipv4: 127.0.0.1 cannot be the source of outbound traffic (it is loopback)"),
    ({"host_ipv6": "::"}, "networks[0]: host_ipv6: :: cannot be the source of outbound traffic (it is unspecified)"),
    ({"host_ipv4": "10.231.170.1", "ip_masquerade": False}, "networks[0]: host_ipv4: the network has ip_masquerade: false"),
    ({"driver": "overlay", "subnet": "10.231.96.0/24", "hosts": "all", "gateway_mode_ipv4": "routed"},
     "networks[0]: gateway_mode_ipv4: an overlay network has no gateway_mode_ipv4: only bridge networks take it"),
])
def test_bad_gateway_options_are_refused_naming_the_entry(raw, words):
    with pytest.raises(InvalidInput) as caught:
        _declaration.networks.network_spec(dict({"name": "back"}, **raw), "networks[0]")
    assert words in str(caught.value)
