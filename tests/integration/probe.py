# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability probes for the integration tests, run inside a simulated host or one of its
sandboxes (``ip netns exec NAME python3 probe.py ...``). Standard library only.

    probe.py serve NAME [ADDR:]PORT...
                                  answer every TCP connection on each PORT (of ADDR only, when given)
                                  with NAME and a newline, until killed (a raw socket server: no
                                  reverse DNS, unlike http.server)
    probe.py udp-log FILE ADDR:PORT
                                  append every UDP datagram received on ADDR:PORT to FILE, a line
                                  each, until killed
    probe.py wait ADDR:PORT...    return once every server answers (at most 30 s)
    probe.py probe JSON           JSON: {label: ["icmp", ADDR] or ["tcp", ADDR, PORT] or
                                  ["tcp", ADDR, PORT, SOURCE_PORT]}; prints {label: answer}, all
                                  targets at once with short timeouts: an ICMP target answers
                                  true or false, a TCP one the server's NAME or null
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = 1.5


def serve(name, ports):
    def loop(server):
        while True:
            conn, _peer = server.accept()
            try:
                conn.sendall(name.encode() + b"\n")
            finally:
                conn.close()

    threads = []
    for port in ports:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        addr, _sep, port = port.rpartition(":")
        server.bind((addr or "0.0.0.0", int(port)))
        server.listen(128)
        threads.append(threading.Thread(target=loop, args=(server,), daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def udp_log(path, endpoint):
    addr, port = endpoint.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, int(port)))
    while True:
        data, _peer = sock.recvfrom(2048)
        with open(path, "ab") as handle:
            handle.write(data.replace(b"\n", b" ") + b"\n")


def tcp(addr, port, source_port=None, timeout=TIMEOUT):
    """The first line the server at ADDR:PORT sends, or None when it cannot be reached."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if source_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("0.0.0.0", int(source_port)))
        sock.connect((addr, int(port)))
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(100)
            if not chunk:
                break
            data += chunk
        return data.decode().strip() or None
    except OSError:
        return None
    finally:
        sock.close()


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp(addresses, timeout=TIMEOUT):
    """{address: answered} for one echo request to each of ADDRESSES, sent at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    wanted = {}
    for seq, addr in enumerate(sorted(set(addresses)), 1):
        header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        payload = b"netmodes-probe"
        packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
        try:
            sock.sendto(packet, (addr, 0))
            wanted[(addr, seq)] = False
        except OSError:  # no route: not reachable
            pass
    answered = set()
    deadline = time.monotonic() + timeout
    while len(answered) < len(wanted) and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, (peer, _port) = sock.recvfrom(2048)
        except TimeoutError:
            break
        start = (data[0] & 0x0F) * 4
        kind, _code, _sum, got_ident, seq = struct.unpack("!BBHHH", data[start:start + 8])
        if kind == 0 and got_ident == ident and (peer, seq) in wanted:
            answered.add(peer)
    sock.close()
    return {addr: addr in answered for addr in addresses}


def probe(targets):
    pings = icmp([t[1] for t in targets.values() if t[0] == "icmp"]) if any(t[0] == "icmp" for t in targets.values()) else {}
    tcps = {label: t for label, t in targets.items() if t[0] == "tcp"}
    out = {label: pings[t[1]] for label, t in targets.items() if t[0] == "icmp"}
    with ThreadPoolExecutor(max_workers=max(1, len(tcps))) as pool:
        futures = {label: pool.submit(tcp, *t[1:]) for label, t in tcps.items()}
        out.update({label: future.result() for label, future in futures.items()})
    return out


def wait(endpoints, deadline=30.0):
    end = time.monotonic() + deadline
    for endpoint in endpoints:
        addr, port = endpoint.rsplit(":", 1)
        while tcp(addr, port, timeout=0.5) is None:
            if time.monotonic() > end:
                sys.exit("no answer from %s" % endpoint)
            time.sleep(0.05)


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "serve":
        serve(args[0], args[1:])
    elif command == "udp-log":
        udp_log(args[0], args[1])
    elif command == "wait":
        wait(args)
    elif command == "probe":
        print(json.dumps(probe(json.loads(args[0])), sort_keys=True))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
