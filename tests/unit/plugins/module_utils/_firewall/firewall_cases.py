# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the firewall's tests render: a bridge network's policy, published ports, an overlay's
peers and the guard, on the subnet 172.18.0.0/16 (Docker's first user network)."""

from __future__ import annotations

import ipaddress

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._ports import port_mapping

SUBNET = (ipaddress.ip_network("172.18.0.0/16"),)
TARGET, NET = ipaddress.ip_address("172.18.0.2"), ipaddress.ip_network("172.18.0.0/16")


def publish(*specs):
    return [_firewall.Publish(port_mapping(s, "ports"), TARGET, NET) for s in specs]


def policy(**options):
    return _firewall.BridgePolicy("br-x", SUBNET, **options)


PEERS = _firewall.VxlanPeers("vx0", 4242, 4789, 4, (ipaddress.ip_address("10.231.1.12"), ipaddress.ip_address("10.231.1.13")))
GUARD = _firewall.Guard(("eth0", "eth1"), ("docker0",))

# A dual-stack network: Docker's IPv4 subnet and a ULA /64 of the tests' own (never fd00::/64).
SUBNET6 = ipaddress.ip_network("fd31:9b5e:c207:18::/64")
TARGET6 = ipaddress.ip_address("fd31:9b5e:c207:18::2")


def policy6(**options):
    return _firewall.BridgePolicy("br-x", SUBNET + (SUBNET6,), **options)
