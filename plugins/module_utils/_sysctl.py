# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sysctls of the current network namespace, read and written through /proc/sys."""

from __future__ import annotations

import os

from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op
from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError

# br_netfilter: "1" when packets bridged between the members of a bridge pass the IPv4 hooks too.
BRIDGE_NF_CALL = "net/bridge/bridge-nf-call-iptables"


def _path(key):
    return os.path.join("/proc/sys", *key.split("/"))


def plan(obj, have, want):
    """Ops that set each key of WANT ({key: value}) whose value in HAVE differs, for OBJ."""
    return [Op("set", obj, key.replace("/", "."), have.get(key), value, ("sysctl.set", {"key": key, "value": value}))
            for key, value in want.items() if have.get(key) != value]


def uplinks(addresses_by_link, only=None):
    """The forwarding keys of the interfaces that carry IPv4 addresses (all but lo), or only of
    those that carry one of the addresses ONLY.

    Linux decides IPv4 forwarding by the interface a packet comes in on, so a connection that
    leaves a bridge network through NAT needs it on the interface its replies come back on, and
    a published port on the interfaces its clients come in on.
    """
    keys = []
    for name, addrs in sorted(addresses_by_link.items()):
        ips = {a.ip for a in addrs if a.version == 4}
        if name != "lo" and ips and (only is None or ips & set(only)):
            keys.append("net/ipv4/conf/%s/forwarding" % name)
    return keys


class Sysctl:
    """Keys are slash separated so that interface names with dots stay intact
    (``net/ipv4/conf/br0/forwarding``)."""

    def get(self, key):
        """The value as a string, or None when the key does not exist."""
        try:
            with open(_path(key)) as handle:
                return handle.read().strip()
        except FileNotFoundError:
            return None

    def set(self, key, value):
        """Write a value; the key must exist."""
        try:
            with open(_path(key), "w") as handle:
                handle.write(str(value))
        except OSError as exc:
            raise KernelError("set sysctl %s=%s: %s" % (key.replace("/", "."), value, exc.strerror))
