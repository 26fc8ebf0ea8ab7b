#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: services
short_description: Run existing systemd services in sandboxes
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Wires each unit of O(services) to its sandbox, as C(docker run --network) puts a process in
    one. A drop-in C(UNIT.d/netmodes.conf) in O(unit_dir) gives the unit the sandbox's network
    namespace (C(NetworkNamespacePath=/run/netns/SANDBOX)) and binds the sandbox's C(hostname),
    C(hosts) and C(resolv.conf) (in C(/etc/netns/SANDBOX)) over C(/etc/hostname), C(/etc/hosts)
    and C(/etc/resolv.conf).
  - The unit is ordered after C(netmodes-restore.service) (M(netmodes.linux.boot_restore)), which
    makes the sandboxes at boot, and after the resolver of the network that answers the sandbox
    (C(netmodes-resolver@NETWORK.service)). It C(Wants=) the restore rather than C(Requires=) it,
    so that a firewall restart, which runs the restore again, does not restart the service.
  - A unit whose wiring changes is restarted (after C(systemctl daemon-reload)); one whose wiring
    is unchanged is left alone. A removed drop-in restarts its unit (if it runs) back in the host's namespace.
  - A sandbox in container mode gives its target's namespace and files; a host-mode sandbox gives
    nothing (no drop-in), its ports are checked to be free unless the unit runs; a none-mode sandbox
    gives a namespace with C(lo) only.
options:
  services:
    description:
      - "The units to wire, each C({sandbox: NAME, unit: NAME.service}), with C(state: absent) to unwire one
        (C(sandbox) is then not needed)."
      - C(unit) is a service as C(systemctl) names it (C(nginx.service), C(app@blue.service)), known to
        systemd on the host; C(sandbox) a present sandbox of O(sandboxes) that exists on the host.
    type: list
    elements: dict
    default: []
  sandboxes:
    description: The host's sandboxes, as for M(netmodes.linux.sandboxes) (C(netmodes_sandboxes)).
    type: list
    elements: dict
    default: []
  networks:
    description: The host's networks, as for M(netmodes.linux.networks); they tell which sandboxes have a resolver.
    type: list
    elements: dict
    default: []
  prune:
    description: Also remove the drop-ins this module wrote for units not in O(services), and restart those units if they run.
    type: bool
    default: false
  unit_dir:
    description: Where the drop-ins are written.
    type: path
    default: /etc/systemd/system
extends_documentation_fragment:
  - netmodes.linux.attributes
  - netmodes.linux.declaration
notes:
  - Needs systemd on the host. A drop-in of the same name that this module did not write fails the task, and is left alone.
"""

EXAMPLES = r"""
- name: Run nginx in the sandbox web
  netmodes.linux.services:
    services:
      - {sandbox: web, unit: nginx.service}
    sandboxes: "{{ netmodes_sandboxes }}"
    networks: "{{ netmodes_networks }}"
"""

RETURN = r"""
services:
  description: Each unit after the run.
  returned: always
  type: list
  elements: dict
  sample: [{"unit": "nginx.service", "sandbox": "web", "dropin": "/etc/systemd/system/nginx.service.d/netmodes.conf",
            "active": "active", "pid": 4242}]
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._resources.services import Services
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(Services)


if __name__ == "__main__":
    main()
