# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The address plan: the per-host slices of multi-host networks and each host's own address."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _declaration
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput

OVERLAY = {"name": "ov0", "driver": "overlay", "hosts": "ov", "subnet": "10.231.200.0/24"}


def net(**extra):
    return _declaration.network_spec(dict(OVERLAY, **extra), "config[0]")


# -- slices ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, index, block, own", [
    ({}, 0, "10.231.200.0/28", "10.231.200.1"),      # the subnet's network address is nobody's
    ({}, 1, "10.231.200.16/28", "10.231.200.16"),
    ({}, 15, "10.231.200.240/28", "10.231.200.240"),
    ({"max_hosts": 4}, 3, "10.231.200.192/26", "10.231.200.192"),
    ({"driver": "macvlan", "parent": "eth0", "gateway": "10.231.200.1", "ip_range": "10.231.200.128/25", "max_hosts": 8},
     0, "10.231.200.128/28", "10.231.200.128"),
    ({"driver": "macvlan", "parent": "eth0", "gateway": "10.231.200.1", "max_hosts": 16}, 0,
     "10.231.200.0/28", "10.231.200.2"),           # not the segment's gateway either
])
def test_each_host_owns_a_slice_and_its_first_address(extra, index, block, own):
    spec = net(**extra)
    assert str(_addresses.host_slice(spec, index)) == block
    assert str(_addresses.host_address(spec, index)) == own


def test_slices_of_different_hosts_never_overlap():
    spec = net()
    blocks = [_addresses.host_slice(spec, i) for i in range(spec.max_hosts)]
    assert all(not a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:])
    assert sum(b.num_addresses for b in blocks) == spec.subnet.num_addresses


# -- IPv6 subnets -----------------------------------------------------------------------------------

def test_a_networks_ula_is_derived_from_its_name_alike_everywhere():
    one, again, other = _addresses.ula_of("dual"), _addresses.ula_of("dual"), _addresses.ula_of("other")
    assert one == again != other
    assert one.prefixlen == 48 and one.subnet_of(ipaddress.ip_network("fd00::/8")) and one != ipaddress.ip_network("fd00::/48")
    assert _addresses.ipv6_subnet("dual", set()) == next(one.subnets(new_prefix=64))


def test_an_ipv6_subnet_skips_what_the_host_uses_and_only_that():
    first = _addresses.ipv6_subnet("dual", set())
    taken = {first, ipaddress.ip_network("10.0.0.0/8")}
    second = _addresses.ipv6_subnet("dual", taken)
    assert second != first and second.prefixlen == 64 and second.subnet_of(_addresses.ula_of("dual"))
    assert _addresses.ipv6_subnet("dual", {ipaddress.ip_network("0.0.0.0/0")}) == first, "an IPv4 route takes no IPv6 subnet"


def test_a_pool_gives_each_network_the_64_its_name_points_at():
    pool = _addresses.ipv6_pool("fd31:1234:5678::/48", "ipv6_pool")
    a, b = _addresses.ipv6_subnet("a", set(), pool), _addresses.ipv6_subnet("b", set(), pool)
    assert a.subnet_of(pool) and b.subnet_of(pool) and a != b and a.prefixlen == 64
    assert _addresses.ipv6_subnet("a", set(), pool) == a, "the same on every host"
    following = ((int(a.network_address) - int(pool.network_address) >> 64) + 1) % 2 ** 16  # the next /64, wrapping in the /48
    assert _addresses.ipv6_subnet("a", {a}, pool) == ipaddress.ip_network((int(pool.network_address) + (following << 64), 64))
    only = _addresses.ipv6_pool("fd31:1234:5678:9::/64", "ipv6_pool")
    assert _addresses.ipv6_subnet("a", set(), only) == only
    with pytest.raises(Conflict, match="no free IPv6 /64 left in fd31:1234:5678:9::/64; give the network an IPv6 subnet"):
        _addresses.ipv6_subnet("a", {only}, only)


@pytest.mark.parametrize("value", ["10.0.0.0/8", "fd31::/96", "fd31::1/64", "nonsense", "fd31::"])
def test_a_pool_is_an_ipv6_prefix_of_at_most_64(value):
    with pytest.raises(InvalidInput, match=r"ipv6_pool: .* is not an IPv6 prefix of at most /64; give one like fd31:1234:5678::/48"):
        _addresses.ipv6_pool(value, "ipv6_pool")


def test_a_networks_subnets_are_declared_else_kept_else_picked_per_family():
    spec = _declaration.network_spec({"name": "dual", "ipv6": True, "subnet": "10.231.9.0/24"}, "config[0]")
    taken = set()
    picked = _addresses.network_subnets(spec, None, taken)
    assert picked[4] == (ipaddress.ip_network("10.231.9.0/24"), ipaddress.ip_address("10.231.9.1"))
    assert picked[6][0] == _addresses.ipv6_subnet("dual", set()) and picked[6][1] == picked[6][0].network_address + 1
    assert taken == {picked[4][0], picked[6][0]}, "what is picked is taken for the next network"
    six_only = _declaration.network_spec({"name": "six", "ipv6": True, "ipv4": False, "subnet": "fd31:6::/64", "gateway": "fd31:6::fe"},
                                         "config[0]")
    assert _addresses.network_subnets(six_only, None, set()) == {6: (ipaddress.ip_network("fd31:6::/64"), ipaddress.ip_address("fd31:6::fe"))}


def test_an_isolated_family_s_subnet_is_the_declared_one_since_its_bridge_has_no_address():
    spec = _declaration.networks.network_spec({"name": "vault", "internal": True, "ipv6": True, "subnet": ["10.231.50.0/24", "fd31:50::/64"],
                                               "gateway_mode_ipv4": "isolated"}, "n")
    have = {6: (ipaddress.ip_network("fd31:50::/64"), ipaddress.ip_address("fd31:50::1"))}
    assert _addresses.with_isolated(have, spec) == {4: (ipaddress.ip_network("10.231.50.0/24"), ipaddress.ip_address("10.231.50.1")), **have}
    assert _addresses.with_isolated(have, None) == have
