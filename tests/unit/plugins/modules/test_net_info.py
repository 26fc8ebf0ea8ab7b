# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput, MissingLibrary
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.bridge import Bridge
from ansible_collections.netmodes.linux.plugins.modules.dns_config import DnsConfig
from ansible_collections.netmodes.linux.plugins.modules.net_info import NetInfo
from ansible_collections.netmodes.linux.plugins.modules.netns import Netns
from ansible_collections.netmodes.linux.plugins.modules.portmap import Portmap
from ansible_collections.netmodes.linux.plugins.modules.veth import Veth


@pytest.fixture
def firewall(each_firewall):
    return each_firewall


@pytest.fixture
def world(converge, kernel, files):
    """br0 (icc off) with web and db plugged in, web-side sharing web's namespace, a published
    port and dns files for web, and a sandbox made by hand."""
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Bridge, name="br0", addresses=["172.18.0.1/16"], mtu=1450, icc=False)
    for name, ip in (("web", "172.18.0.10"), ("db", "172.18.0.11")):
        converge(Netns, name=name)
        converge(Veth, name="veth-" + name, netns=name, bridge="br0", addresses=[ip + "/16"], gateway="172.18.0.1")
    converge(Netns, name="web-side", share_with="web")
    converge(Portmap, netns="web", bridge="br0", ports=["8080:80", "127.0.0.1:5353:53/udp"])
    converge(DnsConfig, netns="web", hostname="web1", extra_hosts=["db:172.18.0.11"])
    kernel.netns["byhand"] = 4026539999
    kernel.links[(4026539999, "lo")] = Link("lo", 1, "", 65536, "00:00:00:00:00:00", True)
    return kernel


def by_name(items, name):
    (found,) = [item for item in items if item["name"] == name]
    return found


def test_the_whole_answer(world, converge, firewall):
    result = converge(NetInfo)
    assert result["changed"] is False and result["operations"] == []
    assert result["firewall"] == firewall.name
    web_eth0, db_eth0 = world.link("eth0", "web"), world.link("eth0", "db")
    assert result["networks"] == [{
        "name": "br0", "driver": "bridge", "subnets": ["172.18.0.0/16"], "gateway": "172.18.0.1", "gateway6": None, "resolver": None, "ipv6": False,
        "addresses": ["172.18.0.1/16"], "mtu": 1450, "mac": world.link("br0").mac, "up": True,
        "options": {"ip_masquerade": True, "icc": False, "internal": False},
        "members": [
            {"sandbox": "db", "names": ["db"], "interface": "eth0", "host_interface": "veth-db",
             "mac": db_eth0.mac, "addresses": ["172.18.0.11/16"]},
            {"sandbox": "web", "names": ["web", "web-side"], "interface": "eth0", "host_interface": "veth-web",
             "mac": web_eth0.mac, "addresses": ["172.18.0.10/16"]},
        ],
    }]
    assert [s["name"] for s in result["sandboxes"]] == ["byhand", "db", "web", "web-side"]
    web = by_name(result["sandboxes"], "web")
    assert {k: web[k] for k in ("path", "inode", "names", "owned", "published", "ports")} == {
        "path": "/run/netns/web", "inode": world.netns["web"], "names": ["web", "web-side"], "owned": True,
        "published": ["127.0.0.1:5353:53/udp", "8080:80/tcp"], "ports": {"53/udp": ["127.0.0.1:5353"], "80/tcp": ["0.0.0.0:8080"]}}
    assert web["interfaces"] == [
        {"name": "lo", "kind": None, "mac": "00:00:00:00:00:00", "mtu": 65536, "up": True, "addresses": [], "ipv6": None,
         "host_interface": None, "network": None},
        {"name": "eth0", "kind": "veth", "mac": web_eth0.mac, "mtu": 1500, "up": True, "addresses": ["172.18.0.10/16"], "ipv6": None,
         "host_interface": "veth-web", "network": "br0"},
    ]
    assert web["routes"] == [
        {"dst": "default", "via": "172.18.0.1", "dev": "eth0", "metric": 0, "protocol": "static"},
        {"dst": "172.18.0.0/16", "via": None, "dev": "eth0", "metric": 0, "protocol": "kernel"},
    ]
    assert web["dns"]["hostname"] == "web1"
    assert web["dns"]["resolv_conf"] == {"nameservers": ["10.231.0.53"], "search": [], "options": []}
    assert {"address": "172.18.0.11", "names": ["db"]} in web["dns"]["hosts"]
    assert web["dns"]["files"]["hosts"] == {"path": "/etc/netns/web/hosts", "exists": True, "managed": True, "edited": False}
    side = by_name(result["sandboxes"], "web-side")
    assert side["interfaces"] == web["interfaces"] and side["published"] == web["published"], "one namespace, two names"
    assert side["dns"] is None, "dns files belong to a name, not to the namespace"
    byhand = by_name(result["sandboxes"], "byhand")
    assert byhand["owned"] is False and byhand["published"] == [] and byhand["routes"] == []


