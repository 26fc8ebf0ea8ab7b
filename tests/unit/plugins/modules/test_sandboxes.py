# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batch modules: a host's networks and sandboxes in one run, with Docker's rules."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks
from ansible_collections.netmodes.linux.tests.shared.sandboxes import EVERY_MODE, with_keys

NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16"}, {"name": "back", "internal": True}]
SANDBOXES = with_keys(EVERY_MODE, "web2", ports=[80])


@pytest.fixture
def host(converge, kernel, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Networks, config=NETWORKS)
    return converge(Sandboxes, config=SANDBOXES, networks=NETWORKS)


def addr(kernel, netns, link="eth0"):
    return sorted(str(a) for a in kernel.link(link, netns).addresses)


def test_networks_get_subnets_from_docker_pools_avoiding_the_hosts(converge, kernel):
    result = converge(Networks, config=[{"name": "a"}, {"name": "b", "subnet": "172.17.0.0/16"}, {"name": "c"}])
    assert result["networks"] == {"a": {"subnet": "172.18.0.0/16", "gateway": "172.18.0.1"},
                                  "b": {"subnet": "172.17.0.0/16", "gateway": "172.17.0.1"},
                                  "c": {"subnet": "172.19.0.0/16", "gateway": "172.19.0.1"}}
    assert not converge(Networks, config=[{"name": "a"}, {"name": "b", "subnet": "172.17.0.0/16"}, {"name": "c"}])["changed"]


@pytest.mark.parametrize("order", [["a", "bridge", "c"], ["bridge", "c", "a"], ["c", "a", "bridge"]])
def test_docker_s_default_network_gets_the_first_pool_whatever_the_order(converge, order):
    # Docker: docker0 is 172.17.0.0/16 on every Docker host, and user-defined networks start after it,
    # even when no container uses the default network yet.
    result = converge(Networks, config=[{"name": n} for n in order])
    assert result["networks"][_declaration.DEFAULT_BRIDGE]["subnet"] == "172.17.0.0/16"
    assert sorted(result["networks"][n]["subnet"] for n in ("a", "c")) == ["172.18.0.0/16", "172.19.0.0/16"]


def test_a_user_network_never_takes_the_default_network_s_pool_and_the_default_network_moves_when_taken(converge, kernel):
    assert converge(Networks, config=[{"name": "a"}])["networks"]["a"]["subnet"] == "172.18.0.0/16", "172.17 stays free"
    kernel.links[(None, "eth9")] = Link("eth9", 99, "veth", 1500, "02:00:00:00:00:99", True, addresses=interfaces(["172.17.5.1/24"], "a"))
    result = converge(Networks, config=[{"name": "a"}, {"name": "bridge"}])
    assert result["networks"][_declaration.DEFAULT_BRIDGE]["subnet"] == "172.19.0.0/16", "the host uses 172.17: the first free pool"


def test_the_whole_host_four_steps(converge, kernel, files, firewall):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Networks, config=NETWORKS)
    calls = (len(kernel.calls), firewall.commits, len(files.calls))
    check = converge(Sandboxes, check=True, config=SANDBOXES, networks=NETWORKS)
    assert check["changed"] and (len(kernel.calls), firewall.commits, len(files.calls)) == calls, "check mode applied something"
    # objects that depend on ones made earlier in the same run are planned on them, without a warning
    assert "warnings" not in check, check["warnings"]
    result = converge(Sandboxes, config=SANDBOXES, networks=NETWORKS)
    assert result["changed"] and result["operations"] == check["operations"]
    again = converge(Sandboxes, config=SANDBOXES, networks=NETWORKS)
    assert not again["changed"], again["operations"]
    assert not converge(Sandboxes, check=True, config=SANDBOXES, networks=NETWORKS)["changed"]
    assert addr(kernel, "web") == ["172.18.0.2/16"] and addr(kernel, "db") == ["172.18.0.3/16"]
    assert addr(kernel, "db", "eth1") == ["172.19.0.2/16"], "db's second network is eth1 (back: the first free pool after Docker's default network's)"
    assert kernel.netns["side"] == kernel.netns["web"], "container mode shares web's namespace"
    assert files.shared == {"side": "web"}, "and web's files: /etc/netns/side is a link to web's"
    assert not any(netns == "side" for netns, _name in files.files)
    assert [n for (ns, n) in kernel.links if ns == kernel.netns["quiet"]] == ["lo"], "none mode has only lo"
    assert kernel.link(_declaration.DEFAULT_BRIDGE) is not None, "the default network is made on first use"
    assert result["sandboxes"]["legacy"]["addresses"] == ["172.17.0.2/16"]
    # br0 has a resolver: web asks it for db; db (on br0 and back, both with resolvers) asks its
    # resolver view of both, so its hosts file lists neither's members
    assert "nameserver 172.18.0.1\n" in files.files[("web", "resolv.conf")]
    hosts = files.files[("web", "hosts")]
    assert "db" not in hosts and "database" not in hosts, "br0's resolver answers for its members"
    assert "172.19.0.2\tdatabase\n" not in files.files[("db", "hosts")], "back's members come from db's view"
    assert "legacy" not in files.files[("web", "hosts")], "the default bridge network has no name resolution"
    assert "nameserver 10.231.0.53\n" in files.files[("legacy", "resolv.conf")], "nor a resolver"
    assert "web" not in files.files[("legacy", "hosts")].split("localhost")[-1].replace("legacy", "")


def test_addresses_are_kept_and_freed_addresses_reused(host, converge, kernel, files):
    converge(Sandboxes, config=[{"name": "side", "state": "absent", "network_mode": "container:web"},
                                {"name": "web", "state": "absent", "network_mode": "br0"}], networks=NETWORKS)
    assert kernel.netns_inode("web") is None and kernel.netns_inode("side") is None
    assert files.shared == {} and not files.records.get("side"), "side's link went with it"
    again = converge(Sandboxes, config=SANDBOXES, networks=NETWORKS)
    assert again["changed"] and addr(kernel, "db") == ["172.18.0.3/16"] and addr(kernel, "web") == ["172.18.0.2/16"]


def test_overridden_prunes_only_ours(host, converge, kernel, files):
    kernel.netns["handmade"] = 4026539999
    converge(Sandboxes, config=SANDBOXES[:2], networks=NETWORKS, state="overridden")
    assert kernel.netns_inode("quiet") is None and kernel.netns_inode("handmade") is not None
    assert files.shared == {} and files.files[("web", "hostname")] == "web1\n", "side's link is pruned, web's files kept"
    assert kernel.netns_inode("web") is not None


