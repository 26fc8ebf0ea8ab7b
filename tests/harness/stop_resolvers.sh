#!/bin/sh
# Stop the networks' resolvers (dnsmasq) of a simulated host and remove their files, as a reboot
# or the tests' reset do: run inside a simulated host only. Each is found by its pid file and
# killed only when that pid's command line names its config; then waited for until it is gone or
# a zombie (its command line goes earlier in its exit than its sockets).
for pidfile in /run/netmodes-resolver/*/dnsmasq.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  grep -qa -- "--conf-file=${pidfile%/*}/dnsmasq.conf" "/proc/$pid/cmdline" 2>/dev/null && kill "$pid"
  for _ in $(seq 100); do [ -e "/proc/$pid" ] && ! grep -q ') Z ' "/proc/$pid/stat" 2>/dev/null || break; sleep 0.05; done
done
rm -rf /run/netmodes-resolver
