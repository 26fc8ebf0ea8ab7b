# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batch modules: a host's networks and sandboxes in one run, with Docker's rules."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _site
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks
from ansible_collections.netmodes.linux.plugins.modules.sandboxes import Sandboxes

NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16"}, {"name": "back", "internal": True}]
SANDBOXES = [
    {"name": "web", "network_mode": "br0", "publish": ["8080:80"], "hostname": "web1"},
    {"name": "db", "network_mode": "br0", "networks": ["back"], "aliases": ["database"]},
    {"name": "side", "network_mode": "container:web"},
    {"name": "quiet", "network_mode": "none"},
    {"name": "legacy", "network_mode": "bridge"},
    {"name": "web2", "network_mode": "host", "ports": [80]},
]


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


def test_the_whole_host_four_steps(converge, kernel, files, firewall):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    converge(Networks, config=NETWORKS)
    calls = (len(kernel.calls), firewall.commits, len(files.calls))
    check = converge(Sandboxes, check=True, config=SANDBOXES, networks=NETWORKS)
    assert check["changed"] and (len(kernel.calls), firewall.commits, len(files.calls)) == calls, "check mode applied something"
    # objects that depend on ones made earlier in the same run are planned with a warning
    assert any("planned as if an earlier task creates it" in w or "check mode" in w for w in check["warnings"])
    result = converge(Sandboxes, config=SANDBOXES, networks=NETWORKS)
    assert result["changed"]
    again = converge(Sandboxes, config=SANDBOXES, networks=NETWORKS)
    assert not again["changed"], again["operations"]
    assert not converge(Sandboxes, check=True, config=SANDBOXES, networks=NETWORKS)["changed"]
    assert addr(kernel, "web") == ["172.18.0.2/16"] and addr(kernel, "db") == ["172.18.0.3/16"]
    assert addr(kernel, "db", "eth1") == ["172.17.0.2/16"], "db's second network is eth1 (back: the first free pool)"
    assert kernel.netns["side"] == kernel.netns["web"], "container mode shares web's namespace"
    assert [n for (ns, n) in kernel.links if ns == kernel.netns["quiet"]] == ["lo"], "none mode has only lo"
    assert kernel.link(_site.DEFAULT_BRIDGE) is not None, "the default network is made on first use"
    assert result["sandboxes"]["legacy"]["addresses"] == ["172.19.0.2/16"]
    hosts = files.files[("web", "hosts")]
    assert "172.18.0.3\tdb" in hosts.replace(" ", "\t") or "172.18.0.3 db" in hosts, hosts
    assert "database" in hosts, "aliases resolve too"
    assert "legacy" not in files.files[("web", "hosts")], "the default bridge network has no name resolution"
    assert "web" not in files.files[("legacy", "hosts")].split("localhost")[-1].replace("legacy", "")


def test_addresses_are_kept_and_freed_addresses_reused(host, converge, kernel):
    converge(Sandboxes, config=[{"name": "side", "state": "absent", "network_mode": "container:web"},
                                {"name": "web", "state": "absent", "network_mode": "br0"}], networks=NETWORKS)
    assert kernel.netns_inode("web") is None and kernel.netns_inode("side") is None
    again = converge(Sandboxes, config=SANDBOXES, networks=NETWORKS)
    assert again["changed"] and addr(kernel, "db") == ["172.18.0.3/16"] and addr(kernel, "web") == ["172.18.0.2/16"]


def test_overridden_prunes_only_ours(host, converge, kernel):
    kernel.netns["handmade"] = 4026539999
    converge(Sandboxes, config=SANDBOXES[:2], networks=NETWORKS, state="overridden")
    assert kernel.netns_inode("quiet") is None and kernel.netns_inode("handmade") is not None
    assert kernel.netns_inode("web") is not None


