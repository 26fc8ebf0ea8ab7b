# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability probes for the integration tests, run inside a simulated host or one of its
sandboxes (``ip netns exec NAME python3 probe.py ...``). Standard library only.

    probe.py serve NAME [ADDR:]PORT...
                                  answer every TCP connection on each PORT (of ADDR only, when given;
                                  else of every address, IPv4 and IPv6) with NAME and a newline,
                                  until killed (a raw socket server: no reverse DNS, unlike
                                  http.server)
    probe.py serve-udp NAME [ADDR:]PORT...
                                  answer every UDP datagram to each PORT (of ADDR only, when
                                  given) with NAME and a newline, until killed
    probe.py udp-log FILE ADDR:PORT
                                  append every UDP datagram received on ADDR:PORT to FILE, a line
                                  each, until killed
    probe.py wait ADDR:PORT...    return once every server answers (at most 30 s)
    probe.py wait-dns NAME ADDR:PORT...
                                  return once every DNS server answers a query for NAME over
                                  UDP (at most 30 s)
    probe.py watch-name NAME SERVER FILE
                                  every 0.2 s, until each has found NAME: resolve it the three
                                  ways a process does (socket.getaddrinfo in this process, a
                                  getent child, dig asking SERVER), writing {way: [address]} of
                                  those that found it to FILE (replaced at once); a process
                                  started before NAME exists
    probe.py probe JSON           JSON: {label: ["icmp", ADDR] or ["tcp", ADDR, PORT] or
                                  ["tcp", ADDR, PORT, SOURCE_PORT] or ["udp", ADDR, PORT] or
                                  ["dns-udp", ADDR, PORT, NAME] or ["dns-tcp", ADDR, PORT, NAME]};
                                  prints {label: answer}, all targets at once with short
                                  timeouts: an ICMP target answers true or false, a TCP or UDP
                                  one the server's NAME or null, a DNS one "dns" when a DNS
                                  server answers a query (whatever its answer) or null; an ADDR
                                  is IPv4 or IPv6 (ICMPv6 echo for the latter)
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import struct
import subprocess
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
        addr, _sep, port = port.rpartition(":")
        server = listener(addr, int(port))
        server.listen(128)
        threads.append(threading.Thread(target=loop, args=(server,), daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def serve_udp(name, ports):
    def loop(server):
        while True:
            _data, peer = server.recvfrom(2048)
            server.sendto(name.encode() + b"\n", peer)

    threads = []
    for port in ports:
        addr, _sep, port = port.rpartition(":")
        server = bound(socket.socket(family(addr or "0.0.0.0"), socket.SOCK_DGRAM), addr or "0.0.0.0", int(port))
        threads.append(threading.Thread(target=loop, args=(server,), daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def bound(sock, addr, port, deadline=10.0):
    """SOCK bound to ADDR:PORT, waiting for an address still tentative (IPv6's DAD) to be usable."""
    end = time.monotonic() + deadline
    while True:
        try:
            sock.bind((addr, port))
            return sock
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL or time.monotonic() > end:
                raise
            time.sleep(0.1)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def listener(addr, port):
    """A TCP socket listening on ADDR:PORT; without ADDR on every address of both families (one
    IPv6 socket that takes IPv4 too), or of IPv4 only where IPv6 is off."""
    try:
        server = socket.socket(family(addr or "::"), socket.SOCK_STREAM)
    except OSError:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if server.family == socket.AF_INET6 and not addr:
        server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    bound(server, addr or ("::" if server.family == socket.AF_INET6 else "0.0.0.0"), port)
    server.listen(128)
    return server


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
    sock = socket.socket(family(addr), socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if source_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("::" if sock.family == socket.AF_INET6 else "0.0.0.0", int(source_port)))
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


def udp(addr, port, timeout=TIMEOUT):
    """The first line the server at ADDR:PORT answers a datagram with, or None when none comes."""
    sock = socket.socket(family(addr), socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(b"netmodes-probe", (addr, int(port)))
        data, _peer = sock.recvfrom(2048)
        return data.decode().strip() or None
    except OSError:
        return None
    finally:
        sock.close()


def dns(addr, port, name, proto, timeout=TIMEOUT):
    """"dns" when a DNS server at ADDR:PORT answers an A query for NAME over PROTO (udp or tcp:
    its answer's rcode does not matter, only that it is one), else None. Ask for a name the
    server knows (a member of its network): it answers at once, forwarding nothing."""
    ident = int.from_bytes(os.urandom(2), "big")
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    query = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\x00" + struct.pack(">HH", 1, 1)
    sock = socket.socket(family(addr), socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((addr, int(port)))
        if proto == "udp":
            sock.send(query)
            data = sock.recv(2048)
        else:
            sock.sendall(struct.pack(">H", len(query)) + query)
            data = b""
            while len(data) < 14:
                chunk = sock.recv(2048)
                if not chunk:
                    break
                data += chunk
            data = data[2:]
        return "dns" if len(data) >= 12 and data[:2] == query[:2] and data[2] & 0x80 else None
    except OSError:
        return None
    finally:
        sock.close()


def watch_name(name, server, path):
    found = {}
    ways = {"getent": ["getent", "ahostsv4", name], "dig": ["dig", "+short", "+time=1", "+tries=1", "@" + server, name, "A"]}
    while len(found) < 1 + len(ways):
        if "getaddrinfo" not in found:
            try:
                found["getaddrinfo"] = sorted({info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET)})
            except socket.gaierror:
                pass
        for way, argv in ways.items():
            if way not in found:
                proc = subprocess.run(argv, capture_output=True, text=True, check=False)
                ips = sorted({line.split()[0] for line in proc.stdout.splitlines() if line.strip()})
                if proc.returncode == 0 and ips:
                    found[way] = ips
        with open(path + ".tmp", "w") as handle:
            json.dump(found, handle)
        os.replace(path + ".tmp", path)
        time.sleep(0.2)


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp(addresses, timeout=TIMEOUT):
    """{address: answered} for one echo request to each of ADDRESSES, sent at once."""
    out = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for answers in pool.map(lambda six: _icmp([a for a in addresses if (":" in a) == six], six, timeout), (False, True)):
            out.update(answers)
    return out


def _icmp(addresses, six, timeout):
    """icmp() of one family (SIX: ICMPv6, whose checksum the kernel fills in)."""
    if not addresses:
        return {}
    request, reply = (128, 129) if six else (8, 0)
    sock = socket.socket(*((socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) if six else (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)))
    ident = os.getpid() & 0xFFFF
    wanted = {}
    canonical = {a: str(ipaddress.ip_address(a)) for a in addresses}  # as recvfrom gives it
    for seq, addr in enumerate(sorted(set(canonical.values())), 1):
        header = struct.pack("!BBHHH", request, 0, 0, ident, seq)
        payload = b"netmodes-probe"
        packet = struct.pack("!BBHHH", request, 0, 0 if six else _checksum(header + payload), ident, seq) + payload
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
            data, peer = sock.recvfrom(2048)
        except TimeoutError:
            break
        peer = str(ipaddress.ip_address(peer[0].split("%")[0]))
        start = 0 if six else (data[0] & 0x0F) * 4
        kind, _code, _sum, got_ident, seq = struct.unpack("!BBHHH", data[start:start + 8])
        if kind == reply and got_ident == ident and (peer, seq) in wanted:
            answered.add(peer)
    sock.close()
    return {addr: canonical[addr] in answered for addr in addresses}


def probe(targets):
    pings = icmp([t[1] for t in targets.values() if t[0] == "icmp"]) if any(t[0] == "icmp" for t in targets.values()) else {}
    tcps = {label: t for label, t in targets.items() if t[0] in ("tcp", "udp", "dns-udp", "dns-tcp")}
    out = {label: pings[t[1]] for label, t in targets.items() if t[0] == "icmp"}
    kinds = {"tcp": tcp, "udp": udp, "dns-udp": lambda *a: dns(*a, proto="udp"), "dns-tcp": lambda *a: dns(*a, proto="tcp")}
    with ThreadPoolExecutor(max_workers=max(1, len(tcps))) as pool:
        futures = {label: pool.submit(kinds[t[0]], *t[1:]) for label, t in tcps.items()}
        out.update({label: future.result() for label, future in futures.items()})
    return out


def wait(endpoints, deadline=30.0, ask=None):
    end = time.monotonic() + deadline
    for endpoint in endpoints:
        addr, port = endpoint.rsplit(":", 1)
        while (ask or tcp)(addr, port, timeout=0.5) is None:
            if time.monotonic() > end:
                sys.exit("no answer from %s" % endpoint)
            time.sleep(0.05)


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "serve":
        serve(args[0], args[1:])
    elif command == "serve-udp":
        serve_udp(args[0], args[1:])
    elif command == "udp-log":
        udp_log(args[0], args[1])
    elif command == "wait":
        wait(args)
    elif command == "wait-dns":
        wait(args[1:], ask=lambda addr, port, timeout: dns(addr, port, args[0], "udp", timeout))
    elif command == "watch-name":
        watch_name(*args)
    elif command == "probe":
        print(json.dumps(probe(json.loads(args[0])), sort_keys=True))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
