# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception tree of netmodes.linux.

Errors are raised where they happen, with a message that says what failed and how to fix it.
Only the runner (``_runner.run_module``) turns them into ``fail_json``.
"""

from __future__ import annotations


class NetmodesError(Exception):
    """Root of every error the collection raises on purpose."""

    def __init__(self, msg, field=None):
        super().__init__(msg)
        self.msg = msg
        self.field = field
        # Filled in by the engine when the error interrupts an apply.
        self.operation = None
        self.applied = []

    def details(self):
        """Extra keys for ``fail_json``: the failing field, operation and what was applied."""
        out = {"error": type(self).__name__, "applied": list(self.applied)}
        if self.field:
            out["field"] = self.field
        if self.operation:
            out["operation"] = self.operation
        return out


class InvalidInput(NetmodesError):
    """A module option is malformed or contradicts another; nothing has been changed."""


class NotFound(NetmodesError):
    """An object the task refers to (a sandbox, a bridge) does not exist."""


class Conflict(NetmodesError):
    """An object is in the way: it exists but is not ours, or not of the expected kind."""


class Busy(NetmodesError):
    """Another netmodes.linux run holds the host's lock (``_lock``) longer than this run waits."""


class KernelError(NetmodesError):
    """The kernel refused an operation (a netlink or sysctl error)."""


class MissingLibrary(NetmodesError):
    """A Python library the chosen backend needs is not installed on the managed host."""

    exception = None  # the import's traceback, returned as Ansible's ``exception``

    def details(self):
        out = super().details()
        if self.exception:
            out["exception"] = self.exception
        return out
