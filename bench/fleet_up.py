# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: how long the simulated fleet takes to come up and go down (target: 3 hosts < 1 s).

Prints numbers and asserts nothing. Run as root from the repo root: `make bench`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "harness"))

import simfleet  # noqa: E402


def measure(hosts, workdir):
    fleet = simfleet.Fleet(workdir, size=hosts)
    start = time.monotonic()
    fleet.up()
    up = time.monotonic() - start
    start = time.monotonic()
    fleet.down()
    return up, time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netmodes-bench-") as tmp:
        # Keys are made once per workdir; the first, untimed round pays for them.
        measure(1, Path(tmp) / "warm")
        print("%-6s %-7s %-12s %-12s %-12s" % ("hosts", "rounds", "up median", "up max", "down median"))
        for hosts in args.hosts:
            workdir = Path(tmp) / ("fleet-%d" % hosts)
            measure(hosts, workdir)  # key generation for this workdir
            ups, downs = zip(*(measure(hosts, workdir) for _round in range(args.rounds)), strict=True)
            print("%-6d %-7d %-12s %-12s %-12s" % (hosts, args.rounds, "%.3fs" % statistics.median(ups),
                                                   "%.3fs" % max(ups), "%.3fs" % statistics.median(downs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