def test_check_mode_reads_the_same_and_changes_nothing(world, converge, kernel, sysctl, firewall, files):
    before = (len(kernel.calls), len(sysctl.calls), firewall.commits, len(files.calls), dict(kernel.netns))
    check = converge(NetInfo, check=True, netns=["web", "ghost"])
    assert check == converge(NetInfo, netns=["web", "ghost"])
    assert not check["changed"] and check["operations"] == []
    assert (len(kernel.calls), len(sysctl.calls), firewall.commits, len(files.calls), dict(kernel.netns)) == before
    assert "ghost" not in kernel.netns, "asking for a missing sandbox never creates it"


@pytest.mark.parametrize("options, sandboxes, networks, warnings", [
    ({"netns": ["db"]}, ["db"], ["br0"], []),
    ({"netns": ["db", "ghost"], "network": []}, ["db"], [], ["netns: no sandbox named ghost"]),
    ({"network": ["br0", "br9"]}, ["byhand", "db", "web", "web-side"], ["br0"], ["network: no bridge of netmodes.linux named br9"]),
])
def test_filters(world, converge, options, sandboxes, networks, warnings):
    result = converge(NetInfo, **options)
    assert [s["name"] for s in result["sandboxes"]] == sandboxes
    assert [n["name"] for n in result["networks"]] == networks
    assert result.get("warnings", []) == warnings


def test_a_network_filter_still_finds_members_of_sandboxes_not_reported(world, converge):
    result = converge(NetInfo, netns=[], network=["br0"])
    assert result["sandboxes"] == []
    assert [m["sandbox"] for m in result["networks"][0]["members"]] == ["db", "web"]


def test_a_bad_filter_name_fails_before_reading(world, converge):
    with pytest.raises(InvalidInput, match=r"network\[0\]"):
        converge(NetInfo, network=["a-name-far-too-long"])


def test_members_are_found_by_the_namespace_of_the_peer_not_its_index_alone(world, converge, kernel):
    # Every namespace numbers its own links: give another sandbox a veth with the index of web's eth0.
    web_eth0 = kernel.link("eth0", "web")
    kernel.links[(kernel.netns["byhand"], "eth9")] = Link("eth9", web_eth0.index, "veth", 1500, "02:00:00:00:99:99", True)
    (network,) = converge(NetInfo)["networks"]
    assert [(m["sandbox"], m["interface"]) for m in network["members"]] == [("db", "eth0"), ("web", "eth0")]


def test_only_our_bridges_are_networks(world, converge, kernel):
    kernel.links[(None, "docker0")] = Link("docker0", 90, "bridge", 1500, "02:42:00:00:00:01", True)
    assert [n["name"] for n in converge(NetInfo)["networks"]] == ["br0"]


def test_a_bridge_without_policy_has_null_options(world, converge, kernel):
    kernel.link_add_bridge("br1")
    assert by_name(converge(NetInfo)["networks"], "br1")["options"] is None


def test_rules_that_match_no_policy_give_null_options_and_a_warning(world, converge, kernel):
    kernel.addresses_set("br0", add=["172.30.0.1/16"])  # the policy covers 172.18.0.0/16 only
    result = converge(NetInfo)
    assert result["networks"][0]["options"] is None
    assert result["warnings"] == ["network br0: its firewall rules are rules for other subnets or changed by hand;"
                                  " run netmodes.linux.bridge to rewrite them"]
    assert result["networks"][0]["subnets"] == ["172.18.0.0/16", "172.30.0.0/16"]


def test_ports_published_for_an_address_belong_to_the_sandbox_holding_it(world, converge):
    converge(Portmap, address="172.18.0.11", bridge="br0", ports=["9090:90"])
    assert by_name(converge(NetInfo)["sandboxes"], "db")["published"] == ["9090:90/tcp"]


def test_a_file_edited_by_hand_is_reported_as_edited(world, converge, files):
    files.files[("web", "hosts")] += "10.231.9.9\textra\n"
    files.files[("db", "resolv.conf")] = "nameserver 10.231.0.99\n"   # not written by the collection
    sandboxes = converge(NetInfo)["sandboxes"]
    web_files, db_files = by_name(sandboxes, "web")["dns"]["files"], by_name(sandboxes, "db")["dns"]["files"]
    assert web_files["hosts"] == {"path": "/etc/netns/web/hosts", "exists": True, "managed": False, "edited": True}
    assert web_files["resolv.conf"]["managed"] and not web_files["resolv.conf"]["edited"]
    assert db_files["resolv.conf"] == {"path": "/etc/netns/db/resolv.conf", "exists": True, "managed": False, "edited": False}
    assert by_name(sandboxes, "db")["dns"]["resolv_conf"]["nameservers"] == ["10.231.0.99"]


def test_an_unreadable_firewall_still_reports_the_rest(world, converge, firewall, monkeypatch):
    def missing():
        raise MissingLibrary("python-iptables is required", "firewall_backend")

    monkeypatch.setattr(firewall, "read", missing)
    result = converge(NetInfo)
    assert result["networks"][0]["options"] is None and result["networks"][0]["members"]
    assert all(s["published"] is None and s["ports"] is None for s in result["sandboxes"])
    assert result["warnings"] == ["firewall: cannot read %s (python-iptables is required); network options and"
                                  " published ports are reported as null" % firewall.name]


