#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: networks
short_description: Every bridge network of a host in one task, like docker network create
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Converges a list of networks (the inventory's C(netmodes_networks)) in one run, each as
    M(netmodes.linux.bridge) would, so a host with many networks costs one task.
  - A network without a subnet gets the first of Docker's default pools (172.17.0.0/16 to
    172.31.0.0/16, then 192.168.0.0/16 in /20 blocks) that no route or address of the host
    overlaps; once chosen it stays, since it is the bridge's address.
  - The network called C(bridge) is Docker's default network; its bridge is C(netmodes0).
options:
  config:
    description:
      - The networks, as dicts with C(name), C(driver) (C(bridge)), C(subnet), C(gateway), C(internal),
        C(ip_masquerade), C(icc) and C(bridge_name) (default the name, which must then be a valid
        interface name).
      - All of them are validated before anything changes.
    type: list
    elements: dict
    default: []
  state:
    description:
      - V(merged) creates or updates the listed networks and leaves others alone.
      - V(overridden) also removes the collection's bridges that are not listed (pruning).
      - V(deleted) removes the listed networks. V(gathered) changes nothing and returns the networks.
    type: str
    choices: [merged, overridden, deleted, gathered]
    default: merged
  firewall_backend:
    description: The firewall to write the networks' policy to, as for M(netmodes.linux.bridge).
    type: str
    choices: [auto, nftables, iptables]
    default: auto
extends_documentation_fragment:
  - netmodes.linux.attributes
"""

EXAMPLES = r"""
- name: The host's networks
  netmodes.linux.networks:
    config:
      - {name: br0, subnet: 172.18.0.0/16}
      - {name: backend, internal: true, icc: false}
"""

RETURN = r"""
networks:
  description: The collection's networks after the run (bridge name, subnet and gateway).
  returned: always
  type: dict
  sample: {"br0": {"subnet": "172.18.0.0/16", "gateway": "172.18.0.1"}}
operations:
  description: The ordered changes planned (and, unless in check mode, applied), of every network.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module
from ansible_collections.netmodes.linux.plugins.module_utils._site import Networks


def main():
    run_module(Networks)


if __name__ == "__main__":
    main()
