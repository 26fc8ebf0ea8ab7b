# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reader of the kernel's nftables events (_firewall/nft_events.py): the table deletions in a
read of netlink messages, and nothing else. Its socket is tested in the integration tests
(test_boot_restore.py), where a watch repairs a flushed firewall."""

from __future__ import annotations

import struct

from ansible_collections.netmodes.linux.plugins.module_utils._firewall.nft_events import NFPROTO, deleted_tables

NEWTABLE, DELTABLE, DELCHAIN, NEWGEN = 0, 2, 5, 16


def attr(kind, value):
    body = struct.pack("=HH", 4 + len(value), kind) + value
    return body + b"\0" * (-len(body) % 4)


def message(msg, family, *attrs):
    """A netlink message of the nftables subsystem: nlmsghdr, nfgenmsg, attributes."""
    payload = struct.pack("=BBH", family, 0, 0) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(payload), (10 << 8) | msg, 0, 0, 0) + payload


def test_the_deletions_of_tables_and_only_them():
    inet, ip = NFPROTO["inet"], NFPROTO["ip"]
    read = b"".join([
        message(DELCHAIN, inet, attr(1, b"netmodes\0"), attr(3, b"forward\0")),   # a chain of ours: not the table
        message(DELTABLE, ip, attr(1, b"theirs\0"), attr(2, struct.pack(">I", 0))),
        message(DELTABLE, inet, attr(0x8000 | 4, b""), attr(1, b"netmodes\0")),   # a flag bit on another attribute
        message(NEWTABLE, inet, attr(1, b"netmodes\0")),
        message(NEWGEN, 0, attr(1, struct.pack(">I", 7))),
    ])
    assert deleted_tables(read) == [(ip, "theirs"), (inet, "netmodes")]


def test_a_truncated_or_empty_read_gives_what_it_holds():
    whole = message(DELTABLE, NFPROTO["inet"], attr(1, b"netmodes\0"))
    assert deleted_tables(b"") == []
    assert deleted_tables(whole + whole[:10]) == [(NFPROTO["inet"], "netmodes")]
    assert deleted_tables(struct.pack("=IHHII", 0, (10 << 8) | DELTABLE, 0, 0, 0)) == [], "a length of 0 ends the read"
