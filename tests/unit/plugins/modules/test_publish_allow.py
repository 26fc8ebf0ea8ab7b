# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A published port's ``allow`` (issue 19): the firewall admits only the listed sources (CIDRs,
and the hosts of inventory groups by their addresses), on both backends, four-step idempotent,
and a changed list is replaced in one run."""

from __future__ import annotations

import ipaddress
import json

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import ipt_rules as ipt
from ansible_collections.netmodes.linux.plugins.module_utils._firewall import nft_rules as nft
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.intents import Publish
from ansible_collections.netmodes.linux.plugins.module_utils._ports import port_mapping
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks
from ansible_collections.netmodes.linux.plugins.modules.portmap import Portmap

TARGET, NET = ipaddress.ip_address("172.18.0.10"), ipaddress.ip_network("172.18.0.0/16")
TARGET6, NET6 = ipaddress.ip_address("fd31:18::10"), ipaddress.ip_network("fd31:18::/64")
ALLOW = ["10.231.1.0/24", "10.231.2.7", "fd31:5::/64"]


@pytest.fixture
def firewall(each_firewall):
    return each_firewall


@pytest.fixture
def world(bridge_world):
    return bridge_world


def admitted(items, backend):
    """{(target, protocol, container port): [the sources its allow-list chain accepts]} from rendered ITEMS,
    read from the rules themselves; "open" for a port that admits everyone."""
    out = {}
    if backend == "nftables":
        chains = {item[1]: [json.loads(rule) for rule in item[2]] for item in items if item[0] == "chain"}
        for _kind, name, key, value in (i for i in items if i[0] == "elem"):
            if name.startswith("exposed"):
                out[key] = "open"
            elif name.startswith("allowed"):
                rules = chains[value[len("jump "):]]
                assert all(rule[-1] == {"accept": None} for rule in rules)
                out[key] = [rule[0]["match"]["right"] for rule in rules]
        return out
    chains = {item[2]: item[3] for item in items if item[0] == "chain"}
    for item in (i for i in items if i[0] == "rule" and i[2] == "NETMODES-PUBLISHED"):
        head, matches, target = item[3]
        key = (dict(head)["-d"].split("/")[0], dict(head)["-p"], dict(dict(matches)[dict(head)["-p"]])["dport"].replace(":", "-"))
        if target[0] == "ACCEPT":
            out[key] = "open"
            continue
        rules = chains[target[0]]
        assert rules[-1][2][0] == "RETURN" and all(rule[2][0] == "ACCEPT" for rule in rules[:-1])
        out[key] = [dict(rule[0])["-s"] for rule in rules[:-1]]
    return out


@pytest.mark.parametrize("backend", [nft, ipt])
def test_the_rendered_rules_admit_exactly_the_list_of_the_targets_family(backend):
    name = "nftables" if backend is nft else "iptables"
    allow = port_mapping({"port": "8080:80", "allow": ALLOW}, "p").allow
    intents = [Publish(port_mapping("8080:80", "p").for_family(4), TARGET, NET, allow=allow),
               Publish(port_mapping("[::]:8080:80", "p"), TARGET6, NET6, allow=allow),
               Publish(port_mapping("9000-9002:9000-9002", "p").for_family(4), TARGET, NET, allow=()),
               Publish(port_mapping("8081:81", "p").for_family(4), TARGET, NET)]
    got = admitted(backend.render("netns:web", intents), name)
    plain = (lambda s: s) if name == "iptables" else (
        lambda s: s.split("/")[0] if s.endswith(("/32", "/128")) else {"prefix": {"addr": s.split("/")[0], "len": int(s.split("/")[1])}})
    assert got == {("172.18.0.10", "tcp", "80"): [plain("10.231.1.0/24"), plain("10.231.2.7/32")],
                   ("fd31:18::10", "tcp", "80"): [plain("fd31:5::/64")],
                   ("172.18.0.10", "tcp", "9000-9002"): [],
                   ("172.18.0.10", "tcp", "81"): "open"}


def test_nftables_sends_a_listed_port_through_its_chain_and_never_through_the_open_accept():
    allow = port_mapping({"port": "8080:80", "allow": ["10.231.1.0/24"]}, "p").allow
    items = nft.render("netns:web", [Publish(port_mapping("8080:80", "p").for_family(4), TARGET, NET, allow=allow)])
    assert not any(i[0] == "elem" and i[1].startswith("exposed") for i in items)
    chain = next(i[1] for i in items if i[0] == "chain")
    assert nft.chain_owner(chain) == "netns:web"
    assert ("elem", "allowed4", ("172.18.0.10", "tcp", "80"), "jump " + chain) in items
    assert ("elem", "any-addr4", ("tcp", "8080"), "172.18.0.10") in items, "the DNAT is as without allow"


def test_iptables_owns_an_allow_chain_by_its_rules_tag():
    allow = port_mapping({"port": "8080:80", "allow": []}, "p").allow
    items = ipt.render("netns:web", [Publish(port_mapping("8080:80", "p").for_family(4), TARGET, NET, allow=allow)])
    chain = next(i for i in items if i[0] == "chain")
    assert len(chain[2]) <= 28 and chain[2].startswith(ipt.ALLOW_PREFIX)
    assert ipt._owner(chain) == "netns:web"


def test_portmap_with_allow_four_steps_and_a_changed_list_in_one_run(world, four_steps, converge, firewall):
    four_steps(Portmap, netns="web", bridge="br0", ports=[{"port": "8080:80", "allow": ALLOW[:1]}, "8081:81"])
    assert admitted(firewall.read().owned_by("netns:web"), firewall.name)[("172.18.0.10", "tcp", "80")] != "open"
    commits = firewall.commits
    changed = converge(Portmap, netns="web", bridge="br0", ports=[{"port": "8080:80", "allow": ALLOW}, "8081:81"])
    assert changed["changed"] and firewall.commits == commits + 1, "the list is replaced in one transaction"
    assert not converge(Portmap, netns="web", bridge="br0", ports=[{"port": "8080:80", "allow": ALLOW}, "8081:81"])["changed"]
    got = admitted(firewall.read().owned_by("netns:web"), firewall.name)
    assert len(got[("172.18.0.10", "tcp", "80")]) == 2 and got[("172.18.0.10", "tcp", "81")] == "open"
    # without allow, open again, and the chain is gone
    converge(Portmap, netns="web", bridge="br0", ports=["8080:80", "8081:81"])
    assert set(admitted(firewall.read().owned_by("netns:web"), firewall.name).values()) == {"open"}
    assert not any(i[0] == "chain" for i in firewall.read().owned_by("netns:web"))
    assert not any("allow" in str(entry) for entry in firewall.owned("netns:web"))


def test_portmap_cannot_know_a_group(world, refused):
    refused(Portmap, InvalidInput, "^ports: 8080:80/tcp: allow names the inventory group web_clients, which the portmap module",
            netns="web", bridge="br0", ports=[{"port": "8080:80", "allow": ["web_clients"]}])


def _fleet(members):
    hosts = {"sim1": {"underlay": "10.231.1.11"}, "sim2": {"underlay": "10.231.1.12", "addresses": ["10.231.1.12", "fd31:1::12"]},
             "sim3": {"underlay": "10.231.1.13"}}
    return {"host": "sim1", "groups": {"clients": members}, "hosts": hosts}


def test_sandboxes_admit_a_groups_hosts_and_follow_the_inventory_in_one_run(four_steps, converge, firewall, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    networks = [{"name": "br0", "subnet": "172.18.0.0/16"}]
    config = [{"name": "web", "network_mode": "br0", "publish": [{"port": "8080:80", "allow": ["clients", "10.231.9.0/24"]}]}]
    converge(Networks, config=networks)
    four_steps(Sandboxes, config=config, networks=networks, fleet=_fleet(["sim2"]))
    got = admitted(firewall.read().owned_by("netns:web"), firewall.name)
    assert list(got) == [("172.18.0.2", "tcp", "80")]
    sources = got[("172.18.0.2", "tcp", "80")]
    assert [str(s) for s in sources] in (["10.231.1.12", "{'prefix': {'addr': '10.231.9.0', 'len': 24}}"], ["10.231.1.12/32", "10.231.9.0/24"])
    # sim3 joins the group: one run admits it too
    commits = firewall.commits
    assert converge(Sandboxes, config=config, networks=networks, fleet=_fleet(["sim2", "sim3"]))["changed"]
    assert firewall.commits == commits + 1
    assert not converge(Sandboxes, config=config, networks=networks, fleet=_fleet(["sim2", "sim3"]))["changed"]
    assert len(admitted(firewall.read().owned_by("netns:web"), firewall.name)[("172.18.0.2", "tcp", "80")]) == 3


def test_sandboxes_refuse_a_group_the_inventory_lacks(converge, refused, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    networks = [{"name": "br0", "subnet": "172.18.0.0/16"}]
    config = [{"name": "web", "network_mode": "br0", "publish": [{"port": "8080:80", "allow": ["nobody"]}]}]
    converge(Networks, config=networks)
    refused(Sandboxes, InvalidInput, "^config\\[0\\] \\(web\\): publish: 8080:80/tcp: allow names the group 'nobody', which the inventory does not have",
            config=config, networks=networks, fleet=_fleet(["sim2"]))
