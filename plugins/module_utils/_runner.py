# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where a module meets Ansible: argument parsing, the host's lock, the engine, fail_json."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.netmodes.linux.plugins.module_utils import _adapters, _lock
from ansible_collections.netmodes.linux.plugins.module_utils._engine import converge
from ansible_collections.netmodes.linux.plugins.module_utils._errors import NetmodesError
from ansible_collections.netmodes.linux.plugins.module_utils._netlink import (
    HAS_PYROUTE2,
    PYROUTE2_IMPORT_ERROR,
    Netlink,
)

# Every module's option (documented in the attributes doc fragment): how long to wait for
# another run that holds the host's lock.
LOCK_OPTION = {"type": "int", "default": _lock.DEFAULT_TIMEOUT, "fallback": (env_fallback, [_lock.TIMEOUT_ENV])}


def read_only(resource_class, module):
    """A run that changes nothing: check mode, state=gathered, or a resource that only reads."""
    return module.check_mode or getattr(resource_class, "read_only", False) or module.params.get("state") == "gathered"


def run_module(resource_class):
    """Parse options for RESOURCE_CLASS, converge it under the host's lock and exit the module."""
    module = AnsibleModule(
        argument_spec=dict(resource_class.argument_spec, lock_timeout=LOCK_OPTION),
        mutually_exclusive=resource_class.mutually_exclusive,
        required_if=resource_class.required_if,
        required_one_of=resource_class.required_one_of,
        supports_check_mode=True,
    )
    if not HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2>=0.9"), exception=PYROUTE2_IMPORT_ERROR)
    params = dict(module.params)
    timeout = params.pop("lock_timeout")
    with Netlink() as netlink:
        try:
            # From the first read to the last write: two runs never plan on each other's half-made change.
            with _lock.host_lock(module._name, exclusive=not read_only(resource_class, module), timeout=timeout):
                adapters = _adapters.adapters(netlink, params.get("firewall_backend"))
                resource = resource_class(params, adapters, module.check_mode)
                resource.diff_mode = module._diff
                result = converge(resource)
        except NetmodesError as exc:
            module.fail_json(msg=exc.msg, **exc.details())
    if not module._diff:  # made and sent for --diff only: a host's first run would send its every file twice
        result.pop("diff", None)
    for warning in dict.fromkeys(result.pop("warnings", [])):  # a batch of resources may repeat one
        module.warn(warning)
    module.exit_json(**result)
