#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: boot_restore
short_description: Bring a host's networks and sandboxes back after a reboot
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Network namespaces, links, addresses, routes, sysctls and firewall rules do not survive a
    reboot. This module saves the host's declaration (the inventory's C(netmodes_networks) and
    C(netmodes_sandboxes)) to O(path), and installs the command O(command) and the systemd unit
    C(netmodes-restore.service) (enabled, as C(systemctl enable) does) that applies it again at
    boot, after the firewall is loaded and before the network is online.
  - The unit runs again when a firewall service (nftables, firewalld, iptables, ip6tables,
    netfilter-persistent) restarts, reloads or starts after a stop, as each flushes our rules; only
    what is missing is made again. For a flush by hand, see O(watch), or run C(netmodes-restore).
  - The declaration is saved pinned to what the runs chose (each network's subnet and gateway,
    each sandbox's address on each network), so that the host comes back the same, and it keeps
    the entries of other runs (another playbook, an earlier inventory) while their objects exist.
    Sandboxes the restore could not make (on a network that is not declared) are left out with a
    warning.
  - The fleet its overlay, macvlan and ipvlan networks span (O(fleet), with the other hosts' indexes,
    underlay addresses and sandboxes) is saved with them, so that the restore computes the same
    addresses, peers and hosts files as the run did, without the inventory.
  - Before the declaration is saved, the restore plans it on this host (as C(netmodes-restore --check)
    would); a declaration it could not restore fails the task, and nothing is saved, rather than the
    boot.
  - The command is a Python zip application that carries the collection's engine, so the host
    needs no Ansible, only the interpreter the modules run with (and its pyroute2 and firewall
    library). C(netmodes-restore --check) prints what it would change; it takes the host's lock
    like every module.
options:
  networks:
    description: The host's networks, as for M(netmodes.linux.networks).
    type: list
    elements: dict
    default: []
  sandboxes:
    description: The host's sandboxes, as for M(netmodes.linux.sandboxes).
    type: list
    elements: dict
    default: []
  fleet:
    description:
      - The hosts the overlay, macvlan and ipvlan networks of O(networks) span, as for
        M(netmodes.linux.networks); build it with the filter netmodes.linux.fleet (the role
        netmodes.linux.boot_restore does). Not needed without such networks.
    type: dict
    default: {}
  path:
    description:
      - Where the declaration is saved.
      - Like O(command) and O(unit_dir), it must be in directories that only root can change
        (the restore runs as root at boot); another path is refused before anything changes.
    type: path
    default: /etc/netmodes/declared.json
  command:
    description: Where the restore command is installed.
    type: path
    default: /usr/local/lib/netmodes/netmodes-restore
  unit_dir:
    description: Where C(netmodes-restore.service) is written, and enabled (in C(multi-user.target.wants) and each firewall service's).
    type: path
    default: /etc/systemd/system
  watch:
    description:
      - Also install C(netmodes-watch.service) (C(netmodes-restore --watch)), which applies the declaration again when the kernel
        reports our nftables table deleted (C(nft flush ruleset)), or every 30 s on iptables-legacy (no events). V(false) removes it.
    type: bool
    default: false
  state:
    description:
      - V(absent) removes the saved declaration, the command and the units, and their directory when it is named C(netmodes) and empty.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - netmodes.linux.attributes
  - netmodes.linux.firewall
  - netmodes.linux.declaration
notes:
  - The module writes and removes only files it made itself (the declaration says it was written
    by this module, the unit begins with its header line, the command is its zip application, the
    link points to its unit). Any other file at O(path), O(command) or the unit's place fails the
    task before anything changes, and is never replaced or removed.
  - The module does not reload systemd; when the result's C(systemd) is true and something
    changed, run C(systemctl daemon-reload) (the role netmodes.linux.boot_restore does).
"""

EXAMPLES = r"""
- name: Apply the host's declaration again at every boot
  netmodes.linux.boot_restore:
    networks: "{{ netmodes_networks }}"
    sandboxes: "{{ netmodes_sandboxes }}"
    fleet: "{{ netmodes_networks | netmodes.linux.fleet(hostvars, groups, inventory_hostname) }}"
"""

RETURN = r"""
path:
  description: The saved declaration.
  returned: always
  type: str
  sample: /etc/netmodes/declared.json
command:
  description: The restore command.
  returned: always
  type: str
  sample: /usr/local/lib/netmodes/netmodes-restore
unit:
  description: The systemd unit that runs the command at boot.
  returned: always
  type: str
  sample: /etc/systemd/system/netmodes-restore.service
watch:
  description: The unit of the watch, when O(watch) is true; else null.
  returned: when O(state=present)
  type: str
  sample: /etc/systemd/system/netmodes-watch.service
systemd:
  description: Whether systemd runs the host (so that a changed unit needs C(systemctl daemon-reload)).
  returned: always
  type: bool
declared:
  description: What the restore applies, pinned to the subnets and addresses the host has.
  returned: when O(state=present)
  type: dict
  sample: {"networks": [{"name": "br0", "subnet": "172.18.0.0/16", "gateway": "172.18.0.1"}],
           "sandboxes": [{"name": "web", "network_mode": "br0", "ip": "172.18.0.2"}]}
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._batches.restore import SavedDeclaration
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(SavedDeclaration)


if __name__ == "__main__":
    main()
