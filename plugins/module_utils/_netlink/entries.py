# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter's vxlan remotes (bridge fdb) and neighbour entries."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._errors import NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.base import NTF_SELF, NUD_NOARP, NUD_PERMANENT, ZERO_MAC, Sockets, _reads, _writes_entries
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.wire import AF_BRIDGE


class Entries(Sockets):
    """A vxlan device's static remotes and the host's permanent neighbour entries."""

    @_reads
    def vxlan_fdb(self, name):
        """The static remotes of the host's vxlan device NAME: frozenset of (mac, dst address).

        An all-zero MAC is a default destination (one entry per remote: head-end replication).
        Entries the device learned, and those of the bridge it is a port of, are left out.
        """
        index = self._index(name)
        if index is None:
            return frozenset()
        return frozenset((msg.lladdr or ZERO_MAC, msg.dst) for msg in self._dump_neighbours(name, index, AF_BRIDGE)
                         if msg.index == index and msg.dst is not None and msg.state & NUD_PERMANENT and msg.flags & NTF_SELF)

    def _dump_neighbours(self, name, index, family=0):
        """The entries of link INDEX (NAME) as the kernel dumps them (FAMILY AF_BRIDGE: its fdb),
        over the reads' own socket: pyroute2 is imported only when an entry is written."""
        return self._call("read the %s entries of %s" % ("fdb" if family else "neighbour", name), self._wire().neighbours, index, family)

    def _fdb(self, command, name, mac, dst):
        index = self._index(name)
        if index is None:
            raise NotFound("link %s vanished while it was being configured" % name)
        self._call("%s fdb entry %s dst %s on %s" % (command, mac, dst, name), self._ipr().fdb, command, ifindex=index,
                   lladdr=mac, dst=dst, state=NUD_NOARP | NUD_PERMANENT, flags=NTF_SELF)

    @_writes_entries("vxlan_fdb")
    def fdb_add(self, name, mac, dst):
        """Send what is for MAC to the remote DST. The all-zero MAC takes one more remote (append);
        another MAC has one remote, which this sets (replace)."""
        self._fdb("append" if mac == ZERO_MAC else "replace", name, mac, dst)

    @_writes_entries("vxlan_fdb")
    def fdb_delete(self, name, mac, dst):
        """Remove one remote DST of MAC (for the all-zero MAC, the others stay)."""
        self._fdb("del", name, mac, dst)

    @_reads
    def neighbours(self, name):
        """The permanent neighbour (ARP/NDP) entries of the host's link NAME: {ip address: mac}."""
        index = self._index(name)
        if index is None:
            return {}
        return {msg.dst: msg.lladdr or "" for msg in self._dump_neighbours(name, index)
                if msg.index == index and msg.family in (2, 10) and msg.state & NUD_PERMANENT and msg.dst is not None}

    @_writes_entries("neighbours")
    def neigh_add(self, name, ip, mac):
        """Set the permanent neighbour entry IP -> MAC on the host's link NAME (add or replace)."""
        self._call("set neighbour %s on %s" % (ip, name), self._ipr().neigh, "replace", ifindex=self._index(name),
                   dst=ip, lladdr=mac, state=NUD_PERMANENT)

    @_writes_entries("neighbours")
    def neigh_delete(self, name, ip):
        """Remove the neighbour entry of IP on the host's link NAME."""
        self._call("delete neighbour %s on %s" % (ip, name), self._ipr().neigh, "del", ifindex=self._index(name), dst=ip)