@pytest.mark.parametrize("config, error, fragment", [
    ([{"name": "a", "network_mode": "container:a"}], InvalidInput, "names the sandbox itself"),
    ([{"name": "a", "network_mode": "container:b", "publish": ["80:80"]}], InvalidInput, "publish cannot be used with network_mode container:b"),
    ([{"name": "a", "network_mode": "container:b", "hostname": "x", "dns": ["1.1.1.1"]}], InvalidInput, "hostname, dns cannot be used"),
    ([{"name": "a", "network_mode": "container:nobody"}], NotFound, "container:nobody names no sandbox"),
    ([{"name": "a", "network_mode": "nonet"}], NotFound, "a: network_mode: network 'nonet' does not exist; declare it"),
    ([{"name": "a", "network_mode": "br0", "networks": ["nonet"]}], NotFound, "a: networks: network 'nonet' does not exist; declare it"),
    ([{"name": "a"}, {"name": "a"}], InvalidInput, "sandbox name 'a' is declared twice; declare each once"),
    ([{"name": "a", "network_mode": "host", "publish": ["80:80"]}], InvalidInput,
     "publish cannot be used with network_mode host; a host-mode service uses the host's own network, names and ports"),
    ([{"name": "a", "network_mode": "none", "aliases": ["b"]}], InvalidInput,
     r"aliases cannot be used with network_mode none; .* join a network \(network_mode: NAME\)"),
    ([{"name": "a", "network_mode": "host"}, {"name": "b", "network_mode": "container:a"}], InvalidInput,
     "container:a points at a host-mode sandbox, which has no namespace; use network_mode host for b too"),
    ([{"name": "a", "network_mode": "host", "ports": [0]}], InvalidInput, r"config\[0\] \(a\): ports: 0 is not a port; give a port from 1 to 65535"),
    ([{"name": "a", "network_mode": "host", "ports": ["53/icmp"]}], InvalidInput, "is not a port; .* with a protocol tcp, udp or sctp"),
    ([{"name": "a", "state": "running"}], InvalidInput, r"config\[0\] \(a\): state: 'running' is not a state of a sandbox; use present or absent"),
    # options used only at the end of a run (by dns_config) are checked before anything changes
    ([{"name": "a", "network_mode": "br0", "dns": ["10.0.0.999"]}], InvalidInput,
     r"config\[0\] \(a\): dns\[0\]: '10.0.0.999' is not a valid IP address; write it like"),
    ([{"name": "a", "network_mode": "br0", "dns_search": ["a_b.example"]}], InvalidInput,
     r"config\[0\] \(a\): dns_search\[0\]: 'a_b.example' is not a valid host name"),
    ([{"name": "a", "network_mode": "br0", "dns_options": ["ndots:1 rotate"]}], InvalidInput,
     r"config\[0\] \(a\): dns_options\[0\]: 'ndots:1 rotate' is not one resolver option; give each option as its own list item"),
    ([{"name": "a", "network_mode": "br0", "extra_hosts": ["db:10.0.0.999"]}], InvalidInput,
     r"config\[0\] \(a\): extra_hosts\[0\]: '10.0.0.999' is not a valid IP address"),
    ([{"name": "a", "network_mode": "br0", "aliases": ["data_base"]}], InvalidInput, r"config\[0\] \(a\): aliases\[0\]: 'data_base' is not a valid host name"),
    ([{"name": "my_app", "network_mode": "br0"}], InvalidInput,
     r"config\[0\] \(my_app\): name: 'my_app' is the sandbox's default host name .* rename it with letters, digits and '-'"),
    ([{"name": "a", "network_mode": "br0", "ip": "172.18.0.9"}, {"name": "b", "network_mode": "br0", "ip": "172.18.0.9"}], Conflict,
     "b: ip: 172.18.0.9 is already the address of sandbox a; choose another address in 172.18.0.0/16 or leave ip out"),
    ([{"name": "a", "network_mode": "br0", "publish": ["9100:80"]}, {"name": "b", "network_mode": "br0", "publish": ["9100:81"]}], Conflict,
     r"b: publish: host port 9100/tcp is already published by sandbox a \(9100:80/tcp\); choose another host port"),
    ([{"name": "a", "network_mode": "br0", "publish": ["9100:80"]}, {"name": "b", "network_mode": "host", "ports": [9100]}], Conflict,
     "a: publish: host port 9100/tcp is already declared by host-mode sandbox b; choose another host port"),
    ([{"name": "a", "network_mode": "br0", "ports": [80]}], InvalidInput, "only host-mode sandboxes declare ports"),
    ([{"name": "a", "network_mode": "bridge", "networks": ["br0"]}], InvalidInput, "further networks need a user-defined"),
    ([{"name": "a", "network_mode": "br0", "ip": "10.9.9.9"}], InvalidInput,
     "not a free host address of network br0 .*; choose another address in 172.18.0.0/16 or leave ip out"),
    ([{"name": "a", "network_mode": "br0", "hostname": "bad_name"}], InvalidInput, "hostname"),
    ([{"name": "a", "network_mode": "br0", "colour": "red"}], InvalidInput, "unknown keys colour"),
    ([{"name": "a", "network_mode": "host", "ports": [80]}, {"name": "b", "network_mode": "host", "ports": [80]}],
     Conflict, "port 80/tcp is already declared by host-mode sandbox a"),
])
def test_bad_specs_fail_before_anything_changes(converge, refused, config, error, fragment):
    converge(Networks, config=NETWORKS)
    refused(Sandboxes, error, fragment, config=config, networks=NETWORKS)


# Issue 15, item 5: a list-valued field takes a list, even of one item; nothing else is read as
# one (a string would be its characters: ports "43" was ports 4 and 3, publish "8080:80" was '8').
WRITE_A_LIST = r"is %s, not a list; write a list, even of one item: %s"
BOX = {"name": "a", "network_mode": "br0"}


