# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where a module meets Ansible: argument parsing, the engine, fail_json."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._engine import converge
from ansible_collections.netmodes.linux.plugins.module_utils._errors import NetmodesError
from ansible_collections.netmodes.linux.plugins.module_utils._files import Files
from ansible_collections.netmodes.linux.plugins.module_utils._netlink import (
    HAS_PYROUTE2,
    PYROUTE2_IMPORT_ERROR,
    Netlink,
)
from ansible_collections.netmodes.linux.plugins.module_utils._sockets import Sockets
from ansible_collections.netmodes.linux.plugins.module_utils._sysctl import Sysctl


def run_module(resource_class):
    """Parse options for RESOURCE_CLASS, converge it and exit the module."""
    module = AnsibleModule(
        argument_spec=resource_class.argument_spec,
        mutually_exclusive=resource_class.mutually_exclusive,
        required_if=resource_class.required_if,
        required_one_of=resource_class.required_one_of,
        supports_check_mode=True,
    )
    if not HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2>=0.9"), exception=PYROUTE2_IMPORT_ERROR)
    with Netlink() as netlink:
        adapters = {"netlink": netlink, "sysctl": Sysctl(), "sockets": Sockets(), "files": Files()}
        try:
            if "firewall_backend" in resource_class.argument_spec:
                adapters["firewall"] = _firewall.backend(module.params["firewall_backend"])
            result = converge(resource_class(module.params, adapters, module.check_mode))
        except NetmodesError as exc:
            module.fail_json(msg=exc.msg, **exc.details())
    for warning in dict.fromkeys(result.pop("warnings", [])):  # a batch of resources may repeat one
        module.warn(warning)
    module.exit_json(**result)
