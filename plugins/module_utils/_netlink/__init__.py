# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter: the only place that talks to pyroute2 (links, addresses, routes, the
bridge fdb and neighbours): its reads (``reads``), writes (``writes``) and fdb and neighbour
entries (``entries``) over the sockets of ``base``.

The named network namespaces themselves (the /run/netns mounts and our records of them) are
the namespaces adapter's (_namespaces); the sockets opened inside them are made here, through
its ``inside``. Reads never create anything: a namespace is entered only after an exact
existence check, so that pyroute2 cannot create it behind our back.
"""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import Namespaces
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.base import (
    HAS_PYROUTE2,
    MACVLAN_MODES,
    PYROUTE2_IMPORT_ERROR,
    ZERO_MAC,
    _reads,
    _relinks,
    _writes,
)
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.entries import Entries
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.reads import Reads
from ansible_collections.netmodes.linux.plugins.module_utils._netlink.writes import Writes

__all__ = ["HAS_PYROUTE2", "MACVLAN_MODES", "PYROUTE2_IMPORT_ERROR", "ZERO_MAC", "Netlink"]


class Netlink(Reads, Writes, Entries):
    """Reads and writes links, addresses, routes, fdb entries and neighbours; offers the named
    namespaces of NAMESPACES (a _namespaces.Namespaces) as ``netns_*``."""

    def __init__(self, namespaces=None):
        super().__init__(namespaces or Namespaces())

    # -- named network namespaces: the namespaces adapter's, under the names resources call --

    def netns_inode(self, name):
        """Inode of /run/netns/NAME when it is a mounted namespace, else None (exact name)."""
        return self.namespaces.inode(name)

    @_reads
    def netns_inodes(self):
        """{name: namespace inode} of every mounted name in /run/netns, sorted by name."""
        return self.namespaces.inodes()

    def netns_names(self):
        """Every mounted namespace name, sorted."""
        return sorted(self.netns_inodes())

    def netns_made_order(self):
        """The names in /run/netns in the order they were mounted (a namespace's first name is
        the one it was made under; see _namespaces.Namespaces.made_order)."""
        return self.namespaces.made_order()

    def netns_record(self, name):
        """What our record of NAME holds (see _namespaces.Namespaces.record)."""
        return self.namespaces.record(name)

    def netns_owned(self, name):
        """True when NAME was made by this collection and still names the same namespace."""
        return self.namespaces.owned(name)

    def owned_markers(self):
        """Every name recorded as ours, also of namespaces that are gone since."""
        return self.namespaces.owned_markers()

    @_relinks
    def netns_create(self, name):
        """Create a namespace with loopback up, and record it as ours."""
        self.namespaces.create(name)
        self.netns_finish(name)

    @_relinks
    def netns_share(self, name, target):
        """Make NAME a second name of TARGET's namespace (Docker's container mode)."""
        self.namespaces.share(name, target)
        self.netns_finish(name, loopback=False)

    @_writes
    def netns_finish(self, name, loopback=True):
        """The last steps of making NAME: loopback up (not for a second name of a namespace),
        and its inode recorded, which marks it complete."""
        if loopback:
            self.link_set("lo", netns=name, state="up")
        self.namespaces.mark(name)

    @_relinks
    def netns_delete(self, name):
        """Remove the name (and our socket in it); the namespace lives on while another name or
        process holds it."""
        self._close_in(name)
        self.namespaces.delete(name)

    @_writes
    def netns_forget(self, name):
        """Drop the record that NAME is ours (its namespace is gone, or is another one now)."""
        self.namespaces.forget(name)