@pytest.mark.parametrize("entry, fragment", [
    (dict(BOX, network_mode="host", ports="43"), r"config\[0\] \(a\): ports: '43' " + WRITE_A_LIST % ("a string", r"ports: \['43'\]")),
    (dict(BOX, network_mode="host", ports=43), r"config\[0\] \(a\): ports: 43 " + WRITE_A_LIST % ("a number", r"ports: \[43\]")),
    (dict(BOX, network_mode="host", ports={"80": "tcp"}), r"config\[0\] \(a\): ports: \{'80': 'tcp'\} is a dict, not a list"),
    (dict(BOX, network_mode="host", ports=[True]), r"config\[0\] \(a\): ports\[0\]: True is a boolean; give each item as one value"),
    (dict(BOX, network_mode="host", ports=""), r"config\[0\] \(a\): ports: '' is a string, not a list"),
    (dict(BOX, publish="8080:80"), r"config\[0\] \(a\): publish: '8080:80' " + WRITE_A_LIST % ("a string", r"publish: \['8080:80'\]")),
    (dict(BOX, publish={"host_port": 8080, "container_port": 80}), r"config\[0\] \(a\): publish: \{'host_port': 8080, .* is a dict, not a list;"
     r" write a list, even of one item: publish: \[\{'host_port'"),
    (dict(BOX, publish=484880), r"config\[0\] \(a\): publish: 484880 is a number, not a list"),  # YAML 1.1 reads 8080:80 unquoted in base 60
    (dict(BOX, publish=True), r"config\[0\] \(a\): publish: True is a boolean, not a list; write a list, even of one item: publish: \[...\]"),
    (dict(BOX, network_mode="container:b", publish="8080:80"), r"config\[0\] \(a\): publish: '8080:80' is a string, not a list"),
    (dict(BOX, networks="back"), r"config\[0\] \(a\): networks: 'back' " + WRITE_A_LIST % ("a string", r"networks: \['back'\]")),
    (dict(BOX, networks={"back": {"ipv4_address": "172.17.0.9"}}), r"config\[0\] \(a\): networks: \{'back': .* is a dict, not a list"),
    (dict(BOX, networks=[["back"]]), r"config\[0\] \(a\): networks\[0\]: \['back'\] is a list; give a network's name, or \{name: NAME"),
    (dict(BOX, aliases="database"), r"config\[0\] \(a\): aliases: 'database' " + WRITE_A_LIST % ("a string", r"aliases: \['database'\]")),
    (dict(BOX, aliases=["db", ["database"]]), r"config\[0\] \(a\): aliases\[1\]: \['database'\] is a list; give each item as one value"),
    (dict(BOX, aliases=[None]), r"config\[0\] \(a\): aliases\[0\]: None is no value; give each item as one value"),
    (dict(BOX, dns="10.231.0.53"), r"config\[0\] \(a\): dns: '10.231.0.53' " + WRITE_A_LIST % ("a string", r"dns: \['10.231.0.53'\]")),
    (dict(BOX, dns={"10.231.0.53": None}), r"config\[0\] \(a\): dns: .* is a dict, not a list"),
    (dict(BOX, dns_search="corp.example"), r"config\[0\] \(a\): dns_search: 'corp.example' is a string, not a list"),
    (dict(BOX, dns_options="ndots:2"), r"config\[0\] \(a\): dns_options: 'ndots:2' is a string, not a list"),
    (dict(BOX, dns_options=["ndots:2", True]), r"config\[0\] \(a\): dns_options\[1\]: True is a boolean"),
    (dict(BOX, extra_hosts="db:10.231.0.9"), r"config\[0\] \(a\): extra_hosts: 'db:10.231.0.9' is a string, not a list; write a list, even of"
     r" one item: extra_hosts: \['db:10.231.0.9'\] \(or a dict\)"),
    (dict(BOX, extra_hosts=9), r"config\[0\] \(a\): extra_hosts: 9 is a number, not a list"),
])
def test_a_list_valued_field_takes_a_list_only_naming_the_field(converge, refused, entry, fragment):
    converge(Networks, config=NETWORKS)
    refused(Sandboxes, InvalidInput, fragment, config=[entry], networks=NETWORKS)


def test_an_error_names_the_variable_the_roles_say_the_entry_came_from(converge, refused):
    converge(Networks, config=NETWORKS)
    boxes = [dict(BOX, name="db"), dict(BOX, name="api"), dict(BOX, name="web", publish="8080:80")]
    refused(Sandboxes, InvalidInput, r"^netmodes_sandboxes\[2\] \(web\): publish: '8080:80' is a string, not a list", config=boxes,
            networks=NETWORKS, declared_in={"config": "netmodes_sandboxes", "networks": "netmodes_networks"})
    refused(Sandboxes, InvalidInput, r"^netmodes_networks\[1\] \(x\): internal: 'maybe' is not a boolean", config=[BOX],
            networks=[NETWORKS[0], {"name": "x", "internal": "maybe"}], declared_in={"config": "netmodes_sandboxes", "networks": "netmodes_networks"})
    refused(Networks, InvalidInput, r"^networks_config\[0\] \(x\): gateway: 10.0.0.1 needs a subnet", config=[{"name": "x", "gateway": "10.0.0.1"}],
            declared_in={"config": "networks_config"})
    refused(Sandboxes, InvalidInput, r"^declared_in: unknown keys sandboxes", config=[BOX], networks=NETWORKS, declared_in={"sandboxes": "x"})


def test_the_fleet_data_of_other_hosts_is_held_to_the_same_rule():
    with pytest.raises(InvalidInput, match=r"sim2: netmodes_sandboxes\[0\] \(a\): publish: '8080:80' is a string, not a list"):
        _declaration.sandbox_specs([dict(BOX, publish="8080:80")], "sim2: netmodes_sandboxes")


def test_a_one_item_list_and_a_dict_where_one_is_a_form_are_read_whole(converge, kernel, files, sockets):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Networks, config=NETWORKS)
    config = [dict(BOX, publish=["8080:80"], aliases=["api"], dns=["10.231.0.53"], extra_hosts={"gw": "10.231.0.1"}),
              {"name": "svc", "network_mode": "host", "ports": ["43"]}]
    converge(Sandboxes, config=config, networks=NETWORKS)
    assert sockets.claims()["svc"] == [[43, "tcp"]], "one port, 43 (not 4 and 3)"
    assert "10.231.0.1\tgw\n" in files.files[("a", "hosts")]


# Issue 15, item 6: an alias that several members of a network share resolves to every one of them,
# from each of them (its own address included), as Docker's resolver answers; a name comes once,
# where its first member comes (members by sandbox name on a local network), with a line per
# member; a member on several of the sandbox's networks has the address of the last of them.
# Without resolvers (dns: false): with one, a network's members are not in its members' hosts files.
SHARING_NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16", "dns": False}, {"name": "back", "subnet": "172.30.0.0/24", "dns": False}]
SHARING = [{"name": "a", "network_mode": "br0", "aliases": ["api"]}, {"name": "b", "network_mode": "br0", "networks": ["back"], "aliases": ["api"]},
           {"name": "c", "network_mode": "back", "networks": ["br0"]}]
HOSTS_HEAD = "# Written by netmodes.linux dns_config. An edit by hand is kept: the next run\n# fails on it unless the task sets force: true.\n" \
             "127.0.0.1\tlocalhost\n"


def test_a_shared_alias_is_in_the_hosts_file_of_every_member_once_per_member(converge, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Networks, config=SHARING_NETWORKS)
    converge(Sandboxes, config=SHARING, networks=SHARING_NETWORKS)
    assert files.files[("a", "hosts")] == HOSTS_HEAD + (
        "172.18.0.2\ta\n"
        "172.18.0.2\tapi\n172.18.0.3\tapi\n"
        "172.18.0.3\tb\n"
        "172.18.0.4\tc\n")
    assert files.files[("b", "hosts")] == HOSTS_HEAD + (
        "172.18.0.3\tb\n172.30.0.2\tb\n"
        "172.18.0.2\ta\n"
        "172.18.0.2\tapi\n172.30.0.2\tapi\n"
        "172.30.0.3\tc\n")
    # c's own lines in the order of its networks (Docker's): back, then br0.
    assert files.files[("c", "hosts")] == HOSTS_HEAD + (
        "172.30.0.3\tc\n172.18.0.4\tc\n"
        "172.18.0.3\tb\n"
        "172.18.0.3\tapi\n172.18.0.2\tapi\n"
        "172.18.0.2\ta\n")
    assert not converge(Sandboxes, config=SHARING, networks=SHARING_NETWORKS)["changed"], "the order is stable"


