# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's nftables events, as ``nft monitor`` reads them: which tell when our table is deleted.

Every committed nftables change is announced on the netlink group NFNLGRP_NFTABLES, object by
object; ``nft flush ruleset`` (which a firewall service's reload or restart begins with) and
``nft delete table inet netmodes`` announce the deletion of our table (NFT_MSG_DELTABLE). The
watch of the restore command (``_batches.restore``) waits for that, with the standard library
only (no ``nft`` binary, no pyroute2). A run of ours deletes the table only when its last object
goes, in the same run that saves the declaration without it.

What it does not see: iptables-legacy has no events, and a rule or chain deleted in our table
(``nft flush table``, ``nft delete rule``) is not the table's deletion.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time

NETLINK_NETFILTER = 12
NFNLGRP_NFTABLES = 7
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_DELTABLE = 2
NFTA_TABLE_NAME = 1
NFPROTO = {"inet": 1, "ip": 2, "ip6": 10}
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_NFGEN = 4  # nfgenmsg: family, version, resource id
_ATTR = struct.Struct("=HH")  # nlattr: length, type


def _aligned(length):
    return (length + 3) & ~3


def deleted_tables(data):
    """[(family number, table name)] of the table deletions in DATA (netlink messages as read)."""
    out, offset = [], 0
    while offset + _HEADER.size <= len(data):
        length, kind = _HEADER.unpack_from(data, offset)[:2]
        if length < _HEADER.size:
            break
        if kind == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE:
            family = data[offset + _HEADER.size]
            at, end = offset + _HEADER.size + _NFGEN, min(offset + length, len(data))
            while at + _ATTR.size <= end:
                size, attr = _ATTR.unpack_from(data, at)
                if size < _ATTR.size:
                    break
                if attr & 0x3FFF == NFTA_TABLE_NAME:
                    out.append((family, data[at + _ATTR.size:at + size].rstrip(b"\0").decode("utf-8", "replace")))
                at += _aligned(size)
        offset += _aligned(length)
    return out


class TableEvents:
    """The nftables events of this network namespace, subscribed when made; ``wait`` tells when
    the table NAME of FAMILY (``inet``) is deleted."""

    def __init__(self, family, name):
        self.table = (NFPROTO[family], name)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.bind((0, 0))
        self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)

    def _read(self, timeout):
        """Whether our table's deletion came within TIMEOUT seconds (None: until something
        came); a lost event (the socket's buffer overflowed) counts, as it may have been ours."""
        if not select.select([self.sock], [], [], timeout)[0]:
            return False
        try:
            return self.table in deleted_tables(self.sock.recv(1 << 20))
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                return True
            raise

    def wait(self, quiet=0.5, longest=5.0):
        """Block until our table is deleted, then until no event came for QUIET seconds (a flush
        and the firewall's load of its rules), LONGEST at most."""
        while not self._read(None):
            pass
        deadline = time.monotonic() + longest
        while time.monotonic() < deadline and select.select([self.sock], [], [], quiet)[0]:
            self._read(0)

    def close(self):
        self.sock.close()
