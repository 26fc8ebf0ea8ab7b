# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benchmarks share: the simulated fleet, and running a module directly inside a host."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "harness"))

import simfleet  # noqa: E402

__all__ = ["PY", "REPO", "module", "simfleet"]

PY = sys.executable


def module(host, name, args, timeout=600):
    """Run the collection's module NAME directly inside HOST (no Ansible); (seconds, result)."""
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args})
    command = "cd %s && PYTHONPATH=%s %s plugins/modules/%s.py" % (REPO, REPO, PY, name)
    start = time.monotonic()
    proc = host.run(command, input=payload, check=False, timeout=timeout)
    elapsed = time.monotonic() - start
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit("%s printed no result: %s %s" % (name, proc.stdout[-2000:], proc.stderr[-2000:]))
    if result.get("failed"):
        raise SystemExit("%s failed: %s" % (name, result.get("msg")))
    return elapsed, result
