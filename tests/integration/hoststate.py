# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A simulated reboot, and the state a restore must bring back: the one snapshot of a host
(tests/harness/hostsnap.py) without what the kernel picks anew each time (MACs, indexes, ids)."""

from __future__ import annotations

from conftest import REPO, hostsnap, snapshot

# What a reboot loses, as far as the collection goes (tests/harness/reboot.sh); run inside a simulated host only.
REBOOT = "sh %s" % (REPO / "tests" / "harness" / "reboot.sh")  # a file: it runs stop_resolvers.sh beside it


def state(host):
    """The host's whole state (tests/harness/hostsnap.py) without the ids the kernel picks anew:
    equal before a reboot and after a faithful restore."""
    return hostsnap.comparable(snapshot(host))


def diff(before, after):
    """Readable lines for where two states differ, for assertion messages."""
    return "\n".join(hostsnap.differences(before, after)[:60])
