#!/bin/sh
# What a reboot loses, as far as the collection goes: run inside a simulated host only (the
# integration tests' hoststate.REBOOT and molecule's boot_restore verify both run this file).
# Namespaces, links, our firewall rules, the resolvers' processes and /run are gone; /etc stays. The sysctls a run may
# switch on go back to what the host booted with: what a new network namespace gets, as the
# simulated host got it when it started (IPv4 from the machine's, IPv6 the kernel's defaults; an
# interface's from its namespace's "default").
for ns in $(ls /run/netns 2>/dev/null); do umount -l /run/netns/$ns 2>/dev/null; rm -f /run/netns/$ns; done
rm -rf /run/netmodes
sh "$(dirname "$0")/stop_resolvers.sh"
for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
  case $l in lo|eth0) ;; *) ip link del "$l" 2>/dev/null ;; esac
done
nft delete table inet netmodes 2>/dev/null
if [ -n "$(iptables-legacy-save 2>/dev/null)" ]; then  # flushing loads the tables, which a fresh boot does not have
  for t in raw nat filter; do iptables-legacy -t $t -F 2>/dev/null; iptables-legacy -t $t -X 2>/dev/null; done
fi
for key in $(sysctl -N -a 2>/dev/null | grep -E '^net\.ipv[46]\.conf\.(all|default|eth0|lo)\.(forwarding|route_localnet)$'); do
  fresh=$(echo "$key" | sed -E 's/\.conf\.(eth0|lo)\./.conf.default./')
  sysctl -qw "$key=$(unshare --net sysctl -n "$fresh")" || exit 1
done
true
