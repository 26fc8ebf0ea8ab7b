# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send one VXLAN packet by hand, as any machine on a LAN can: run inside a simulated host (or a
namespace of it). Standard library only.

    vxlan_inject.py SOURCE TARGET VNI INNER_MAC INNER_SOURCE INNER_TARGET:PORT TEXT [hopopts]

sends, from underlay address SOURCE to TARGET's VXLAN port (4789), a VXLAN packet with VNI that
carries an Ethernet frame to INNER_MAC holding a UDP datagram TEXT from INNER_SOURCE to
INNER_TARGET:PORT: what a member of the overlay would receive from a peer. SOURCE and TARGET
are IPv4 or IPv6 addresses (the underlay); the inner datagram is IPv4. With ``hopopts`` (IPv6)
the packet carries a hop-by-hop options header (one PadN option) before its UDP header, as a
sender may add to pass a filter that looks for UDP right after the fixed header.
"""

from __future__ import annotations

import socket
import struct
import sys

VXLAN_PORT = 4789


def _checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def frame(mac, source, target, port, text):
    """An Ethernet frame to MAC with a UDP datagram TEXT from SOURCE to TARGET:PORT (no UDP checksum, as IPv4 allows)."""
    payload = text.encode()
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                         socket.inet_aton(source), socket.inet_aton(target))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    ethernet = bytes.fromhex(mac.replace(":", "")) + bytes.fromhex("02deadbeef01") + b"\x08\x00"
    return ethernet + header + udp


# A hop-by-hop options header as the socket option takes it: next header and length filled in by
# the kernel, then PadN (type 1) with 4 bytes of padding.
HOPOPTS = bytes([0, 0, 1, 4, 0, 0, 0, 0])


def main(argv):
    source, target, vni, mac, inner_source, inner_target, text = argv[:7]
    address, port = inner_target.rsplit(":", 1)
    packet = struct.pack("!II", 0x08000000, int(vni) << 8) + frame(mac, inner_source, address, int(port), text)
    sock = socket.socket(socket.AF_INET6 if ":" in source else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    if argv[7:] == ["hopopts"]:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, HOPOPTS)
    sock.sendto(packet, (target, VXLAN_PORT))
    sock.close()


if __name__ == "__main__":
    if len(sys.argv) not in (8, 9):
        sys.exit(__doc__)
    main(sys.argv[1:])
