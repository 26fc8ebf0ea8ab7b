# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which host ports are held by processes: /proc/net/{tcp,udp}[6] and the owners' fds.

Read in the namespace the module runs in (the host's), which is the one a published port
would shadow.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import struct

from ansible_collections.netmodes.linux.plugins.module_utils import _fs

# Host-mode sandboxes' claimed ports. On /run: claims, like the services, end at reboot.
CLAIMS = "/run/netmodes/host-ports.json"

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"


def _address(hexaddr):
    raw = bytes.fromhex(hexaddr)
    if len(raw) == 4:
        return ipaddress.ip_address(socket.inet_ntop(socket.AF_INET, raw[::-1]))
    words = struct.unpack("<4I", raw)
    return ipaddress.ip_address(socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words)))


def parse_proc_net(text, protocol):
    """[(protocol, address, port, inode)] of listening/bound sockets in a /proc/net table."""
    out = []
    wanted = TCP_LISTEN if protocol == "tcp" else UDP_UNCONNECTED
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != wanted:
            continue
        hexaddr, hexport = fields[1].split(":")
        out.append((protocol, _address(hexaddr), int(hexport, 16), int(fields[9])))
    return out


def claimed(claims, name, ports):
    """CLAIMS with the ports of host-mode sandbox NAME recorded (PORTS non-empty) or forgotten."""
    claims = dict(claims)
    if ports:
        claims[name] = [list(p) for p in ports]
    else:
        claims.pop(name, None)
    return claims


class Sockets:
    """The sockets adapter."""

    def claims(self):
        """{host-mode sandbox: [[port, protocol], ...]} recorded by earlier runs (a file of root's
        alone: one another user owns or may write records nothing)."""
        directory = _fs.owned_dir(os.path.dirname(CLAIMS))
        if directory is None:
            return {}
        with directory:
            data = directory.read_state(os.path.basename(CLAIMS))
        try:
            found = json.loads(data) if data else {}
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def claim(self, name, ports):
        """Record (PORTS non-empty) or forget the ports of host-mode sandbox NAME, atomically."""
        claims = claimed(self.claims(), name, ports)
        with _fs.owned_dir(os.path.dirname(CLAIMS), _fs.PRIVATE_DIR) as directory:
            directory.write(os.path.basename(CLAIMS), json.dumps(claims, sort_keys=True).encode("utf-8"), _fs.PRIVATE)

    def __init__(self):
        self._listeners = None

    def listeners(self):
        """[(protocol, address, port, inode)] of every TCP listener and bound UDP socket, as they
        were at the first call of this module run."""
        if self._listeners is None:
            self._listeners = self._read_listeners()
        return list(self._listeners)

    def _read_listeners(self):
        out = []
        for protocol in ("tcp", "udp"):
            for suffix in ("", "6"):
                try:
                    with open("/proc/net/%s%s" % (protocol, suffix)) as handle:
                        out += parse_proc_net(handle.read(), protocol)
                except FileNotFoundError:
                    continue
        return out

    def process_of(self, inode):
        """'name (pid N)' of a process holding the socket INODE, or None when unreadable."""
        target = "socket:[%d]" % inode
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fds = os.listdir("/proc/%s/fd" % pid)
                if any(os.readlink("/proc/%s/fd/%s" % (pid, fd)) == target for fd in fds):
                    with open("/proc/%s/comm" % pid) as handle:
                        return "%s (pid %s)" % (handle.read().strip(), pid)
            except OSError:
                continue
        return None

    @staticmethod
    def processes_in(netns_inode):
        """[(pid, command line)] of the processes whose network namespace is NETNS_INODE (by
        /proc/PID/ns/net), sorted by pid; those that cannot be read are left out."""
        out = []
        for pid in sorted(filter(str.isdigit, os.listdir("/proc")), key=int):
            try:
                if os.stat("/proc/%s/ns/net" % pid).st_ino != netns_inode:
                    continue
                with open("/proc/%s/cmdline" % pid, "rb") as handle:
                    words = handle.read().split(b"\0")
            except OSError:
                continue
            out.append((int(pid), " ".join(w.decode("utf-8", "replace") for w in words if w)))
        return out
