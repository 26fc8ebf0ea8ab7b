#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the action plugin plugins/action/fleet_check.py, which does the work on the
# controller: there is no module to run on a host.

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_check
short_description: Warn of what differs between the hosts of one overlay network (their MTUs)
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Runs on the controller, never on a host; use it once per play (C(run_once)) after the task
    that converged the hosts' networks with M(netmodes.linux.sandboxes) or M(netmodes.linux.networks)
    and registered its result. The C(sandboxes) role runs it so.
  - Each host derives an overlay network's MTU from its own underlay link (the link's MTU less 50,
    70 over IPv6) unless the network declares C(mtu), so hosts whose underlay links have
    different MTUs give one overlay different MTUs. A packet that fits the larger one is dropped
    without an error on its way to a host with the smaller one (a path MTU black hole; TCP
    connects, then large transfers hang). No host can see this alone, since each knows its own link.
  - For every overlay network whose hosts in the play reported different MTUs, a warning names
    the network's entry in C(netmodes_networks), each host with its MTU and where it comes from,
    and the C(mtu) to set on the network (the smallest its hosts' underlays carry). Hosts not in
    the play (C(--limit)), or that failed or skipped the task, are not compared.
  - Run in check mode after a check-mode converge, it warns before anything changed.
options:
  results:
    description:
      - The variable each host of the play registered the module's result in.
      - When no host of the play has it, the task fails naming it (a misspelt name would compare nothing).
    type: str
    default: _sandboxes_result
attributes:
  check_mode:
    description: Can run in check mode; it changes nothing in any mode.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
  idempotent:
    description: Running the task again with the same options reports no change.
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
notes:
  - The hosts' values come from the result key C(overlays) of M(netmodes.linux.sandboxes) (with
    C(converge_networks)) and M(netmodes.linux.networks); a declared C(mtu) larger than a host's
    underlay carries is warned of by those modules themselves, on that host, before any change.
"""

EXAMPLES = r"""
- name: Converge the host
  netmodes.linux.sandboxes:
    config: "{{ netmodes_sandboxes }}"
    networks: "{{ netmodes_networks }}"
    fleet: "{{ netmodes_networks | netmodes.linux.fleet(hostvars, groups, inventory_hostname, netmodes_sandboxes) }}"
    converge_networks: true
  register: converged

- name: Warn where the hosts of an overlay have different MTUs
  netmodes.linux.fleet_check:
    results: converged
  run_once: true
"""

RETURN = r"""
overlays:
  description: What each host of the play reported, by host and network (its MTU, whether declared, its underlay link and that link's MTU).
  returned: always
  type: dict
  sample: {"sim1": {"ov0": {"mtu": 1450, "declared": false, "underlay": {"link": "eth0", "mtu": 1500}, "carried": 1450,
                            "where": "netmodes_networks[0] (ov0)"}}}
"""
