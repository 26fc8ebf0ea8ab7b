# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandboxes batch with random host ports (-p 80, -p 8000-8100:80) and a network's
host_binding_ipv4 (issue 19): picked once in the plan check mode shows, kept on every later run."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks

NETWORKS = [{"name": "br0", "subnet": "172.18.0.0/16"}]


@pytest.fixture
def host(converge, kernel, files, sysctl):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    sysctl.values["net/ipv4/ip_local_port_range"] = "32768\t60999"
    converge(Networks, config=NETWORKS)


def published(firewall, name):
    return sorted(str(m) for who, m in firewall.published() if who == "netns:%s" % name)


def test_random_ports_of_a_host_four_steps_and_kept(host, converge, firewall, kernel, files):
    # a declares 61000 itself: b's random port (planned after a's) and c's go around it
    config = [{"name": "b", "network_mode": "br0", "publish": ["80", "127.0.0.1::53/udp"]},
              {"name": "a", "network_mode": "br0", "publish": ["61000:80"]},
              {"name": "c", "network_mode": "br0", "publish": ["8000-8002:80"]}]
    calls = (len(kernel.calls), firewall.commits, len(files.calls))
    check = converge(Sandboxes, check=True, config=config, networks=NETWORKS)
    assert (len(kernel.calls), firewall.commits, len(files.calls)) == calls, "check mode applied something"
    run = converge(Sandboxes, config=config, networks=NETWORKS)
    assert run["operations"] == check["operations"], "check mode shows the ports the run picks"
    assert published(firewall, "a") == ["61000:80/tcp"]
    assert published(firewall, "b") == ["127.0.0.1:61000:53/udp", "61001:80/tcp"]
    assert published(firewall, "c") == ["8000:80/tcp"]
    config.append({"name": "d", "network_mode": "br0", "publish": ["80"]})  # a newcomer: the next free one, the others kept
    assert converge(Sandboxes, config=config, networks=NETWORKS)["changed"]
    assert published(firewall, "b") == ["127.0.0.1:61000:53/udp", "61001:80/tcp"] and published(firewall, "d") == ["61002:80/tcp"]
    assert not converge(Sandboxes, config=config, networks=NETWORKS)["changed"]
    assert not converge(Sandboxes, check=True, config=config, networks=NETWORKS)["changed"]


def test_a_fixed_port_declared_on_anothers_kept_random_port_is_refused_not_moved(host, converge, firewall):
    converge(Sandboxes, config=[{"name": "b", "network_mode": "br0", "publish": ["80"]}], networks=NETWORKS)
    config = [{"name": "b", "network_mode": "br0", "publish": ["80"]}, {"name": "a", "network_mode": "br0", "publish": ["61000:80"]}]
    commits = firewall.commits
    with pytest.raises(Conflict, match=r"host port 61000/tcp is already published by sandbox b \(61000:80/tcp\)"):
        converge(Sandboxes, config=config, networks=NETWORKS)
    assert firewall.commits == commits and published(firewall, "b") == ["61000:80/tcp"]


def test_a_kept_port_a_host_process_took_is_refused_naming_it(host, converge, sockets):
    config = [{"name": "b", "network_mode": "br0", "publish": ["80"]}]
    converge(Sandboxes, config=config, networks=NETWORKS)
    sockets.listening.append(("tcp", ipaddress.ip_address("0.0.0.0"), 61000, 4242))
    with pytest.raises(Conflict, match=r"61000/tcp \(picked for 80/tcp on an earlier run and kept\) is already in use on the host:"
                                       r" python3 \(pid 4242\)"):
        converge(Sandboxes, config=config, networks=NETWORKS)


def test_host_binding_ipv4_is_where_a_port_without_an_address_is_published(host, converge, firewall):
    networks = [dict(NETWORKS[0], host_binding_ipv4="10.231.1.11")]
    config = [{"name": "a", "network_mode": "br0", "publish": ["8080:80", "127.0.0.1:8081:81", "82"]},
              {"name": "b", "network_mode": "br0", "publish": ["10.231.1.12:8080:80"]}]   # another address: no conflict
    converge(Sandboxes, config=config, networks=networks)
    assert published(firewall, "a") == ["10.231.1.11:61000:82/tcp", "10.231.1.11:8080:80/tcp", "127.0.0.1:8081:81/tcp"]
    assert not converge(Sandboxes, config=config, networks=networks)["changed"]
    unbound = [dict(NETWORKS[0], host_binding_ipv4="0.0.0.0")]   # Docker's default: every address
    converge(Sandboxes, config=[config[0], dict(config[1], publish=[])], networks=unbound)
    assert published(firewall, "a") == ["127.0.0.1:8081:81/tcp", "61000:82/tcp", "8080:80/tcp"]


def test_host_binding_may_be_an_ipv6_address_as_in_docker(host, converge, firewall):
    """Despite its name: an IPv6 address binds there alone, :: every IPv6 address alone."""
    dual = [{"name": "br6", "subnet": ["172.19.0.0/16", "fd31:19::/64"], "ipv6": True, "host_binding_ipv4": "fd31:1::11"}]
    config = [{"name": "a", "network_mode": "br6", "publish": ["8080:80", "0.0.0.0:8081:81"]}]

    def both_families():   # the product's reader: the fake's own reads IPv4 alone
        return sorted(str(m) for who, m in firewall.read().published() if who == "netns:a")

    converge(Networks, config=dual)
    converge(Sandboxes, config=config, networks=dual)
    assert both_families() == ["8081:81/tcp", "[fd31:1::11]:8080:80/tcp"]
    assert not converge(Sandboxes, config=config, networks=dual)["changed"]
    every6 = [dict(dual[0], host_binding_ipv4="::")]
    converge(Sandboxes, config=config, networks=every6)
    assert both_families() == ["8081:81/tcp", "[::]:8080:80/tcp"], "IPv6 alone, no IPv4 port"
    converge(Sandboxes, config=config, networks=[dict(dual[0], host_binding_ipv4="0.0.0.0")])
    assert both_families() == ["8080:80/tcp", "8081:81/tcp", "[::]:8080:80/tcp"], "0.0.0.0: each family, as without it"
