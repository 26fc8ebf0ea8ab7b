# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter netmodes.linux.fleet: what a host needs to know of the others for its multi-host networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from ansible_collections.netmodes.linux.plugins.module_utils._fleet import MULTI_HOST

DOCUMENTATION = r"""
name: fleet
short_description: The fleet a host's overlay, macvlan and ipvlan networks span, from the inventory
version_added: 0.2.0
author: netmodes.linux contributors (@netmodes)
description:
  - Collects, for every host that a multi-host network of C(netmodes_networks) names in C(hosts),
    its C(netmodes_host_index), its underlay address and its C(netmodes_sandboxes), and the
    members of the inventory groups those networks name; the roles pass the result as the
    C(fleet) option of M(netmodes.linux.networks) and M(netmodes.linux.sandboxes), so that every
    host computes the same slices, addresses and peers.
  - With C(sandboxes) (this host's C(netmodes_sandboxes)), also the members of the inventory
    groups their published ports' C(allow) lists name, with their C(addresses) (the underlay
    address and, when facts were gathered, C(ansible_default_ipv4.address) and
    C(ansible_default_ipv6.address)); the firewall admits those to such a port.
  - The underlay address of a host is C(netmodes_underlay_address), else C(ansible_host) when it
    is an IP address, else C(ansible_default_ipv4.address) when facts were gathered.
positional: hostvars, groups, host, sandboxes
options:
  _input:
    description: The networks (C(netmodes_networks)).
    type: list
    elements: dict
    required: true
  hostvars:
    description: Ansible's C(hostvars).
    type: dict
    required: true
  groups:
    description: Ansible's C(groups).
    type: dict
    required: true
  host:
    description: This host's C(inventory_hostname).
    type: str
    required: true
  sandboxes:
    description: This host's sandboxes (C(netmodes_sandboxes)), for the groups their C(publish) entries' C(allow) names.
    type: list
    elements: dict
    required: false
"""

EXAMPLES = r"""
- name: The fleet of this host's multi-host networks
  ansible.builtin.debug:
    msg: "{{ netmodes_networks | netmodes.linux.fleet(hostvars, groups, inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: C(host), C(groups) (group name to its hosts) and C(hosts) (name to index, underlay, sandboxes, addresses).
  type: dict
"""


def _ip_or_none(value):
    try:
        return str(ipaddress.ip_address(str(value).strip())) if value not in (None, "") else None
    except ValueError:
        return None


def underlay_address(variables):
    """A host's underlay address from its variables (None when the inventory gives none)."""
    explicit = variables.get("netmodes_underlay_address")
    if explicit not in (None, ""):
        return str(explicit)  # checked by the modules, which name the variable when it is wrong
    facts = variables.get("ansible_default_ipv4")
    return _ip_or_none(variables.get("ansible_host")) or _ip_or_none(facts.get("address") if isinstance(facts, Mapping) else None)


def host_addresses(variables):
    """A host's addresses for allow-lists: its underlay address and its default IPv4 and IPv6
    addresses when facts were gathered (each once)."""
    out = [_ip_or_none(underlay_address(variables))]   # a malformed one is named where it is the underlay
    for key in ("ansible_default_ipv4", "ansible_default_ipv6"):
        facts = variables.get(key)
        out.append(_ip_or_none(facts.get("address")) if isinstance(facts, Mapping) else None)
    return list(dict.fromkeys(a for a in out if a))


def allowed_groups(sandboxes):
    """The inventory group names the ``allow`` lists of SANDBOXES' published ports name (what
    is not an address or a CIDR; the modules check them)."""
    out = set()
    for sandbox in sandboxes if isinstance(sandboxes, list) else []:   # anything malformed is the module's to name
        publish = sandbox.get("publish") if isinstance(sandbox, Mapping) else None
        for entry in publish if isinstance(publish, list) else []:
            allow = entry.get("allow") if isinstance(entry, Mapping) else None
            for value in allow if isinstance(allow, list) else []:
                try:
                    ipaddress.ip_network(str(value))
                except ValueError:
                    out.add(str(value))
    return out


def fleet(networks, hostvars, groups, host, sandboxes=None):
    """The ``fleet`` option of the networks and sandboxes modules for HOST."""
    named, names = {}, set()
    for group in allowed_groups(sandboxes):
        named[group] = list(groups.get(group, [])) if group in groups else None
        names.update(named[group] or [])
    for network in networks or []:
        if not isinstance(network, Mapping) or (network.get("driver") or "bridge") not in MULTI_HOST:
            continue
        hosts = network.get("hosts")
        if isinstance(hosts, str):
            named[hosts] = list(groups.get(hosts, []))
            names.update(named[hosts])
        elif isinstance(hosts, list):
            names.update(str(h) for h in hosts)
    out = {}
    for name in sorted(names):
        if name not in hostvars:
            continue  # the modules report a host the inventory does not know
        variables = hostvars[name]
        out[name] = {"index": variables.get("netmodes_host_index"), "underlay": underlay_address(variables),
                     "sandboxes": variables.get("netmodes_sandboxes") or [], "addresses": host_addresses(variables)}
    return {"host": host, "groups": {name: members for name, members in named.items() if members is not None}, "hosts": out}


class FilterModule:
    def filters(self):
        return {"fleet": fleet}