def test_a_host_without_sandboxes_or_networks(converge, firewall):
    result = converge(NetInfo)
    assert (result["networks"], result["sandboxes"], result["firewall"]) == ([], [], firewall.name)


def test_brief_is_a_line_per_object_and_reads_no_dns_file(world, converge, files, monkeypatch):
    reads, read = [], files.read
    monkeypatch.setattr(files, "read", lambda netns, name: reads.append((netns, name)) or read(netns, name))
    result = converge(NetInfo, brief=True)
    assert reads == [], "brief reads no DNS file"
    assert result["networks"] == [{"name": "br0", "subnets": ["172.18.0.0/16"], "gateway": "172.18.0.1", "gateway6": None,
                                   "options": {"ip_masquerade": True, "icc": False, "internal": False}, "resolver": None,
                                   "members": ["db", "web"]}]
    assert by_name(result["sandboxes"], "web") == {"name": "web", "names": ["web", "web-side"], "owned": True,
                                                   "addresses": {"eth0": ["172.18.0.10/16"]}, "networks": ["br0"],
                                                   "published": ["127.0.0.1:5353:53/udp", "8080:80/tcp"],
                                                   "ports": {"53/udp": ["127.0.0.1:5353"], "80/tcp": ["0.0.0.0:8080"]}}
    assert by_name(result["sandboxes"], "byhand") == {"name": "byhand", "names": ["byhand"], "owned": False, "addresses": {},
                                                      "networks": [], "published": [], "ports": {}}
    full = converge(NetInfo)
    assert reads and [s["name"] for s in full["sandboxes"]] == [s["name"] for s in result["sandboxes"]]


def test_a_dual_stack_networks_policy_is_recognised(converge):
    # The policy covers both families' subnets, as the bridge module writes it: net_info reads it
    # back as the options, not as rules it cannot match (null and a warning).
    converge(Bridge, name="dual", addresses=["172.20.0.1/16", "fd31:20::1/64"], icc=False)
    result = converge(NetInfo, brief=True)
    assert "warnings" not in result, result.get("warnings")
    assert result["networks"] == [{"name": "dual", "subnets": ["172.20.0.0/16", "fd31:20::/64"], "gateway": "172.20.0.1",
                                   "gateway6": "fd31:20::1", "options": {"ip_masquerade": True, "icc": False, "internal": False},
                                   "resolver": None, "members": []}]


def test_a_shared_namespace_is_named_by_the_sandbox_that_made_it(world, converge):
    """Issue 18: aside, which shares web's namespace, sorts before web; the namespace is still web's."""
    converge(Netns, name="aside", share_with="web")
    result = converge(NetInfo)
    member = next(m for m in result["networks"][0]["members"] if m["interface"] == "eth0" and "aside" in m["names"])
    assert member["sandbox"] == "web" and member["names"] == ["web", "web-side", "aside"], "made first, then as they were given"
    assert by_name(result["sandboxes"], "aside")["names"] == ["web", "web-side", "aside"]
    assert converge(NetInfo, brief=True)["networks"][0]["members"] == ["db", "web"]


def test_a_network_s_resolver_is_reported_and_one_not_running_is_warned_about(converge, resolvers):
    """Issue 18: the resolvers of the host (the sandboxes module runs them), each under its
    network's name, and a bridge network's by the gateway it listens on (its bridge may have
    another name than its network)."""
    converge(Bridge, name="br-front", addresses=["172.20.0.1/16", "fd31:20::1/64"])
    resolvers.write("front", config=_resolver.config("front", [ipaddress.ip_address("172.20.0.1"), ipaddress.ip_address("fd31:20::1")], []),
                    hosts="")
    resolvers.restart("front")
    resolvers.write("lan", config=_resolver.config("lan", [ipaddress.ip_address("10.231.1.128")], []), hosts="")
    view = _resolver.view_name(["front", "lan"], None)  # listening on front's gateway too: not front's resolver
    resolvers.write(view, config=_resolver.config(view, [ipaddress.ip_address("172.20.0.1")], [], port=10530, answers=["front", "lan"]),
                    users="web\n")
    resolvers.restart(view)
    result = converge(NetInfo)
    assert result["resolvers"] == [{"network": "front", "listen": ["172.20.0.1", "fd31:20::1"], "running": True},
                                   {"network": "lan", "listen": ["10.231.1.128"], "running": False},
                                   {"network": view, "listen": ["172.20.0.1"], "running": True, "networks": ["front", "lan"], "port": 10530,
                                    "sandboxes": ["web"]}]
    assert [n["resolver"] for n in result["networks"]] == ["front"]
    assert converge(NetInfo, brief=True)["networks"][0]["resolver"] == "front"
    assert result["warnings"] == ["resolver of network lan: not running; the next run of the sandboxes module starts it again"]
