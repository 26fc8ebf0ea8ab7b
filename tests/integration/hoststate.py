# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A simulated reboot, and the state a restore must bring back: the one snapshot of a host
(tests/harness/hostsnap.py) without what the kernel picks anew each time (MACs, indexes, ids)."""

from __future__ import annotations

from conftest import hostsnap, snapshot

# What a reboot loses, as far as the collection goes; run inside a simulated host only.
REBOOT = r"""
for ns in $(ls /run/netns 2>/dev/null); do umount -l /run/netns/$ns 2>/dev/null; rm -f /run/netns/$ns; done
rm -rf /run/netmodes
for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
  case $l in lo|eth0) ;; *) ip link del "$l" 2>/dev/null ;; esac
done
nft delete table inet netmodes 2>/dev/null
if [ -n "$(iptables-legacy-save 2>/dev/null)" ]; then  # flushing loads the tables, which a fresh boot does not have
  for t in raw nat filter; do iptables-legacy -t $t -F 2>/dev/null; iptables-legacy -t $t -X 2>/dev/null; done
fi
for key in $(sysctl -N -a 2>/dev/null | grep -E '^net\.ipv[46]\.conf\.(all|default|eth0|lo)\.(forwarding|route_localnet)$'); do
  sysctl -qw "$key=0"
done
true
"""


def state(host):
    """The host's whole state (tests/harness/hostsnap.py) without the ids the kernel picks anew:
    equal before a reboot and after a faithful restore."""
    return hostsnap.comparable(snapshot(host))


def diff(before, after):
    """Readable lines for where two states differ, for assertion messages."""
    return "\n".join(hostsnap.differences(before, after)[:60])
