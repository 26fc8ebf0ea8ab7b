#!/bin/sh
# Stop the networks' resolvers (dnsmasq) of a simulated host and remove their files, as a reboot
# or the tests' reset do: run inside a simulated host only. Each is found by its pid file and
# killed only when that pid's command line names its config; then waited for (a zombie has no
# command line; /proc's files have no size to test).
for pidfile in /run/netmodes-resolver/*/dnsmasq.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  grep -qa -- "--conf-file=${pidfile%/*}/dnsmasq.conf" "/proc/$pid/cmdline" 2>/dev/null && kill "$pid"
  for _ in $(seq 100); do grep -qa . "/proc/$pid/cmdline" 2>/dev/null || break; sleep 0.05; done
done
rm -rf /run/netmodes-resolver