# Issue 18: a network with a resolver answers for its members. A sandbox's resolv.conf names the
# resolver of the first of its networks that has one (the host's search and options kept), and its
# hosts file lists no member of a network with a resolver (a sandbox on several, or with dns
# servers of its own, asks its resolver view at that address); it lists the members of its
# networks with dns: false. A sandbox with nameservers of its own on no network with a resolver
# uses them, and its hosts file lists the members of all its networks.
RESOLVING = [{"name": "front", "subnet": "172.18.0.0/16"}, {"name": "plain", "subnet": "172.30.0.0/24", "dns": False},
             {"name": "rear", "subnet": "172.31.0.0/24"}]
RESOLVED = [{"name": "a", "network_mode": "front", "networks": ["plain", "rear"], "aliases": ["api"]},
            {"name": "b", "network_mode": "front"}, {"name": "c", "network_mode": "plain"},
            {"name": "d", "network_mode": "rear", "networks": ["front"]},
            {"name": "e", "network_mode": "front", "dns": ["10.231.0.99"]}]


def nameservers(files, netns):
    return [line for line in files.files[(netns, "resolv.conf")].splitlines() if line.startswith(("nameserver", "search", "options"))]


def test_a_sandbox_asks_the_resolver_of_its_first_network_that_has_one(converge, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\nsearch example.internal\noptions ndots:2\n"
    converge(Networks, config=RESOLVING)
    converge(Sandboxes, config=RESOLVED, networks=RESOLVING)
    kept = ["search example.internal", "options ndots:2"]
    assert nameservers(files, "a") == ["nameserver 172.18.0.1"] + kept, "front's gateway, its resolver's address"
    assert nameservers(files, "b") == ["nameserver 172.18.0.1"] + kept
    assert nameservers(files, "d") == ["nameserver 172.31.0.1"] + kept, "rear comes first in d's networks"
    assert nameservers(files, "c") == ["nameserver 10.231.0.53"] + kept, "plain has no resolver: the host's nameservers"
    assert nameservers(files, "e") == ["nameserver 172.18.0.1"] + kept, "e's own nameservers are its view's upstreams"
    assert "# Nameserver: the resolver of network front, through its resolver view of front, rear." in files.files[("a", "resolv.conf")]
    assert "# Nameserver: the resolver of network front.\n" in files.files[("b", "resolv.conf")]
    # a: no line of front's and rear's members (its view's); plain's (dns: false) are listed
    assert files.files[("a", "hosts")] == HOSTS_HEAD + (
        "172.18.0.2\ta\n172.30.0.2\ta\n172.31.0.2\ta\n"
        "172.30.0.2\tapi\n"
        "172.30.0.3\tc\n"), "its alias once, under the last of its networks that lists it"
    assert files.files[("b", "hosts")] == HOSTS_HEAD + "172.18.0.3\tb\n", "front's members come from its resolver"
    assert files.files[("c", "hosts")] == HOSTS_HEAD + "172.30.0.3\tc\n172.30.0.2\ta\n172.30.0.2\tapi\n"
    assert files.files[("d", "hosts")] == HOSTS_HEAD + "172.31.0.3\td\n172.18.0.4\td\n", "front and rear: d's view"
    assert files.files[("e", "hosts")] == HOSTS_HEAD + "172.18.0.5\te\n", "e asks its view of front, forwarding to its servers"
    assert not converge(Sandboxes, config=RESOLVED, networks=RESOLVING)["changed"]


def test_a_run_for_part_of_the_host_keeps_the_resolvers_of_the_members_it_does_not_name(converge, files, resolvers):
    # The mode roles apply one mode each (state merged): a run that names only the none-mode
    # sandbox must leave front's and rear's resolvers, and the members they answer for, to the
    # sandboxes it does not name.
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Networks, config=RESOLVING)
    converge(Sandboxes, config=RESOLVED, networks=RESOLVING)
    before = {name: dict(resolvers.read(name)) for name in resolvers.networks()}
    assert {"front", "rear"} <= set(before)
    run = converge(Sandboxes, config=[{"name": "quiet", "network_mode": "none"}], networks=RESOLVING)
    assert {name: dict(resolvers.read(name)) for name in resolvers.networks()} == before, run["operations"]
    assert not any("resolver" in op["object"] for op in run["operations"]), run["operations"]


def test_turning_a_network_s_resolver_off_lists_its_members_again(converge, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Networks, config=RESOLVING)
    converge(Sandboxes, config=RESOLVED, networks=RESOLVING)
    off = [dict(RESOLVING[0], dns=False)] + RESOLVING[1:]
    run = converge(Sandboxes, config=RESOLVED, networks=off)
    assert "file /etc/netns/b/resolv.conf" in {op["object"] for op in run["operations"]}
    assert nameservers(files, "b") == ["nameserver 10.231.0.53"]
    assert files.files[("b", "hosts")] == HOSTS_HEAD + "172.18.0.3\tb\n172.18.0.2\ta\n172.18.0.2\tapi\n172.18.0.4\td\n172.18.0.5\te\n"


@pytest.mark.parametrize(("network", "nameserver"), [
    ({"name": "dual", "ipv6": True, "subnet": ["172.18.0.0/16", "fd31:18::/64"]}, "172.18.0.1"),
    ({"name": "dual", "ipv6": True, "ipv4": False, "subnet": "fd31:18::/64"}, "fd31:18::1"),
], ids=["dual-stack: IPv4 first", "IPv6-only"])
def test_the_resolver_is_named_by_its_ipv4_address_else_its_ipv6_one(converge, files, network, nameserver):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Sandboxes, config=[{"name": "a", "network_mode": "dual"}], networks=[network], converge_networks=True)
    assert nameservers(files, "a") == ["nameserver %s" % nameserver]


def test_an_alias_that_is_another_members_name_is_refused_before_anything_changes(converge, refused):
    converge(Networks, config=SHARING_NETWORKS)
    config = SHARING + [{"name": "d", "network_mode": "back", "aliases": ["api", "b"]}]
    refused(Sandboxes, Conflict, "config: network back: the name b is both sandbox b and sandbox d; members of a network resolve each other by name",
            config=config, networks=SHARING_NETWORKS)


def test_a_published_port_may_go_to_a_host_mode_sandbox_in_one_run(host, converge, firewall, sockets):
    config = [dict(s, publish=[]) if s["name"] == "web" else dict(s, ports=[8080]) if s["name"] == "web2" else s for s in SANDBOXES]
    converge(Sandboxes, config=config, networks=NETWORKS)
    assert "netns:web" not in {who for who, _m in firewall.published()} and sockets.claims()["web2"] == [[8080, "tcp"]]
    assert not converge(Sandboxes, config=config, networks=NETWORKS)["changed"]


def test_host_mode_preflight_names_the_owner(host, converge, sockets):
    with pytest.raises(Conflict, match=r"port 8080/tcp is published by sandbox web \(8080:80/tcp\); .*; give web3 another port"):
        converge(Sandboxes, config=[{"name": "web3", "network_mode": "host", "ports": [8080]}], networks=NETWORKS)
    sockets.listening.append(("tcp", ipaddress.ip_address("0.0.0.0"), 9000, 4242))
    with pytest.raises(Conflict, match=r"port 9000/tcp is already in use on the host: python3 \(pid 4242\)"):
        converge(Sandboxes, config=[{"name": "web3", "network_mode": "host", "ports": [9000]}], networks=NETWORKS)


