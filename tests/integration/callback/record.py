# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: write every task result as one JSON line to $NETMODES_RECORD.

ansible-core has no JSON output callback of its own (it lives in ansible.posix), so the
integration tests enable this one beside the default callback and read the results from the
file, while the human output stays on stdout for assertions on --diff and for debugging.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: record
type: aggregate
short_description: Write task results as JSON lines (integration tests only)
description:
  - Appends one JSON object per task result to the file named by E(NETMODES_RECORD).
requirements:
  - the environment variable E(NETMODES_RECORD)
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result, status):
        path = os.environ.get("NETMODES_RECORD")
        if not path:
            return
        record = {
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "status": status,
            "result": self._convert(result._result),
        }
        with open(path, "a") as handle:
            handle.write(json.dumps(record, default=str) + "\n")

    @staticmethod
    def _convert(value):
        return json.loads(json.dumps(value, default=str))

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._write(result, "unreachable")