@pytest.mark.parametrize("config, error, fragment", [
    ([{"name": "a", "network_mode": "container:a"}], InvalidInput, "names the sandbox itself"),
    ([{"name": "a", "network_mode": "container:b", "publish": ["80:80"]}], InvalidInput, "publish cannot be used with network_mode container:b"),
    ([{"name": "a", "network_mode": "container:b", "hostname": "x", "dns": ["1.1.1.1"]}], InvalidInput, "hostname, dns cannot be used"),
    ([{"name": "a", "network_mode": "container:nobody"}], NotFound, "container:nobody names no sandbox"),
    ([{"name": "a", "network_mode": "nonet"}], NotFound, "network 'nonet' does not exist"),
    ([{"name": "a"}, {"name": "a"}], InvalidInput, "sandbox name 'a' is declared twice"),
    ([{"name": "a", "network_mode": "host", "publish": ["80:80"]}], InvalidInput, "publish cannot be used with network_mode host"),
    ([{"name": "a", "network_mode": "br0", "ports": [80]}], InvalidInput, "only host-mode sandboxes declare ports"),
    ([{"name": "a", "network_mode": "bridge", "networks": ["br0"]}], InvalidInput, "further networks need a user-defined"),
    ([{"name": "a", "network_mode": "br0", "ip": "10.9.9.9"}], InvalidInput, "not a free host address of network br0"),
    ([{"name": "a", "network_mode": "br0", "hostname": "bad_name"}], InvalidInput, "hostname"),
    ([{"name": "a", "network_mode": "br0", "colour": "red"}], InvalidInput, "unknown keys colour"),
    ([{"name": "a", "network_mode": "host", "ports": [80]}, {"name": "b", "network_mode": "host", "ports": [80]}],
     Conflict, "port 80/tcp is already declared by host-mode sandbox a"),
])
def test_bad_specs_fail_before_anything_changes(converge, kernel, firewall, config, error, fragment):
    converge(Networks, config=NETWORKS)
    calls, commits = len(kernel.calls), firewall.commits
    with pytest.raises(error, match=fragment):
        converge(Sandboxes, config=config, networks=NETWORKS)
    assert (len(kernel.calls), firewall.commits) == (calls, commits)


def test_host_mode_preflight_names_the_owner(host, converge, sockets):
    with pytest.raises(Conflict, match=r"port 8080/tcp is published by sandbox web \(8080:80/tcp\)"):
        converge(Sandboxes, config=[{"name": "web3", "network_mode": "host", "ports": [8080]}], networks=NETWORKS)
    sockets.listening.append(("tcp", ipaddress.ip_address("0.0.0.0"), 9000, 4242))
    with pytest.raises(Conflict, match=r"port 9000/tcp is already in use on the host: python3 \(pid 4242\)"):
        converge(Sandboxes, config=[{"name": "web3", "network_mode": "host", "ports": [9000]}], networks=NETWORKS)


@pytest.mark.parametrize("raw, fragment", [
    ({"name": "x", "driver": "vlan"}, r"driver: 'vlan' is not a driver"),
    ({"name": "x", "driver": "overlay"}, "an overlay network needs a subnet"),
    ({"name": "x", "subnet": "172.18.0.0/16", "gateway": "10.0.0.1"}, "is not a host address of subnet"),
    ({"name": "this-name-is-too-long"}, "name"),
])
def test_bad_networks(converge, raw, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        converge(Networks, config=[raw])


def test_veth_names_are_stable_and_short():
    assert _site.veth_name("web", "br0") == _site.veth_name("web", "br0") != _site.veth_name("web", "br1")
    assert len(_site.veth_name("a" * 200, "b" * 200)) <= 15


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
    config = [{"name": "db", "network_mode": "br0", "networks": [{"name": "back", "ip": "172.17.0.9"}]},
              {"name": "cache", "network_mode": "back"},
              {"name": "late", "network_mode": "back", "ip": "172.17.0.2"}]
    assert converge(Sandboxes, config=config, networks=NETWORKS)["changed"]
    assert addr(kernel, "db", "eth1") == ["172.17.0.9/16"]
    assert addr(kernel, "late") == ["172.17.0.2/16"], "a given address is kept for its sandbox"
    assert addr(kernel, "cache") == ["172.17.0.3/16"], "an earlier sandbox does not take a later one's given address"
    assert not converge(Sandboxes, config=config, networks=NETWORKS)["changed"]


@pytest.mark.parametrize("networks, fragment", [
    ([{"ip": "172.17.0.9"}], r"config\[0\].networks\[0\]: a network given as a dict needs a name"),
    ([{"name": "back", "mac": "x"}], r"config\[0\].networks\[0\]: unknown keys mac"),
    ([{"name": "back", "ip": "10.9.9.9"}], "db.ip: 10.9.9.9 is not a free host address of network back"),
])
def test_bad_addresses_on_further_networks(converge, kernel, networks, fragment):
    converge(Networks, config=NETWORKS)
    calls = len(kernel.calls)
    with pytest.raises(InvalidInput, match=fragment):
        converge(Sandboxes, config=[{"name": "db", "network_mode": "br0", "networks": networks}], networks=NETWORKS)
    assert len(kernel.calls) == calls