@pytest.mark.parametrize("addr", ["::", "fd31:9b5e:c207:1::11"])
def test_host_mode_preflight_covers_ipv6_listeners(host, converge, sockets, addr):
    sockets.listening.append(("tcp", ipaddress.ip_address(addr), 9000, 4242))
    with pytest.raises(Conflict, match=r"port 9000/tcp is already in use on the host: python3 \(pid 4242\) listens on \[%s\]:9000"
                                       % addr.replace(".", "\\.")):
        converge(Sandboxes, config=[{"name": "web3", "network_mode": "host", "ports": [9000]}], networks=NETWORKS)


@pytest.mark.parametrize("raw, fragment", [
    ({"name": "x", "driver": "vlan"}, r"driver: 'vlan' is not a driver"),
    ({"name": "x", "driver": "overlay"}, "an overlay network needs a subnet"),
    ({"name": "x", "subnet": "172.18.0.0/16", "gateway": "10.0.0.1"}, "is not a host address of subnet .*; give a subnet and a gateway inside it"),
    ({"name": "x", "gateway": "10.0.0.1"}, r"config\[0\] \(x\): gateway: 10.0.0.1 needs a subnet; give a subnet and a gateway inside it"),
    ({"name": "this-name-is-too-long"},
     r"config\[0\] \(this-name-is-too-long\): name: network name 'this-name-is-too-long' is 21 bytes, .* give a bridge_name of at most 15"),
    ({"name": "x", "bridge_name": "br/x"}, r"config\[0\] \(x\): bridge_name: interface name 'br/x' is not valid.*Choose another name"),
    ({"name": "x", "internal": "maybe"}, r"config\[0\] \(x\): internal: 'maybe' is not a boolean; write true or false"),
    ({"name": "x", "subnet": "fd31:7::/64"}, r"config\[0\] \(x\): subnet: fd31:7::/64 is an IPv6 subnet but the network has no IPv6;"
     " add ipv6: true"),
    ({"name": "x", "subnet": ["10.1.0.0/24", "10.2.0.0/24"]}, r"subnet: 10.1.0.0/24 and 10.2.0.0/24 are both IPv4; give at most one subnet"
     " of each IP version"),
    ({"name": "x", "ipv6": True, "subnet": ["fd31:7::/64", "fd31:8::/64"]}, "are both IPv6"),
    ({"name": "x", "ipv4": False}, "ipv4: a network without IPv4 needs IPv6 .*; add ipv6: true"),
    ({"name": "x", "ipv4": False, "ipv6": True, "subnet": ["10.1.0.0/24", "fd31:7::/64"]},
     "subnet: 10.1.0.0/24 is an IPv4 subnet but the network has ipv4: false"),
    ({"name": "bridge", "ipv4": False, "ipv6": True}, "Docker's default network bridge always has IPv4"),
    ({"name": "x", "ipv6": True, "subnet": "fd31:7::/64", "gateway": "fd31:8::1"}, "gateway: fd31:8::1 is not a host address of subnet fd31:7::/64"),
    ({"name": "x", "ipv6": True, "gateway": "fd31:8::1"}, "gateway: fd31:8::1 needs an IPv6 subnet"),
    ({"name": "x", "subnet": "10.1.0.0/24", "gateway": ["10.1.0.1", "10.1.0.2"]}, "gateway: 10.1.0.1 and 10.1.0.2 are both IPv4"),
    ({"name": "x", "ipv6": True, "subnet": "fd31:7::/127"}, r"leaves no address for members \(an IPv6 subnet needs a prefix of at most /126"),
    ({"name": "x", "ipv6": "yes"}, "ipv6: 'yes' is not a boolean"),
    ({"name": "x", "ipv6": True, "subnet": "fd31:7::1/64"}, "is not a valid network"),
    ({"name": "x", "driver": "macvlan", "subnet": "10.1.0.0/24", "hosts": "all", "parent": "eth0", "ipv6": True},
     "a macvlan network with ipv6 needs the IPv6 subnet of its segment"),
    # host_binding_ipv4 (Docker's com.docker.network.bridge.host_binding_ipv4)
    ({"name": "x", "host_binding_ipv4": "10.231.0.300"}, r"config\[0\] \(x\): host_binding_ipv4: '10.231.0.300' is not a valid IP address"),
    ({"name": "x", "host_binding_ipv4": "fd31::1/64"}, "host_binding_ipv4: 'fd31::1/64' is not a valid IP address"),
    ({"name": "x", "host_binding_ipv4": ["10.231.1.11"]}, r"host_binding_ipv4: \['10.231.1.11'\] is not an address; give one address"),
    ({"name": "x", "host_binding_ipv4": True}, "host_binding_ipv4: True is not an address"),
    ({"name": "x", "host_binding_ipv4": "10.231.1.0/24"}, "host_binding_ipv4: '10.231.1.0/24' is not a valid IP address"),
    ({"name": "x", "driver": "macvlan", "subnet": "10.1.0.0/24", "hosts": "all", "parent": "eth0", "host_binding_ipv4": "10.231.1.11"},
     "a macvlan network has no host_binding_ipv4: only bridge and overlay networks take it"),
])
def test_bad_networks(refused, raw, fragment):
    refused(Networks, InvalidInput, fragment, config=[raw])


@pytest.mark.parametrize("config, fragment", [
    ([{"name": "a", "subnet": "10.231.0.0/24"}, {"name": "b", "subnet": "10.231.0.128/25"}],
     r"config: the subnets of a \(10.231.0.0/24\) and b \(10.231.0.128/25\) overlap; give b a subnet of its own"),
    ([{"name": "a"}, {"name": "a"}], "config: network name 'a' is declared twice; declare each once"),
    ([{"name": "a", "ipv6": True, "subnet": "fd31:7::/48"}, {"name": "b", "ipv6": True, "subnet": ["10.1.0.0/24", "fd31:7:0:5::/64"]}],
     r"config: the subnets of a \(fd31:7::/48\) and b \(fd31:7:0:5::/64\) overlap; give b a subnet of its own"),
    ([{"name": "a"}, {"name": "b", "bridge_name": "a"}], "config: bridge name 'a' is declared twice; declare each once"),
    ([{"name": "a", "subnet": "172.18.5.0/24"}], r"config\[0\] \(a\): subnet: 172.18.5.0/24 overlaps 172.18.0.0/16 of br0 on the host; choose a free subnet"),
])
def test_conflicting_networks_fail_before_anything_changes(converge, refused, config, fragment):
    converge(Networks, config=NETWORKS)
    refused(Networks, InvalidInput, fragment, config=config)


def test_a_network_keeps_its_own_subnet_and_may_take_over_a_pruned_ones(converge, kernel):
    converge(Networks, config=NETWORKS)
    assert not converge(Networks, config=NETWORKS)["changed"], "its own bridge's subnet is no conflict"
    converge(Networks, config=[{"name": "br1", "subnet": "172.18.0.0/16"}], state="overridden")
    assert kernel.link("br0") is None and kernel.link("br1") is not None


