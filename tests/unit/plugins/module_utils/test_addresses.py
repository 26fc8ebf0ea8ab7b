# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The address plan: the per-host slices of multi-host networks and each host's own address."""

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _declaration

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
