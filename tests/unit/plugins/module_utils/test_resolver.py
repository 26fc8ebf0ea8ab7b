# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A network's resolver (_resolver): where it listens, its config, its upstream servers and its hosts file."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _fleet, _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._declaration import network_spec

ip = ipaddress.ip_address


def test_a_bridge_network_s_resolver_listens_on_its_gateways_ipv4_first():
    spec = network_spec({"name": "back", "subnet": ["10.231.90.0/24", "fd31:90::/64"], "ipv6": True}, "n")
    assert _resolver.addresses(spec, {6: ip("fd31:90::1"), 4: ip("10.231.90.1")}) == [ip("10.231.90.1"), ip("fd31:90::1")]


def test_an_overlay_s_resolver_listens_on_the_host_s_own_address_of_its_slice():
    spec = network_spec({"name": "ov", "driver": "overlay", "subnet": "10.231.96.0/24", "hosts": "all", "max_hosts": 4}, "n")
    assert _resolver.addresses(spec, index=1) == [ip("10.231.96.64")]


def test_a_macvlan_network_has_a_resolver_only_with_a_shim():
    raw = {"name": "lan", "driver": "macvlan", "subnet": "10.231.97.0/24", "gateway": "10.231.97.254", "hosts": "all",
           "parent": "eth0", "max_hosts": 4}
    assert _resolver.addresses(network_spec(raw, "n"), index=0) == []
    assert _resolver.addresses(network_spec(dict(raw, shim=True), "n"), index=0) == [ip("10.231.97.1")]


def test_no_resolver_with_dns_false_nor_on_docker_s_default_network():
    assert _resolver.addresses(network_spec({"name": "back", "dns": False}, "n"), {4: ip("10.231.90.1")}) == []
    assert _resolver.addresses(network_spec({"name": "bridge"}, "n"), {4: ip("172.17.0.1")}) == []


def test_a_resolver_does_not_listen_in_a_family_in_gateway_mode_isolated():
    """Its bridge has no address there, and its members must not reach the host: not through the
    resolver either. Isolated in every family, the network has no resolver (hosts files instead)."""
    gateways = {4: ip("10.231.90.1"), 6: ip("fd31:90::1")}
    raw = {"name": "vault", "internal": True, "ipv6": True, "subnet": ["10.231.90.0/24", "fd31:90::/64"]}
    v4 = network_spec(dict(raw, gateway_mode_ipv4="isolated"), "n")
    assert (_resolver.has_resolver(v4), _resolver.addresses(v4, gateways)) == (True, [ip("fd31:90::1")])
    both = network_spec(dict(raw, gateway_mode_ipv4="isolated", gateway_mode_ipv6="isolated"), "n")
    assert (_resolver.has_resolver(both), _resolver.addresses(both, gateways)) == (False, [])
    only4 = network_spec({"name": "vault", "internal": True, "subnet": "10.231.90.0/24", "gateway_mode_ipv4": "isolated"}, "n")
    assert not _resolver.has_resolver(only4)
    assert _resolver.serving(["vault", "back"], {"vault": only4, "back": network_spec({"name": "back"}, "n")}) == "back"


def _member(host, sandbox, ip4, ip6=None, aliases=(), present=True):
    return _fleet.Member(host, sandbox, ip(ip4), 0, tuple(aliases), present, ip(ip6) if ip6 else None)


def test_the_config_listens_on_port_53_binds_dynamically_and_reads_nothing_of_the_host_s():
    text = _resolver.config("back", [ip("10.231.90.1"), ip("fd31:90::1")], [ip("127.0.0.53")], root="/r")
    lines = text.splitlines()
    assert lines[1:] == ["port=53", "listen-address=10.231.90.1", "listen-address=fd31:90::1", "bind-dynamic", "no-hosts",
                         "no-resolv", "no-negcache", "hostsdir=/r/back/hosts", "pid-file=/r/back/dnsmasq.pid", "server=127.0.0.53"]
    assert not any(line.startswith(("dhcp", "interface")) for line in lines), "no DHCP, no interface of its own choosing"


@pytest.mark.parametrize(("resolv", "resolved", "internal", "expected"), [
    ("nameserver 10.231.0.53\nnameserver fd31:1::53\n", None, False, ["10.231.0.53", "fd31:1::53"]),
    # the resolver runs in the host's namespace: loopback servers are reachable and kept
    ("nameserver 127.0.0.1\n", None, False, ["127.0.0.1"]),
    # Docker's rule: the host names only systemd-resolved's stub, so its upstreams are used
    ("nameserver 127.0.0.53\n", "nameserver 10.231.0.54\n", False, ["10.231.0.54"]),
    ("", None, False, ["8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844"]),
    ("nameserver 10.231.0.53\n", None, True, []),
])
def test_the_upstream_servers_are_the_host_s_by_docker_s_rule_and_none_for_an_internal_network(resolv, resolved, internal, expected):
    host = {"/etc/resolv.conf": resolv, "/run/systemd/resolve/resolv.conf": resolved}
    spec = network_spec({"name": "back", "internal": internal}, "n")
    assert [str(s) for s in _resolver.servers(spec, host.get)] == expected


def test_the_hosts_file_lists_every_present_member_and_alias_on_every_host_both_families_once():
    members = [_member("h1", "web", "10.231.90.2", "fd31:90::2", aliases=("www", "shared")),
               _member("h2", "db", "10.231.90.3", aliases=("shared",)),
               _member("h2", "gone", "10.231.90.4", present=False)]
    assert _resolver.hosts("back", members).splitlines()[1:] == [
        "10.231.90.2\tweb", "fd31:90::2\tweb", "10.231.90.2\twww", "fd31:90::2\twww", "10.231.90.2\tshared",
        "fd31:90::2\tshared", "10.231.90.3\tdb", "10.231.90.3\tshared"]


def test_the_unit_template_runs_dnsmasq_on_the_network_s_config_in_the_foreground():
    assert "ExecStart=/usr/sbin/dnsmasq --keep-in-foreground --conf-file=%s/%%i/dnsmasq.conf" % _resolver.RUN_DIR in _resolver.UNIT_TEMPLATE


NETWORKS = {spec.name: spec for spec in (network_spec(raw, "n") for raw in (
    {"name": "plain", "dns": False}, {"name": "back"}, {"name": "front"}, {"name": "bridge"},
    {"name": "lan", "driver": "macvlan", "subnet": "10.231.97.0/24", "hosts": "all", "parent": "eth0"}))}


@pytest.mark.parametrize(("networks", "expected"), [
    (("back", "front"), "back"),
    (("plain", "front", "back"), "front"),
    (("bridge",), None),
    (("lan", "plain"), None),
    (("elsewhere", "back"), "back"),
    ((), None),
], ids=["the first", "the first that has one", "Docker's default network has none", "macvlan without a shim, dns false",
        "a network not declared counts as without", "no network"])
def test_a_sandbox_asks_the_first_of_its_networks_that_has_a_resolver(networks, expected):
    assert _resolver.serving(networks, NETWORKS) == expected


def test_a_resolver_is_named_by_its_ipv4_address_else_its_ipv6_one():
    assert _resolver.nameserver([ip("10.231.90.1"), ip("fd31:90::1")]) == ip("10.231.90.1")
    assert _resolver.nameserver([ip("fd31:90::1")]) == ip("fd31:90::1")
    assert _resolver.nameserver([]) is None