def test_conflicts_with_the_hosts_state_fail_before_anything_changes(host, converge, kernel, firewall, sockets):
    sockets.listening.append(("tcp", ipaddress.ip_address("0.0.0.0"), 9000, 4242))
    cases = [
        ({"name": "x", "network_mode": "br0", "publish": ["8080:80"]},
         r"x: publish: host port 8080/tcp is already published by sandbox web \(8080:80/tcp\); choose another host port"),
        ({"name": "x", "network_mode": "br0", "publish": ["80:80"]}, "x: publish: host port 80/tcp is already declared by host-mode sandbox web2"),
        ({"name": "x", "network_mode": "br0", "publish": ["9000:80"]},
         r"x: publish: host port 9000/tcp is already in use on the host: python3 \(pid 4242\) .*; stop it or choose another host port"),
        ({"name": "x", "network_mode": "br0", "ip": "172.18.0.2"}, "x: ip: 172.18.0.2 is already the address of sandbox web; choose another address"),
    ]
    for extra, fragment in cases:
        calls, commits = len(kernel.calls), firewall.commits
        with pytest.raises(Conflict, match=fragment):
            converge(Sandboxes, config=SANDBOXES + [{"name": "fresh", "network_mode": "br0"}, extra], networks=NETWORKS)
        assert (len(kernel.calls), firewall.commits) == (calls, commits), extra


def test_ports_and_addresses_may_move_between_declared_sandboxes(host, converge, kernel):
    moved = [dict(s, publish=[]) if s["name"] == "web" else dict(s, publish=["8080:80"]) if s["name"] == "db" else s for s in SANDBOXES]
    assert converge(Sandboxes, config=moved, networks=NETWORKS)["changed"]
    pruned = [s for s in SANDBOXES if s["name"] not in ("web", "side")] + [{"name": "new", "network_mode": "br0", "ip": "172.18.0.2"}]
    assert converge(Sandboxes, config=pruned, networks=NETWORKS, state="overridden")["changed"], "web's address is free once web is pruned"
    assert addr(kernel, "new") == ["172.18.0.2/16"]


def test_a_name_that_is_no_host_name_is_refused_only_where_it_becomes_one(converge, kernel):
    converge(Networks, config=NETWORKS)
    fine = [{"name": "my_web", "network_mode": "host", "ports": [81]}, {"name": "my_box", "network_mode": "none", "hostname": "box"},
            {"name": "my_old", "network_mode": "bridge", "hostname": "old"}, {"name": "my_gone", "network_mode": "br0", "state": "absent"}]
    assert converge(Sandboxes, config=fine, networks=NETWORKS)["changed"]
    with pytest.raises(InvalidInput, match=r"config\[0\] \(my_db\): name: 'my_db' is the sandbox's default host name"):
        converge(Sandboxes, config=[{"name": "my_db", "network_mode": "br0", "hostname": "db"}], networks=NETWORKS)


def test_host_mode_claims_its_ports_so_its_own_service_is_not_a_conflict(converge, sockets):
    web1 = [{"name": "web1", "network_mode": "host", "ports": [80]}]
    assert converge(Sandboxes, config=web1)["changed"]
    assert sockets.claimed == {"web1": [[80, "tcp"]]}
    sockets.listening.append(("tcp", ipaddress.ip_address("0.0.0.0"), 80, 4242))  # web1's server runs
    assert not converge(Sandboxes, config=web1)["changed"]
    with pytest.raises(Conflict, match="web2: port 80/tcp is already declared by host-mode sandbox web1"):
        converge(Sandboxes, config=[{"name": "web2", "network_mode": "host", "ports": [80]}])
    converge(Sandboxes, config=[{"name": "web1", "network_mode": "host", "state": "absent"}])
    assert sockets.claimed == {}


def test_a_container_mode_name_is_not_a_second_member(host, converge, files):
    hosts = files.files[("db", "hosts")]
    assert "side" not in hosts, "container mode shares web's namespace; it is no member of its own"
    assert not converge(Sandboxes, config=SANDBOXES, networks=NETWORKS)["changed"]


def test_an_address_can_be_given_on_every_network_and_is_never_handed_out(converge, kernel):
    converge(Networks, config=NETWORKS)
    config = [{"name": "db", "network_mode": "br0", "networks": [{"name": "back", "ip": "172.19.0.9"}]},
              {"name": "cache", "network_mode": "back"},
              {"name": "late", "network_mode": "back", "ip": "172.19.0.2"}]
    assert converge(Sandboxes, config=config, networks=NETWORKS)["changed"]
    assert addr(kernel, "db", "eth1") == ["172.19.0.9/16"]
    assert addr(kernel, "late") == ["172.19.0.2/16"], "a given address is kept for its sandbox"
    assert addr(kernel, "cache") == ["172.19.0.3/16"], "an earlier sandbox does not take a later one's given address"
    assert not converge(Sandboxes, config=config, networks=NETWORKS)["changed"]


@pytest.mark.parametrize("networks, fragment", [
    ([{"ip": "172.19.0.9"}], r"config\[0\] \(db\): networks\[0\]: a network given as a dict needs a name"),
    ([{"name": "back", "mac": "x"}], r"config\[0\] \(db\): networks\[0\]: unknown keys mac"),
    ([{"name": "back", "ip": "10.9.9.9"}], "db: ip: 10.9.9.9 is not a free host address of network back"),
])
def test_bad_addresses_on_further_networks(converge, refused, networks, fragment):
    converge(Networks, config=NETWORKS)
    refused(Sandboxes, InvalidInput, fragment, config=[{"name": "db", "network_mode": "br0", "networks": networks}], networks=NETWORKS)


@pytest.mark.parametrize("before, config", [
    # web's port goes to api, which is declared (and so built) first
    ([], [{"name": "api", "network_mode": "br0", "publish": ["8080:80"]}, {"name": "web", "network_mode": "br0"}]),
    # web and db swap their host ports
    ([dict(SANDBOXES[1], publish=["9090:80"])],
     [{"name": "web", "network_mode": "br0", "publish": ["9090:80"]}, dict(SANDBOXES[1], publish=["8080:80"])]),
])
def test_a_host_port_moves_between_sandboxes_in_one_run(host, converge, firewall, before, config):
    if before:
        converge(Sandboxes, config=before, networks=NETWORKS)
    config = config + [s for s in SANDBOXES if s["name"] not in {c["name"] for c in config}]
    calls = firewall.commits
    check = converge(Sandboxes, check=True, config=config, networks=NETWORKS)
    assert check["changed"] and firewall.commits == calls
    run = converge(Sandboxes, config=config, networks=NETWORKS)
    if not before:  # web only lets go of its port: check mode plans that once, as the run does
        assert [op for op in check["operations"] if op["object"] == "portmap netns:web"] == \
            [op for op in run["operations"] if op["object"] == "portmap netns:web"] != []
    assert firewall.published() == sorted(("netns:%s" % s["name"], m + "/tcp") for s in config for m in s.get("publish", ()))
    assert not converge(Sandboxes, config=config, networks=NETWORKS)["changed"]


