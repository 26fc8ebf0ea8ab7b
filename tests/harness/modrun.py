# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run many module invocations inside one simulated host, quickly, each between two snapshots.

Started inside a host (``SimHost.run``) with the repository on PYTHONPATH, it reads one JSON
object from stdin::

    {"snapshot": true, "runs": [{"id": "...", "module": "netns", "args": {...}}, ...]}

and writes one JSON line per snapshot and per run to stdout: first ``{"snapshot": SNAPSHOT}``,
then for each run ``{"id": ID, "result": MODULE RESULT, "rc": EXIT CODE}`` followed by
``{"snapshot": SNAPSHOT}`` (no snapshots unless asked). A snapshot is the host's whole state
(tests/harness/hostsnap.py, the one the tests take); one that cannot be taken ends the program
with exit status 1 and the reason on stderr. The modules are imported once; each run is a forked child that calls the
module's ``main()`` with its arguments, exactly as Ansible's wrapper would (``AnsibleModule``
reads them from ``basic._ANSIBLE_ARGS``), so a run costs a fork instead of a Python start with
Ansible and pyroute2 imports. The child's result is what the module prints.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys

import hostsnap
from ansible.module_utils import basic

TIMEOUT = 120  # seconds a single run may take before it is killed


def _child(module, args, write_fd):
    os.dup2(write_fd, 1)
    signal.alarm(TIMEOUT)
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    basic._ANSIBLE_PROFILE = "legacy"  # what a module run by hand uses (ansible-core >= 2.19)
    code = 0
    try:
        module.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - a crash is a result too
        print(json.dumps({"failed": True, "msg": "module crashed: %r" % exc, "crashed": True}))
        code = 1
    sys.stdout.flush()
    os._exit(code)


def run(module, args):
    """(result, exit code) of MODULE's main() with ARGS, in a forked child."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(module, args, write_fd)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        out = pipe.read()
    _pid, status = os.waitpid(pid, 0)
    try:
        result = json.loads(out)
    except ValueError:
        result = {"failed": True, "msg": "no JSON result: %s" % out[-2000:]}
    return result, os.waitstatus_to_exitcode(status)


def main():
    request = json.load(sys.stdin)
    modules = {}
    for item in request["runs"]:
        if item["module"] not in modules:
            modules[item["module"]] = importlib.import_module("ansible_collections.netmodes.linux.plugins.modules." + item["module"])
    snapshots = request.get("snapshot")
    if snapshots:
        print(json.dumps({"snapshot": hostsnap.take()}), flush=True)
    for item in request["runs"]:
        result, code = run(modules[item["module"]], item["args"])
        print(json.dumps({"id": item["id"], "result": result, "rc": code}), flush=True)
        if snapshots:
            print(json.dumps({"snapshot": hostsnap.take()}), flush=True)


if __name__ == "__main__":
    try:
        main()
    except hostsnap.SnapshotError as exc:
        sys.exit("modrun: the snapshot could not be taken: %s" % exc)
