# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What every module of the collection shares: its attributes, and the lock_timeout option
    # the runner (plugins/module_utils/_runner.py) adds to each of them.
    DOCUMENTATION = r"""
options:
  lock_timeout:
    description:
      - How many seconds to wait for another netmodes.linux run on the same host to finish. Runs
        that change state hold an exclusive lock on C(/run/netmodes/lock) from their first read to
        their last write, so two playbooks converging one host at once take turns; check mode,
        C(state=gathered) and M(netmodes.linux.net_info) wait only for a run that changes state.
      - When the wait is over the task fails, naming the module and process that hold the lock.
      - The lock is root's alone (mode 0600), so that no other user can hold it.
      - The default can also be set with the environment variable C(NETMODES_LOCK_TIMEOUT).
    type: int
    default: 60
attributes:
  check_mode:
    description: Can run in check mode and return the changed status and the planned operations without modifying the target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when in diff mode.
    support: full
  idempotent:
    description: Running the task again with the same options reports no change.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: linux
notes:
  - The module returns C(operations), the ordered list of changes it planned (create, then set,
    then delete); in check mode the same list is returned and nothing is applied.
  - Objects the module creates are tagged as created by netmodes.linux (a link alias beginning
    with C(netmodes.linux), or a record under C(/run/netmodes)); C(state=absent) removes only
    tagged objects and fails on an untagged object of the same name.
requirements:
  - pyroute2 >= 0.9 on the managed host
"""
