# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's resolv.conf and hosts rules.

The expected files come from moby's own tests, not from this code's output: the golden files
of ``daemon/libnetwork/internal/resolvconf/resolvconf_test.go`` (TestRCTransformForLegacyNw,
TestRCModify, TestRCUnknownDirectives, TestRCInvalidNS) and ``etchosts/etchosts_test.go``.
Docker labels its transform "(legacy)" in the trailer; ours has no label, and our header
replaces Docker's. Everything else is byte for byte what Docker writes.
"""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _resolvconf as rc
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput

ETC = "/etc/resolv.conf"
DEFAULT_V4 = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
DEFAULT_V6 = "nameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844\n"


def ips(*texts):
    return [ipaddress.ip_address(t) for t in texts]


def docker(body, trailer, source=ETC):
    """A file as Docker writes it: (our) header, the directives, its trailer of comments."""
    return rc.HEADER + "\n" + body + "\n# Based on host file: '%s'\n" % source + trailer


CASES = [
    # id, host file, options, sandbox has IPv6, expected
    ("routable IPv4 only", "nameserver 10.0.0.1", {}, False,
     docker("nameserver 10.0.0.1\n", "# Overrides: []\n")),
    ("routable IPv4 and IPv6, sandbox with IPv6", "nameserver 10.0.0.1\nnameserver fdb6:b8fe:b528::1", {}, True,
     docker("nameserver 10.0.0.1\nnameserver fdb6:b8fe:b528::1\n", "# Overrides: []\n")),
    ("routable IPv4 and IPv6, sandbox without IPv6", "nameserver 10.0.0.1\nnameserver fdb6:b8fe:b528::1", {}, False,
     docker("nameserver 10.0.0.1\n", "# Overrides: []\n")),
    ("only the systemd-resolved stub, no IPv6", "nameserver 127.0.0.53", {}, False,
     docker(DEFAULT_V4, "# Used default nameservers.\n# Overrides: []\n")),
    ("only the systemd-resolved stub, IPv6", "nameserver 127.0.0.53", {}, True,
     docker(DEFAULT_V4 + DEFAULT_V6, "# Used default nameservers.\n# Overrides: []\n")),
    ("IPv4 and IPv6 loopback only", "nameserver 127.0.0.53\nnameserver ::1", {}, True,
     docker(DEFAULT_V4 + DEFAULT_V6, "# Used default nameservers.\n# Overrides: []\n")),
    ("loopback and routable IPv6, sandbox with IPv6", "nameserver 127.0.0.53\nnameserver fd3e:2d1a:1f5a::1", {}, True,
     docker("nameserver fd3e:2d1a:1f5a::1\n", "# Overrides: []\n")),
    ("loopback and routable IPv6, sandbox without IPv6", "nameserver 127.0.0.53\nnameserver fd3e:2d1a:1f5a::1", {}, False,
     docker(DEFAULT_V4, "# Used default nameservers.\n# Overrides: []\n")),
    ("mixed loopback and real servers", "nameserver 127.0.0.1\nnameserver 10.231.0.53\nnameserver 127.0.1.1\nnameserver 10.231.0.54",
     {}, False, docker("nameserver 10.231.0.53\nnameserver 10.231.0.54\n", "# Overrides: []\n")),
    ("explicit nameservers are kept as given, loopback and IPv6 too", "nameserver 127.0.0.53",
     {"nameservers": ips("127.0.0.1", "::1")}, False,
     docker("nameserver 127.0.0.1\nnameserver ::1\n", "# Overrides: [nameservers]\n")),
    ("empty file", "", {}, False,
     docker(DEFAULT_V4, "# Used default nameservers.\n# Overrides: []\n")),
    ("comments and unknown lines", "\n# a comment\nsomething unexpected\n; another comment\nnameserver 127.0.0.53\n"
     "options ndots:1\nunrecognised thing\n", {}, False,
     docker(DEFAULT_V4 + "options ndots:1\nsomething unexpected\nunrecognised thing\n",
            "# Used default nameservers.\n# Overrides: []\n# Option ndots from: host\n")),
    ("an invalid nameserver is dropped and noted", "nameserver 1.2.3.4.5", {}, False,
     docker(DEFAULT_V4, "# Used default nameservers.\n# Invalid nameservers: [1.2.3.4.5]\n# Overrides: []\n")),
    ("host search and options are kept", "nameserver 1.2.3.4\nsearch invalid\noptions ndots:0", {}, False,
     docker("nameserver 1.2.3.4\nsearch invalid\noptions ndots:0\n", "# Overrides: []\n# Option ndots from: host\n")),
    ("host options ndots:2 timeout:1", "nameserver 10.231.0.53\noptions ndots:2 timeout:1", {}, False,
     docker("nameserver 10.231.0.53\noptions ndots:2 timeout:1\n", "# Overrides: []\n# Option ndots from: host\n")),
    ("options ndots:2 timeout:1 replace the host's", "nameserver 10.231.0.53\noptions edns0", {"options": ["ndots:2", "timeout:1"]}, False,
     docker("nameserver 10.231.0.53\noptions ndots:2 timeout:1\n", "# Overrides: [options]\n# Option ndots from: override\n")),
    ("explicit overrides of all three", "nameserver 1.2.3.4\nsearch invalid\noptions ndots:0",
     {"nameservers": ips("2.3.4.5", "fdba:acdd:587c::53"), "search": ["com", "invalid", "example"],
      "options": ["ndots:1", "edns0", "trust-ad"]}, False,
     docker("nameserver 2.3.4.5\nnameserver fdba:acdd:587c::53\nsearch com invalid example\noptions ndots:1 edns0 trust-ad\n",
            "# Overrides: [nameservers search options]\n# Option ndots from: override\n")),
    ("empty lists are no overrides (as Docker's flags)", "nameserver 1.2.3.4\nsearch invalid\noptions ndots:0",
     {"nameservers": [], "search": [], "options": []}, False,
     docker("nameserver 1.2.3.4\nsearch invalid\noptions ndots:0\n", "# Overrides: []\n# Option ndots from: host\n")),
    ("search '.' means no search domains", "nameserver 1.2.3.4\nsearch corp.example", {"search": ["."]}, False,
     docker("nameserver 1.2.3.4\n", "# Overrides: [search]\n")),
    ("the last search line wins, domain is its old name, options accumulate",
     "nameserver 10.0.0.1\nsearch a.example\ndomain b.example\noptions ndots:1\noptions edns0", {}, False,
     docker("nameserver 10.0.0.1\nsearch b.example\noptions ndots:1 edns0\n", "# Overrides: []\n# Option ndots from: host\n")),
    # Issue 18: the resolver of the sandbox's network is its one nameserver (Docker's 127.0.0.11)
    ("the network's resolver replaces the host's nameservers, search and options kept",
     "nameserver 10.0.0.1\nnameserver fd3e:2d1a:1f5a::1\nsearch corp.example\noptions ndots:2", {"resolver": (ips("10.231.90.1")[0], "back")}, True,
     docker("nameserver 10.231.90.1\nsearch corp.example\noptions ndots:2\n",
            "# Nameserver: the resolver of network back.\n# Overrides: []\n# Option ndots from: host\n")),
    ("a resolver, and only loopback on the host: no defaults", "nameserver 127.0.0.53", {"resolver": (ips("fd31:90::1")[0], "six")}, True,
     docker("nameserver fd31:90::1\n", "# Nameserver: the resolver of network six.\n# Overrides: []\n")),
    ("a resolver, and search and options given", "nameserver 10.0.0.1\nsearch corp.example",
     {"resolver": (ips("10.231.90.1")[0], "back"), "search": ["example"], "options": ["edns0"]}, False,
     docker("nameserver 10.231.90.1\nsearch example\noptions edns0\n", "# Nameserver: the resolver of network back.\n# Overrides: [search options]\n")),
    ("nameservers of its own win over the resolver (as before resolvers)", "nameserver 10.0.0.1",
     {"resolver": (ips("10.231.90.1")[0], "back"), "nameservers": ips("10.231.0.99")}, False,
     docker("nameserver 10.231.0.99\n", "# Overrides: [nameservers]\n")),
    ("CRLF line ends and a comment after the address", "nameserver 10.0.0.1 # primary\r\nsearch corp.example\r\n", {}, False,
     docker("nameserver 10.0.0.1\nsearch corp.example\n", "# Overrides: []\n")),
]


@pytest.mark.parametrize("text, options, ipv6, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_resolv_conf_follows_docker(text, options, ipv6, expected):
    content, _warnings = rc.resolv_conf(ETC, text, ipv6=ipv6, **options)
    assert content == expected


def test_default_nameservers_come_with_a_warning():
    _content, warnings = rc.resolv_conf(ETC, "nameserver 127.0.0.53", ipv6=False)
    (warning,) = warnings
    assert "/etc/resolv.conf leaves no nameserver a sandbox can reach" in warning
    assert "using 8.8.8.8, 8.8.4.4" in warning and "Set nameservers" in warning
    assert rc.resolv_conf(ETC, "nameserver 10.0.0.1", ipv6=False)[1] == []
    assert rc.resolv_conf(ETC, "nameserver 127.0.0.53", resolver=(ips("10.231.90.1")[0], "back"))[1] == [], "the resolver is reachable"


def reader(files):
    return files.get


@pytest.mark.parametrize("files, expected", [
    ({ETC: "nameserver 127.0.0.53\nsearch lan\n", rc.RESOLVED_RESOLV_CONF: "nameserver 10.231.0.53\n"},
     (rc.RESOLVED_RESOLV_CONF, "nameserver 10.231.0.53\n")),
    # As Docker: with the stub as only nameserver the resolved file is used even if missing.
    ({ETC: "nameserver 127.0.0.53\nsearch lan\n"}, (rc.RESOLVED_RESOLV_CONF, "")),
    ({ETC: "nameserver 127.0.0.53\nnameserver 10.231.0.1\n", rc.RESOLVED_RESOLV_CONF: "nameserver 10.231.0.53\n"},
     (ETC, "nameserver 127.0.0.53\nnameserver 10.231.0.1\n")),
    ({ETC: "nameserver 10.231.0.1\n"}, (ETC, "nameserver 10.231.0.1\n")),
    ({}, (ETC, "")),
], ids=["stub only: systemd-resolved's file", "stub only, no resolved file", "stub and another", "no stub", "no host file"])
def test_host_source_uses_systemd_resolved_file_behind_the_stub(files, expected):
    assert rc.host_source(reader(files)) == expected


def test_only_the_stub_and_no_resolved_file_gives_the_defaults_and_a_warning():
    content, warnings = rc.resolv_conf(*rc.host_source(reader({ETC: "nameserver 127.0.0.53\n"})))
    assert content == docker(DEFAULT_V4, "# Used default nameservers.\n# Overrides: []\n", source=rc.RESOLVED_RESOLV_CONF)
    assert warnings


LOCALHOST = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\n"
             "ff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")


def test_hosts_default_is_dockers():  # etchosts TestBuildDefault
    assert rc.hosts_file([]) == rc.HEADER + LOCALHOST


def test_hosts_without_ipv6_drops_ipv6_lines():  # etchosts TestBuildNoIPv6
    entries = [(ipaddress.ip_address("fdbb:c59c:d015::3"), "another.example"), (ipaddress.ip_address("10.11.12.13"), "another.example")]
    assert rc.hosts_file(entries, ipv6=False) == rc.HEADER + "127.0.0.1\tlocalhost\n10.11.12.13\tanother.example\n"


@pytest.mark.parametrize("name, domain, expected", [
    ("testhostname", "testdomainname", "testhostname.testdomainname testhostname"),  # etchosts TestUpdate
    ("web1", None, "web1"),
    ("web1.corp.example", None, "web1.corp.example web1"),  # sandbox_dns_unix.go makeHostsRecs
    (None, "corp.example", None),
])
def test_own_entries_name_each_address(name, domain, expected):
    entries = rc.own_entries(name, domain, ips("10.11.12.13", "fd12::5"))
    if expected is None:
        assert entries == []
    else:
        assert entries == [(ipaddress.ip_address("10.11.12.13"), expected), (ipaddress.ip_address("fd12::5"), expected)]


def test_own_addresses_follow_the_networks_then_ipv4_before_ipv6():
    # Docker's order (sandbox_dns_unix.go): network by network as the sandbox joined them, each
    # IPv4 then IPv6; eth10 after eth9, loopback never.
    links = {"lo": iface("127.0.0.1/8", "::1/128"), "eth10": iface("10.0.10.2/24"), "eth1": iface("fd31:1::2/64", "10.0.1.2/24"),
             "eth0": iface("fd31::2/64", "10.0.0.2/24"), "eth9": iface("10.0.9.2/24")}
    assert rc.own_addresses(links) == ips("10.0.0.2", "fd31::2", "10.0.1.2", "fd31:1::2", "10.0.9.2", "10.0.10.2")


def desired(**options):
    base = {"hostname": None, "domainname": None, "nameservers": [], "search": [], "options": [], "extra_hosts": [], "peers": []}
    return dict(base, **options)


def iface(*cidrs):
    return frozenset(ipaddress.ip_interface(c) for c in cidrs)


def test_sandbox_files_order_extra_hosts_own_then_peers():
    files, warnings = rc.sandbox_files(
        desired(hostname="web1", extra_hosts=rc.host_entries(["db:10.231.9.9"], "extra_hosts"),
                peers=rc.host_entries({"api": "10.231.5.3"}, "peers")),
        {"lo": iface("127.0.0.1/8", "::1/128"), "eth0": iface("10.231.5.2/24")},
        (ETC, "nameserver 10.231.0.53\nsearch corp.example\n"))
    assert files["hosts"] == rc.HEADER + LOCALHOST + "10.231.9.9\tdb\n10.231.5.2\tweb1\n10.231.5.3\tapi\n"
    assert files["hostname"] == "web1\n"
    assert files["resolv.conf"] == docker("nameserver 10.231.0.53\nsearch corp.example\n", "# Overrides: []\n")
    assert warnings == []


@pytest.mark.parametrize("addresses, v6_nameserver, v6_hosts", [
    ({}, False, False),                                                   # lo down: no address at all
    ({"lo": iface("127.0.0.1/8", "::1/128")}, False, True),               # ::1 only: IPv6 localhost works
    ({"lo": iface("::1/128"), "eth0": iface("fd42:231::2/64")}, True, True),
])
def test_sandbox_ipv6_decides_nameservers_and_hosts_lines(addresses, v6_nameserver, v6_hosts):
    files, _warnings = rc.sandbox_files(desired(), addresses, (ETC, "nameserver 10.0.0.1\nnameserver fd42:231::53\n"))
    assert ("nameserver fd42:231::53" in files["resolv.conf"]) == v6_nameserver
    assert ("::1\tlocalhost" in files["hosts"]) == v6_hosts
    assert "hostname" not in files


@pytest.mark.parametrize("value, expected", [
    (["db:10.231.9.9"], [("10.231.9.9", "db")]),
    (["db=10.231.9.9"], [("10.231.9.9", "db")]),
    (["db:[fd12::9]"], [("fd12::9", "db")]),
    (["db:::1"], [("::1", "db")]),
    (["db=::1"], [("::1", "db")]),
    (["db:[10.231.9.9]"], [("10.231.9.9", "db")]),
    ("db:10.231.9.9,cache:10.231.9.10", [("10.231.9.9", "db"), ("10.231.9.10", "cache")]),
    ({"db": "10.231.9.9", "cache": ["10.231.9.10", "fd12::10"]}, [("10.231.9.9", "db"), ("10.231.9.10", "cache"), ("fd12::10", "cache")]),
    ([{"name": "db", "address": "10.231.9.9"}, "cache:10.231.9.10"], [("10.231.9.9", "db"), ("10.231.9.10", "cache")]),
    (None, []),
])
def test_host_entries_take_dockers_add_host_forms(value, expected):
    assert [(str(ip), name) for ip, name in rc.host_entries(value, "extra_hosts")] == expected


@pytest.mark.parametrize("value, fragment", [
    (["db"], r"extra_hosts\[0\]: 'db' is not NAME:IP"),
    ([":10.231.9.9"], r"extra_hosts\[0\]: ':10.231.9.9' is not NAME:IP"),
    (["db:10.231.9.300"], r"extra_hosts\[0\]: '10.231.9.300' is not a valid IP address"),
    (["db:host-gateway"], "host-gateway is Docker's own name"),
    (["db_1:10.231.9.9"], r"extra_hosts\[0\]: 'db_1' is not a valid host name"),
    ({"db": "banana"}, r"extra_hosts.db: 'banana' is not a valid IP address"),
    (42, "give a list of NAME:IP strings or a dict"),
    ([{"name": "db", "ip": "10.231.9.9"}], r"extra_hosts\[0\]: an entry given as a dict has exactly the keys name and address"),
    # Issue 13, item 3: a scope id became lines of the hosts file (getent hosts bank.example gave 6.6.6.6).
    (["db:[fe80::1%x\n6.6.6.6 bank.example]"], r"^extra_hosts\[0\]: 'fe80::1%x\\n6.6.6.6 bank.example' carries a scope id"),
    (["db:fe80::1%eth0"], r"^extra_hosts\[0\]: 'fe80::1%eth0' carries a scope id, 'eth0', which means nothing here"),
    ({"db": "fe80::1%x\n6.6.6.6 bank.example"}, r"^extra_hosts.db: 'fe80::1%x\\n6.6.6.6 bank.example' carries a scope id"),
    ({"db": ["10.231.9.9", "fe80::1%x\n6.6.6.6 bank.example"]}, r"^extra_hosts.db: 'fe80::1%x\\n6.6.6.6 bank.example' carries"),
    ([{"name": "db", "address": "fe80::1%x\n6.6.6.6 bank.example"}], r"^extra_hosts\[0\]: 'fe80::1%x\\n6.6.6.6 bank.example' carries"),
    (["db\n6.6.6.6 bank.example:10.231.9.9"], r"^extra_hosts\[0\]: 'db\\n6.6.6.6 bank.example' is not a valid host name"),
    ({"db\n": "10.231.9.9"}, r"^extra_hosts.db\n: 'db\\n' is not a valid host name"),
])
def test_host_entries_reject_with_the_field(value, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        rc.host_entries(value, "extra_hosts")


def test_search_and_options_are_checked():
    # As docker's ValidateDnsSearch: a trailing dot is dropped, "." alone stays.
    assert rc.search_domains(["corp.example", ".", "lan."], "search") == ["corp.example", ".", "lan"]
    with pytest.raises(InvalidInput, match=r"search\[0\]: 'bad_domain' is not a valid host name"):
        rc.search_domains(["bad_domain"], "search")
    assert rc.resolver_options(["ndots:2", "timeout:1"], "options") == ["ndots:2", "timeout:1"]
    with pytest.raises(InvalidInput, match=r"options\[0\]: 'ndots:2 timeout:1' is not one resolver option"):
        rc.resolver_options(["ndots:2 timeout:1"], "options")
    for bad in ("corp.example\n", "corp\n.example", "\ncorp.example"):
        with pytest.raises(InvalidInput, match=r"^search\[1\]: .* is not a valid host name"):
            rc.search_domains(["lan", bad], "search")
    with pytest.raises(InvalidInput, match=r"^options\[0\]: 'ndots:1\\n' is not one resolver option"):
        rc.resolver_options(["ndots:1\n"], "options")


def test_summary_reads_back_what_the_files_say():
    files, _warnings = rc.sandbox_files(desired(hostname="web1", options=["ndots:2"]), {"eth0": iface("10.231.5.2/24")},
                                        (ETC, "nameserver 10.0.0.1\nsearch corp.example\n"))
    out = rc.summary(files)
    assert out["resolv_conf"] == {"nameservers": ["10.0.0.1"], "search": ["corp.example"], "options": ["ndots:2"]}
    assert out["hosts"] == [{"address": "127.0.0.1", "names": ["localhost"]}, {"address": "10.231.5.2", "names": ["web1"]}]
    assert out["hostname"] == "web1"
    assert rc.summary({}) == {"resolv_conf": None, "hosts": [], "hostname": None}
