# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netmodes.linux.net_info on a simulated host, checked against what `ip -j` says there.

The expected answer is built from the real objects alone (iproute2's JSON, stat, the files), so
the module's own reading (pyroute2, nsid lookups, the firewall parsers) is checked, not repeated.
Every test runs on an nftables host and on an iptables-legacy host.
"""

from __future__ import annotations

import ipaddress

import pytest
from conftest import BACKENDS, assert_unchanged, firewall, sh, sh_json, snapshot, use_backend

WORLD = """
- hosts: sim1
  gather_facts: false
  tasks:
    - netmodes.linux.bridge: {name: br0, addresses: [172.18.0.1/16], mtu: 1450, icc: false}
    - netmodes.linux.bridge: {name: br-int, addresses: [172.19.0.1/24], internal: true}
    - netmodes.linux.netns: {name: "{{ item }}"}
      loop: [web, db]
    - netmodes.linux.netns: {name: web-side, share_with: web}
    - netmodes.linux.veth:
        name: "veth-{{ item.name }}"
        netns: "{{ item.name }}"
        bridge: br0
        addresses: ["{{ item.ip }}/16"]
        gateway: 172.18.0.1
      loop: [{name: web, ip: 172.18.0.10}, {name: db, ip: 172.18.0.11}]
    - netmodes.linux.portmap: {netns: web, bridge: br0, ports: ["8080:80", "127.0.0.1:5353:53/udp"]}
    - netmodes.linux.dns_config:
        netns: web
        hostname: web1
        nameservers: [10.231.0.53]
        search: [corp.example]
        extra_hosts: ["db:172.18.0.11"]
"""

OPTIONS = {"br0": {"ip_masquerade": True, "icc": False, "internal": False},
           "br-int": {"ip_masquerade": True, "icc": True, "internal": True}}


@pytest.fixture(params=BACKENDS)
def world(request, ansible, sim1):
    use_backend(sim1, request.param)
    run = ansible.playbook(WORLD)
    assert not run.failed, run
    sh(sim1, "ip netns add byhand")
    yield request.param
    sim1.run("rm -rf /etc/netns")


# -- the expected answer, from the real objects ------------------------------------------------

def _addresses(link):
    return sorted("%s/%d" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", []) if a["scope"] != "link")


def _links(host, netns=None):
    where = "-n %s " % netns if netns else ""
    return sh_json(host, "ip %s-d -j addr show" % where)


def _routes(host, netns):
    out = []
    for family in ("-4", "-6"):
        for route in sh_json(host, "ip %s -n %s -j route show table main" % (family, netns)):
            if route["dst"] == "fe80::/64":
                continue
            out.append({"dst": route["dst"], "via": route.get("gateway"), "dev": route.get("dev"),
                        "metric": route.get("metric", 0), "protocol": route["protocol"]})
    return out


def _peer(link, others):
    """The link of OTHERS at the other end of veth LINK (ifindex and link_index pair up)."""
    return next((o for o in others if o.get("link_index") == link["ifindex"] and o["ifindex"] == link.get("link_index")), None)


def expected(host):
    """net_info's networks and sandboxes as iproute2, stat and cat see them."""
    names = sorted(sh(host, "ls -1 /run/netns").split())
    inodes = {name: int(sh(host, "stat -c %%i /run/netns/%s" % name)) for name in names}
    sharing = {name: [n for n in names if inodes[n] == inodes[name]] for name in names}
    host_links = _links(host)
    spaces = {name: _links(host, name) for name in names}
    # the resolvers' listen addresses, as their configs say: {address: network}
    listening = {}
    for line in sh(host, "grep -H '^listen-address=' /run/netmodes-resolver/*/dnsmasq.conf 2>/dev/null || true").splitlines():
        path, address = line.split(":listen-address=")
        if not path.split("/")[-2].startswith("view:"):  # a sandbox's resolver view is no network's resolver
            listening[address] = path.split("/")[-2]
    networks = []
    for bridge in host_links:
        if bridge.get("linkinfo", {}).get("info_kind") != "bridge" or not (bridge.get("ifalias") or "").startswith("netmodes.linux"):
            continue
        addresses = _addresses(bridge)
        members = []
        for port in host_links:
            for name in names if port.get("master") == bridge["ifname"] else ():
                peer = _peer(port, spaces[name])
                if peer and sharing[name][0] == name:
                    members.append({"sandbox": name, "names": sharing[name], "interface": peer["ifname"],
                                    "host_interface": port["ifname"], "mac": peer["address"], "addresses": _addresses(peer)})
        networks.append({"name": bridge["ifname"], "driver": "bridge",
                         "subnets": sorted({str(ipaddress.ip_interface(a).network) for a in addresses}),
                         "gateway": _lowest(addresses, 4), "gateway6": _lowest(addresses, 6),
                         "resolver": listening.get(_lowest(addresses, 4)) or listening.get(_lowest(addresses, 6)),
                         "ipv6": _lowest(addresses, 6) is not None,
                         "addresses": addresses,
                         "mtu": bridge["mtu"], "mac": bridge["address"], "up": "UP" in bridge["flags"],
                         "options": OPTIONS[bridge["ifname"]], "members": sorted(members, key=lambda m: m["sandbox"])})
    sandboxes = []
    for name in names:
        interfaces = []
        for link in spaces[name]:
            end = _peer(link, host_links) if "link_netnsid" in link else None
            interfaces.append({"name": link["ifname"], "kind": link.get("linkinfo", {}).get("info_kind"), "mac": link["address"],
                               "mtu": link["mtu"], "up": "UP" in link["flags"], "addresses": _addresses(link),
                               "ipv6": _ipv6(host, name, link["ifname"]),
                               "host_interface": end["ifname"] if end else None, "network": end.get("master") if end else None})
        sandboxes.append({"name": name, "path": "/run/netns/" + name, "inode": inodes[name], "names": sharing[name],
                          "owned": name != "byhand", "interfaces": interfaces, "routes": _routes(host, name)})
    return networks, sandboxes


def _lowest(addresses, version):
    ips = sorted(ipaddress.ip_interface(a).ip for a in addresses if ipaddress.ip_interface(a).version == version)
    return str(ips[0]) if ips else None


def _ipv6(host, netns, link):
    """A link's IPv6 as net_info words it, from its sysctls."""
    disabled, accept_ra = sh(host, "cat /proc/sys/net/ipv6/conf/%s/disable_ipv6 /proc/sys/net/ipv6/conf/%s/accept_ra" % (link, link),
                             netns=netns).split()
    return "off" if disabled == "1" else "on" if accept_ra == "0" else "auto"


def _file(host, path):
    proc = host.run("cat %s" % path, check=False)
    return proc.stdout if proc.returncode == 0 else None


# -- the tests ---------------------------------------------------------------------------------

def test_the_answer_is_the_hosts_real_state(world, ansible, sim1):
    before = snapshot(sim1)
    run = ansible.adhoc("sim1", "net_info", "")
    assert not run.failed and not run.changed, run
    assert_unchanged(before, snapshot(sim1), "net_info changed the host")
    result = run.result()
    networks, sandboxes = expected(sim1)
    assert result["firewall"] == world
    assert result["networks"] == networks
    assert [m["sandbox"] for m in networks[0]["members"]] == ["db", "web"], "the expectation itself found the members"
    assert [{k: v for k, v in s.items() if k not in ("published", "ports", "dns")} for s in result["sandboxes"]] == sandboxes

    web = {s["name"]: s for s in result["sandboxes"]}
    assert web["web"]["published"] == web["web-side"]["published"] == ["127.0.0.1:5353:53/udp", "8080:80/tcp"]
    assert web["web"]["ports"] == {"53/udp": ["127.0.0.1:5353"], "80/tcp": ["0.0.0.0:8080"]}, "docker port's answer"
    assert web["db"]["published"] == web["byhand"]["published"] == []
    assert "8080" in firewall(sim1) and "5353" in firewall(sim1)
    dns = web["web"]["dns"]
    assert dns["hostname"] == _file(sim1, "/etc/netns/web/hostname").strip() == "web1"
    assert dns["resolv_conf"] == {"nameservers": ["10.231.0.53"], "search": ["corp.example"], "options": []}
    hosts = [line.split() for line in _file(sim1, "/etc/netns/web/hosts").splitlines() if line and not line.startswith("#")]
    assert [[h["address"]] + h["names"] for h in dns["hosts"]] == hosts
    assert all(f["exists"] and f["managed"] and not f["edited"] for f in dns["files"].values())
    assert web["db"]["dns"] is None and web["web-side"]["dns"] is None


def test_check_mode_gives_the_same_answer(world, ansible, sim1):
    real = ansible.adhoc("sim1", "net_info", "")
    before = snapshot(sim1)
    check = ansible.adhoc("sim1", "net_info", "", check=True)
    assert not check.failed and not check.changed, check
    assert_unchanged(before, snapshot(sim1))
    assert {k: v for k, v in check.result().items() if k != "invocation"} == {k: v for k, v in real.result().items() if k != "invocation"}


def test_brief_is_the_full_answer_cut_short(world, ansible, sim1):
    full = ansible.adhoc("sim1", "net_info", "").result()
    run = ansible.adhoc("sim1", "net_info", "brief=true")
    assert not run.failed and not run.changed, run
    brief = run.result()
    assert [{k: n[k] for k in ("name", "subnets", "gateway", "gateway6", "options", "resolver")} | {"members": [m["sandbox"] for m in n["members"]]}
            for n in full["networks"]] == brief["networks"]
    web = {s["name"]: s for s in brief["sandboxes"]}["web"]
    addresses = {i["name"]: i["addresses"] for i in {s["name"]: s for s in full["sandboxes"]}["web"]["interfaces"] if i["name"] == "eth0"}
    assert web == {"name": "web", "names": ["web", "web-side"], "owned": True, "addresses": addresses, "networks": ["br0"],
                   "published": ["127.0.0.1:5353:53/udp", "8080:80/tcp"], "ports": {"53/udp": ["127.0.0.1:5353"], "80/tcp": ["0.0.0.0:8080"]}}


def test_filters_and_a_file_edited_by_hand(world, ansible, sim1):
    sh(sim1, "echo '10.231.9.9 extra' >> /etc/netns/web/hosts")
    run = ansible.adhoc("sim1", "net_info", {"netns": ["web", "ghost"], "network": ["br-int"]})
    assert not run.failed, run
    result = run.result()
    assert [s["name"] for s in result["sandboxes"]] == ["web"] and [n["name"] for n in result["networks"]] == ["br-int"]
    assert result["networks"][0]["members"] == []
    hosts = {"path": "/etc/netns/web/hosts", "exists": True, "managed": False, "edited": True}
    assert result["sandboxes"][0]["dns"]["files"]["hosts"] == hosts
    assert "netns: no sandbox named ghost" in run.stdout + run.stderr
    assert sim1.run("test -e /run/netns/ghost", check=False).returncode != 0, "a missing sandbox was created"


def test_readable_from_ansible_all(hosts, ansible, fleet):
    sim1 = fleet.host("sim1")
    sh(sim1, "ip netns add byhand")
    run = ansible.adhoc("all", "net_info", "")
    assert not run.failed, run
    assert run.result("sim2")["sandboxes"] == [] and run.result("sim2")["networks"] == []
    assert [s["name"] for s in run.result("sim1")["sandboxes"]] == ["byhand"]
    # The YAML callback of ansible.cfg: a reader sees keys and values, not one line of JSON.
    assert "sim1 | SUCCESS =>" in run.stdout and "\n    sandboxes:\n" in run.stdout and "name: byhand" in run.stdout


def test_a_shared_namespace_is_named_by_the_sandbox_that_made_it(world, ansible, sim1):
    """Issue 18: aside shares web's namespace and sorts before it; net_info still names it web
    (the kernel's mount list, in the order the names were made, says which came first)."""
    assert not ansible.adhoc("sim1", "netns", "name=aside share_with=web").failed
    result = ansible.adhoc("sim1", "net_info", "").result()
    (member,) = [m for m in result["networks"][0]["members"] if "aside" in m["names"]]
    assert member["sandbox"] == "web" and member["names"] == ["web", "web-side", "aside"]
    assert {s["name"]: s["names"] for s in result["sandboxes"]}["aside"] == ["web", "web-side", "aside"]
    assert ansible.adhoc("sim1", "net_info", "brief=true").result()["networks"][0]["members"] == ["db", "web"]
    sh(sim1, "ip netns del web")  # the name it was made under goes: the namespace lives on under its second names
    (member,) = [m for m in ansible.adhoc("sim1", "net_info", "").result()["networks"][0]["members"] if "aside" in m["names"]]
    assert member["sandbox"] == "web-side" and member["names"] == ["web-side", "aside"]
