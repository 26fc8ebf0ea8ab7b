# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declaration: a host's ``netmodes_networks`` (``networks``) and ``netmodes_sandboxes``
(``sandboxes``), in Docker's vocabulary, parsed and validated into typed specs (NetworkSpec,
SandboxSpec) before anything is read from the host. Pure: no adapter, no host state; what depends
on the host is checked by the preflight.
"""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._declaration.common import DEFAULT_BRIDGE, DEFAULT_NETWORK
from ansible_collections.netmodes.linux.plugins.module_utils._declaration.networks import DRIVERS, MODES_OF, NetworkSpec, bridge_of, network_spec, network_specs
from ansible_collections.netmodes.linux.plugins.module_utils._declaration.sandboxes import (
    MODES,
    SandboxSpec,
    mode_of,
    sandbox_spec,
    sandbox_specs,
    veth_name,
    with_allow_groups,
    with_host_binding,
)

__all__ = ["DEFAULT_BRIDGE", "DEFAULT_NETWORK", "DRIVERS", "MODES", "MODES_OF", "NetworkSpec", "SandboxSpec", "bridge_of", "mode_of",
           "network_spec", "network_specs", "sandbox_spec", "sandbox_specs", "veth_name", "with_allow_groups", "with_host_binding"]
