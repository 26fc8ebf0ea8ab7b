#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: netns
short_description: Manage sandboxes (named network namespaces)
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Creates or removes a named network namespace C(/run/netns/NAME), the sandbox a service runs
    in with C(ip netns exec NAME ...) or systemd's C(NetworkNamespacePath=).
  - A new sandbox has only C(lo), and it is up.
  - With O(share_with) the name becomes a second name of an existing sandbox (Docker's
    C(--network container:NAME)); both names then open the same namespace (same inode), and
    removing either name leaves the other working.
options:
  name:
    description:
      - Sandbox name; the namespace is mounted at C(/run/netns/NAME).
      - Letters, digits, C(_), C(.) and C(-), starting with a letter or digit (Docker's rule for
        container names). With O(state=absent), any name C(ip netns) takes.
    type: str
    required: true
  state:
    description:
      - V(present) creates the sandbox when it does not exist. An existing namespace of that name
        which the collection did not create is left as it is.
      - V(absent) removes the name. Only names created by this collection are removed.
    type: str
    choices: [present, absent]
    default: present
  share_with:
    description:
      - Name of an existing sandbox whose namespace O(name) should share (container mode).
      - Fails when O(name) already exists as a different namespace.
    type: str
extends_documentation_fragment:
  - netmodes.linux.attributes
"""

EXAMPLES = r"""
- name: Sandbox for a service
  netmodes.linux.netns:
    name: web

- name: Sidecar in web's network namespace (docker run --network container:web)
  netmodes.linux.netns:
    name: web-sidecar
    share_with: web

- name: Remove the sandbox name
  netmodes.linux.netns:
    name: web
    state: absent
"""

RETURN = r"""
sandbox:
  description: The sandbox after the run (before it, in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Sandbox name.
      type: str
      sample: web
    path:
      description: Path of the namespace mount.
      type: str
      sample: /run/netns/web
    inode:
      description: Inode of the network namespace; equal inodes mean one namespace. Null when it does not exist.
      type: int
      sample: 4026532601
    names:
      description: Every sandbox name that opens this namespace (more than one in container mode).
      type: list
      elements: str
      sample: [web, web-sidecar]
    owned:
      description: Whether the name was created by this collection.
      type: bool
operations:
  description: The ordered changes planned (and, unless in check mode, applied).
  returned: always
  type: list
  elements: dict
  sample: [{"action": "create", "object": "netns web", "after": {"path": "/run/netns/web"}}]
"""

from ansible_collections.netmodes.linux.plugins.module_utils._resources.netns import Netns
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(Netns)


if __name__ == "__main__":
    main()