def redeclared(name, **changes):
    return [dict(s, **changes) if s["name"] == name else s for s in SANDBOXES if s["name"] != "side" or name != "web"]


def test_a_sandbox_leaves_the_networks_it_no_longer_declares(host, converge, kernel, firewall):
    """As docker network disconnect: its link on a network it left goes, the others stay (renumbered
    links are made again), and a sandbox left with no network publishes nothing."""
    def links(name):
        return sorted(n for (ns, n) in kernel.links if ns == kernel.netns[name])

    # db leaves back, its second network
    run = converge(Sandboxes, config=redeclared("db", networks=[]), networks=NETWORKS)
    assert "veth nmv56be752c391" in {op["object"] for op in run["operations"] if op["action"] == "delete"}
    assert links("db") == ["eth0", "lo"] and kernel.link("nmv56be752c391") is None
    assert addr(kernel, "db") == ["172.18.0.3/16"], "its link on br0 stays as it was"
    assert not converge(Sandboxes, config=redeclared("db", networks=[]), networks=NETWORKS)["changed"]
    # db moves to back only: back becomes its eth0
    converge(Sandboxes, config=redeclared("db", network_mode="back", networks=[]), networks=NETWORKS)
    assert links("db") == ["eth0", "lo"] and kernel.link("nmv0785d6e6056") is None
    assert addr(kernel, "db") == ["172.19.0.2/16"]
    # web goes to none mode: no link but lo, nothing published
    config = [{k: v for k, v in s.items() if k not in ("publish", "hostname")} for s in redeclared("web", network_mode="none")]
    converge(Sandboxes, config=config, networks=NETWORKS)
    assert links("web") == ["lo"] and "netns:web" not in {who for who, _m in firewall.published()}
    assert not converge(Sandboxes, config=config, networks=NETWORKS)["changed"]


def _on(network, names):
    return [{"name": name, "network_mode": network} for name in names]


def test_more_sandboxes_than_a_bridge_has_ports_fail_before_anything_changes(converge, kernel, firewall):
    """Issue 13, item 14: the kernel gives a bridge at most 1023 ports."""
    converge(Networks, config=NETWORKS)
    calls, commits = len(kernel.calls), firewall.commits
    many = _on("br0", ["s%d" % i for i in range(1100)])
    for state in ("merged", "gathered"):
        with pytest.raises(Conflict, match="config: network br0: bridge br0 would have 1100 ports .*at most 1023 on one bridge"
                                           ". Split its sandboxes across several networks"):
            converge(Sandboxes, config=many, networks=NETWORKS, state=state)
    assert (len(kernel.calls), firewall.commits) == (calls, commits)
    assert not kernel.netns, "a sandbox was made before the refusal"


def test_the_ports_a_bridge_has_count_and_those_this_run_removes_do_not(converge, kernel):
    converge(Networks, config=NETWORKS)
    for i in range(1020):   # someone else's ports
        kernel.link_add_veth("fill%d" % i, "peer%d" % i)
        kernel.link_set("fill%d" % i, master="br0")
    three = _on("br0", ["s0", "s1", "s2"])
    converge(Sandboxes, config=three, networks=NETWORKS)
    assert len(kernel.bridge_ports("br0")) == 1023, "the last ports fit"
    assert not converge(Sandboxes, config=three, networks=NETWORKS)["changed"], "a sandbox's own port is not counted twice"
    with pytest.raises(Conflict, match="bridge br0 would have 1024 ports \\(1020 already on it and 4 more\\)"):
        converge(Sandboxes, config=three + _on("br0", ["s3"]), networks=NETWORKS)
    assert kernel.netns_inode("s3") is None
    # Ports this run frees: a sandbox removed, another leaving the network, the undeclared ones pruned.
    gone = [dict(three[0], state="absent"), dict(three[1], network_mode="back")] + _on("br0", ["s3"])
    converge(Sandboxes, config=gone + three[2:], networks=NETWORKS)
    assert len(kernel.bridge_ports("br0")) == 1022
    converge(Sandboxes, config=_on("br0", ["s4", "s5", "s6"]), networks=NETWORKS, state="overridden")
    assert sorted(kernel.netns) == ["s4", "s5", "s6"] and len(kernel.bridge_ports("br0")) == 1023


# -- IPv6 -------------------------------------------------------------------------------------------

# Without resolvers (dns: false), for the hosts files' lines and the host's nameservers of both families.
DUAL = [{"name": "dual", "ipv6": True, "subnet": ["172.18.0.0/16", "fd31:18::/64"], "dns": False},
        {"name": "six", "ipv6": True, "ipv4": False, "dns": False}, {"name": "four", "subnet": "172.30.0.0/24", "dns": False}]
DUAL_SANDBOXES = [{"name": "a", "network_mode": "dual", "ip6": "fd31:18::a"}, {"name": "b", "network_mode": "dual", "networks": ["six", "four"]},
                  {"name": "c", "network_mode": "six"}]


def test_dual_stack_and_ipv6_only_networks_four_steps(four_steps, converge, kernel, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\nnameserver fd31:53::53\n"
    first = four_steps(Sandboxes, config=DUAL_SANDBOXES, networks=DUAL, converge_networks=True)
    six = ipaddress.ip_network(first["networks"]["six"]["subnet6"])
    assert first["networks"]["dual"] == {"subnet": "172.18.0.0/16", "gateway": "172.18.0.1", "subnet6": "fd31:18::/64", "gateway6": "fd31:18::1"}
    assert first["networks"]["six"]["subnet"] is None and six.prefixlen == 64 and six.subnet_of(ipaddress.ip_network("fd00::/8"))
    assert addr(kernel, "a") == ["172.18.0.2/16", "fd31:18::a/64"], "ip6 given"
    assert addr(kernel, "b") == ["172.18.0.3/16", "fd31:18::2/64"], "the first free IPv6 address, ::a taken by a"
    assert addr(kernel, "b", "eth1") == ["%s/64" % (six.network_address + 2)] and addr(kernel, "b", "eth2") == ["172.30.0.2/24"]
    assert [kernel.link(n, "b").ipv6 for n in ("eth0", "eth1", "eth2")] == ["on", "on", "off"], "IPv6 off where the network has none"
    routes = sorted(str(r) for r in kernel.link("eth0", "a").routes)
    assert routes == ["default via 172.18.0.1", "default via fd31:18::1"]
    assert sorted(str(a) for a in kernel.link("dual").addresses) == ["172.18.0.1/16", "fd31:18::1/64"]
    hosts = files.files[("b", "hosts")]
    assert "fd31:18::a\ta\n" in hosts and "172.18.0.2\ta\n" in hosts and "%s\tc\n" % (six.network_address + 3) in hosts
    assert "nameserver fd31:53::53" in files.files[("b", "resolv.conf")], "a sandbox with IPv6 keeps IPv6 nameservers"


def test_an_ipv6_address_must_fit_the_networks_families(converge, refused):
    converge(Networks, config=DUAL)
    refused(Sandboxes, InvalidInput, "a: ip6: fd31:30::5 is an IPv6 address, but network four has no IPv6; give the network ipv6: true",
            config=[{"name": "a", "network_mode": "four", "ip6": "fd31:30::5"}], networks=DUAL)
    refused(Sandboxes, InvalidInput, "a: ip: 172.30.0.9 is an IPv4 address, but network six has no IPv4 .it is IPv6-only.",
            config=[{"name": "a", "network_mode": "six", "ip": "172.30.0.9"}], networks=DUAL)
    refused(Sandboxes, InvalidInput, r"config\[0\] \(a\): ip6: 172.18.0.9 is an IPv4 address; ip6 takes IPv6 \(give IPv4 addresses in ip\)",
            config=[{"name": "a", "network_mode": "dual", "ip6": "172.18.0.9"}], networks=DUAL)
    refused(Sandboxes, InvalidInput, "a: ip6: fd31:19::9 is not a free host address of network dual",
            config=[{"name": "a", "network_mode": "dual", "ip6": "fd31:19::9"}], networks=DUAL)
    refused(Sandboxes, InvalidInput, "a: ip6: fd31:18::1 is not a free host address of network dual",
            config=[{"name": "a", "network_mode": "dual", "ip6": "fd31:18::1"}], networks=DUAL)


def test_a_network_whose_bridge_lacks_a_declared_family_yet_takes_its_addresses(converge, kernel, files):
    # A run killed after the bridge's IPv4 address and before its IPv6 one (the crash test found
    # it): the declaration says the network has IPv6, so an ip6 on it is no error, and the next
    # run finishes the bridge and plugs the sandbox in.
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Networks, config=[{"name": "dual", "subnet": "172.18.0.0/16"}])
    result = converge(Sandboxes, config=[{"name": "a", "network_mode": "dual", "ip6": "fd31:18::a"}], networks=DUAL, converge_networks=True)
    assert result["changed"] and addr(kernel, "a") == ["172.18.0.2/16", "fd31:18::a/64"]


def test_a_new_dual_stack_sandbox_publishes_on_both_families_in_its_first_run(four_steps, converge, firewall, files):
    # The plan publishes a sandbox made in the same run at the addresses the plan gives it: both
    # families, not only the first (a second run would then have something left to do).
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    config = [{"name": "a", "network_mode": "dual", "publish": ["8080:80"]}, {"name": "c", "network_mode": "six", "publish": ["8081:80"]}]
    four_steps(Sandboxes, config=config, networks=DUAL, converge_networks=True)
    published = sorted(str(m) for who, m in firewall.read().published())
    assert published == ["8080:80/tcp", "[::]:8080:80/tcp", "[::]:8081:80/tcp"], published


def test_a_sandbox_routes_off_network_through_its_first_network_that_is_not_internal(converge, kernel):
    # Docker's gateway endpoint: never an internal network. On internal networks only, no default route.
    networks = [{"name": "br0", "subnet": "172.18.0.0/16"}, {"name": "back", "subnet": "172.30.0.0/16", "internal": True}]
    config = [{"name": "db", "network_mode": "back"}, {"name": "app", "network_mode": "back", "networks": ["br0"]},
              {"name": "web", "network_mode": "br0", "networks": ["back"]}]
    converge(Networks, config=networks)
    converge(Sandboxes, config=config, networks=networks)
    routes = {(netns, link): sorted(str(r) for r in kernel.link(link, netns).routes)
              for netns, links in (("db", ("eth0",)), ("app", ("eth0", "eth1")), ("web", ("eth0", "eth1"))) for link in links}
    assert routes == {("db", "eth0"): [], ("app", "eth0"): [], ("app", "eth1"): ["default via 172.18.0.1"],
                      ("web", "eth0"): ["default via 172.18.0.1"], ("web", "eth1"): []}
    assert not converge(Sandboxes, config=config, networks=networks)["changed"]
    # A network that becomes internal takes its default route with it.
    networks[0]["internal"] = True
    converge(Networks, config=networks)
    converge(Sandboxes, config=config, networks=networks)
    assert kernel.link("eth0", "web").routes == frozenset() and kernel.link("eth1", "app").routes == frozenset()


def test_a_routed_networks_published_ports_take_no_host_port(converge, files, firewall):
    """Docker's routed port mapper: the host port of -p is ignored (nothing is DNATed: another
    sandbox may publish the same host port on a nat network), the container port alone is opened;
    four-step idempotent, and back to nat the host port is mapped again."""
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    networks = [{"name": "rt", "subnet": "172.18.0.0/16", "gateway_mode_ipv4": "routed"}, {"name": "nt", "subnet": "172.19.0.0/16"}]
    boxes = [{"name": "r", "network_mode": "rt", "publish": ["8080:80"]}, {"name": "n", "network_mode": "nt", "publish": ["8080:80"]}]
    converge(Networks, config=networks)
    first = converge(Sandboxes, config=boxes, networks=networks)
    assert first["changed"] and not converge(Sandboxes, config=boxes, networks=networks)["changed"]
    assert not converge(Sandboxes, check=True, config=boxes, networks=networks)["changed"]
    state = firewall.read()
    assert [str(m) for who, m in state.published()] == ["8080:80/tcp"] and state.published()[0][0] == "netns:n", "only n's host port is mapped"
    assert state.owned_by("netns:r"), "r's container port is opened"
    nat = [dict(networks[0], gateway_mode_ipv4="nat"), networks[1]]
    converge(Networks, config=nat)
    with pytest.raises(Conflict, match="host port 8080/tcp is already published by sandbox"):
        converge(Sandboxes, config=boxes, networks=nat)   # on nat, both want host port 8080
    converge(Sandboxes, config=boxes[:1], networks=nat, state="overridden")
    assert [(who, str(m)) for who, m in firewall.read().published()] == [("netns:r", "8080:80/tcp")], "back on nat, r's host port is mapped"


def test_members_of_an_isolated_network_made_by_another_run_get_addresses_and_no_route(converge, kernel):
    """The networks module makes the bridge (no address: isolated), a later sandboxes run plugs
    members in: their subnet is the declared one (the bridge has none to read), no default route."""
    networks = [{"name": "vault", "subnet": "172.30.0.0/16", "internal": True, "gateway_mode_ipv4": "isolated"}]
    config = [{"name": "db", "network_mode": "vault"}, {"name": "app", "network_mode": "vault"}]
    converge(Networks, config=networks)
    assert kernel.link("vault").addresses == frozenset()
    converge(Sandboxes, config=config, networks=networks)
    assert {box: sorted(str(a) for a in kernel.link("eth0", box).addresses) for box in ("db", "app")} == {
        "db": ["172.30.0.2/16"], "app": ["172.30.0.3/16"]}
    assert kernel.link("eth0", "db").routes == frozenset()
    assert not converge(Sandboxes, config=config, networks=networks)["changed"]


def test_a_member_of_an_isolated_network_cannot_publish(refused):
    networks = [{"name": "vault", "subnet": "172.30.0.0/16", "internal": True, "gateway_mode_ipv4": "isolated"}]
    refused(Sandboxes, InvalidInput, r"^db: publish: network vault is in gateway mode isolated, so the host has no way to its members",
            config=[{"name": "db", "network_mode": "vault", "publish": ["8080:80"]}], networks=networks)
