# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolver per network in the host's plan (the sandboxes batch): started with its network's
first member here, its hosts file rewritten (no restart) as members come and go, restarted when
it listens or forwards elsewhere, started again when it is not running, gone with its network."""

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _resolver
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._errors import NotFound
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks

NETWORKS = [{"name": "front", "subnet": ["10.231.150.0/24", "fd31:150::/64"], "ipv6": True},
            {"name": "back", "subnet": "10.231.151.0/24", "internal": True},
            {"name": "quiet", "subnet": "10.231.152.0/24", "dns": False}]
VIEW = _resolver.view_name(["back", "front"], None)   # db's
SANDBOXES = [{"name": "web", "network_mode": "front", "aliases": ["www"]},
             {"name": "db", "network_mode": "back", "networks": ["front"], "aliases": ["www"]},
             {"name": "q", "network_mode": "quiet"}]


@pytest.fixture
def run(converge, files):
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"

    def go(sandboxes=None, networks=None, check=False, **options):
        return converge(Sandboxes, check=check, config=SANDBOXES if sandboxes is None else sandboxes,
                        networks=NETWORKS if networks is None else networks, converge_networks=True, **options)

    return go


def plain(resolvers):
    """The networks' resolvers (not the views)."""
    return [n for n in resolvers.networks() if not _resolver.is_view(n)]


def resolver_ops(result):
    return [op for op in result["operations"] if op["object"].startswith("resolver ")]


def test_each_network_with_dns_and_members_gets_a_resolver_in_four_steps(run, resolvers):
    check = run(check=True)
    assert resolvers.calls == [], "check mode started nothing"
    first = run()
    assert resolver_ops(first) == resolver_ops(check), "check mode planned the same resolver operations"
    assert plain(resolvers) == ["back", "front"], "dns: false keeps the hosts files alone"
    front = resolvers.resolvers["front"]
    assert "listen-address=10.231.150.1\nlisten-address=fd31:150::1\n" in front["config"]
    assert "server=10.231.0.53\n" in front["config"]
    assert "server=" not in resolvers.resolvers["back"]["config"], "an internal network forwards nothing"
    assert front["hosts"].splitlines()[1:] == ["10.231.150.3\tdb", "10.231.150.3\twww", "fd31:150::3\tdb", "fd31:150::3\twww",
                                               "10.231.150.2\tweb", "10.231.150.2\twww", "fd31:150::2\tweb", "fd31:150::2\twww"]
    assert not run()["changed"] and not run(check=True)["changed"]


def test_a_member_added_rewrites_the_hosts_file_only_and_the_diff_shows_it(run, resolvers):
    run()
    pid = resolvers.resolvers["front"]["running"]
    more = SANDBOXES + [{"name": "cache", "network_mode": "front"}]
    result = run(more)
    ops = resolver_ops(result)
    assert [(op["object"], op.get("field")) for op in ops] == [("resolver front", "hosts")], "no restart"
    assert resolvers.resolvers["front"]["running"] == pid
    assert "\tcache" in resolvers.resolvers["front"]["hosts"]
    shown = [d for d in result["diff"] if "resolver front" in d.get("after", {})]
    assert "cache" in shown[0]["after"]["resolver front"]["hosts"] and "cache" not in shown[0]["before"]["resolver front"]["hosts"]


def test_new_upstream_servers_restart_it(run, resolvers, files):
    run()
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.54\n"
    ops = resolver_ops(run())
    assert [(op["object"], op.get("field"), op.get("after")) for op in ops if op.get("field") != "config"] == \
        [("resolver front", "process", "restarted"), ("resolver %s" % VIEW, "process", "restarted")], \
        "the internal network forwards nothing: unchanged (db's view of back and front forwards)"
    assert "server=10.231.0.54" in resolvers.resolvers["front"]["config"]


def test_a_link_local_nameserver_of_the_host_keeps_its_interface(run, resolvers, files):
    files.host["/etc/resolv.conf"] = "nameserver fe80::1%eth0\nnameserver 127.0.0.53\nnameserver 127.0.0.1\n"
    run()
    assert "server=fe80::1%eth0\nserver=127.0.0.53\nserver=127.0.0.1\n" in resolvers.resolvers["front"]["config"], \
        "loopback servers too: the resolver runs in the host's namespace (only 127.0.0.53 alone means systemd-resolved's file)"


def test_a_resolver_not_running_is_started_again(run, resolvers):
    run()
    resolvers.resolvers["back"]["running"] = None  # killed, or stopped by hand
    ops = resolver_ops(run())
    assert [(op["object"], op["field"], op["before"], op["after"]) for op in ops] == [("resolver back", "process", "stopped", "running")]
    assert resolvers.resolvers["back"]["running"]


def test_it_goes_with_its_last_member_here_and_with_its_network(run, resolvers, converge):
    run()
    only_web = [SANDBOXES[0], dict(SANDBOXES[1], state="absent")]
    assert [op["action"] for op in resolver_ops(run(only_web)) if op["object"] == "resolver back"] == ["delete"]
    assert plain(resolvers) == ["front"]
    converge(Networks, config=[NETWORKS[0]], state="deleted")
    assert plain(resolvers) == []


def test_pruning_removes_the_resolver_of_a_network_no_longer_declared(run, resolvers):
    run()
    run([SANDBOXES[0]], [NETWORKS[0]], state="overridden")
    assert resolvers.networks() == ["front"]


def test_the_networks_module_pruning_removes_the_resolvers_of_undeclared_networks_only(run, resolvers, converge):
    run()
    converge(Networks, config=NETWORKS[1:], state="overridden")
    assert plain(resolvers) == ["back"], "a sandbox's view is the sandboxes' to remove"


def test_a_run_for_other_modes_leaves_the_resolvers_alone(converge, run, resolvers):
    run()
    converge(Sandboxes, config=SANDBOXES, networks=NETWORKS, modes=["container", "host"])
    assert plain(resolvers) == ["back", "front"] and len(resolvers.networks()) == 3


def test_without_dnsmasq_the_run_fails_before_anything_changes(run, resolvers, kernel):
    resolvers.present = False
    with pytest.raises(NotFound, match="dnsmasq-base"):
        run()
    assert kernel.calls == [] and resolvers.calls == []


UNIT_FILE = "file %s" % _resolver.UNIT_PATH


def test_where_systemd_runs_the_unit_template_is_planned_before_the_first_resolver_and_goes_with_the_last(run, resolvers, converge):
    resolvers.units = True
    check = run(check=True)
    objects = [op["object"] for op in check["operations"]]
    assert objects.count(UNIT_FILE) == 1 and resolvers.unit_text is None, "check mode shows it and writes nothing"
    first = next(i for i, op in enumerate(check["operations"]) if op.get("field") == "process")
    assert objects.index(UNIT_FILE) < first, "written before a resolver starts"
    assert [op["action"] for op in run()["operations"] if op["object"] == UNIT_FILE] == ["create"]
    assert resolvers.unit_text == _resolver.UNIT_TEMPLATE and not run()["changed"]
    resolvers.unit_text = "# changed by hand\n"
    assert [op["action"] for op in run()["operations"] if op["object"] == UNIT_FILE] == ["set"]
    assert not run([SANDBOXES[0]])["changed"], "web alone declared (a run for part of the host): db keeps back's resolver and its view"
    assert resolvers.unit_text == _resolver.UNIT_TEMPLATE
    converge(Networks, config=[NETWORKS[0]], state="deleted")
    assert resolvers.networks() == ["back", VIEW] and resolvers.unit_text is not None, "back's resolver and db's view still run under it"
    gone = run([], state="overridden")
    ops = [op["object"] for op in gone["operations"]]
    assert ops[-1] == UNIT_FILE and gone["operations"][-1]["action"] == "delete", "removed after the last resolver"
    assert resolvers.networks() == [] and resolvers.unit_text is None


def test_without_systemd_no_unit_template_is_planned(run, resolvers):
    assert UNIT_FILE not in [op["object"] for op in run()["operations"]]
    assert ("write_unit",) not in resolvers.calls


def test_a_network_isolated_in_every_family_has_no_resolver_and_its_members_get_hosts_files(run, resolvers, files, kernel):
    """internal nat -> isolated -> nat, each four-step idempotent, check mode planning what the run
    does: isolated, back's bridge has no address, its resolver and admission go (its members
    cannot reach the host), db and cache name each other in their hosts files, db asks front's
    resolver itself (no view: front is its only network with one); back to nat, all comes back
    and no member is renumbered."""
    networks = [dict(n) for n in NETWORKS]
    boxes = SANDBOXES + [{"name": "cache", "network_mode": "back"}]
    run(boxes, networks)
    before = {box: kernel.link("eth0", box).addresses for box in ("db", "cache")}
    assert "back" in plain(resolvers) and kernel.link("back").addresses
    networks[1]["gateway_mode_ipv4"] = "isolated"
    check = run(boxes, networks, check=True)
    assert check["changed"] and "back" in plain(resolvers), "check mode changed nothing"
    first = run(boxes, networks)
    assert [(o["action"], o["object"], o.get("field")) for o in first["operations"]] == [
        (o["action"], o["object"], o.get("field")) for o in check["operations"]], "check mode planned the same operations"
    assert kernel.link("back").addresses == frozenset()
    assert plain(resolvers) == ["front"]
    assert "10.231.151.2\tdb" in files.files[("cache", "hosts")] and "10.231.151.3\tcache" in files.files[("db", "hosts")]
    # cache: the host's resolv.conf, as with dns: false (its nameservers are out of its reach: names of other networks fail)
    assert "nameserver 10.231.150.1" in files.files[("db", "resolv.conf")] and "10.231.151.1" not in files.files[("cache", "resolv.conf")]
    assert not run(boxes, networks)["changed"] and not run(boxes, networks, check=True)["changed"]
    assert {box: kernel.link("eth0", box).addresses for box in ("db", "cache")} == before
    assert {box: kernel.link("eth0", box).routes for box in ("db", "cache")} == {"db": frozenset(), "cache": frozenset()}
    del networks[1]["gateway_mode_ipv4"]
    run(boxes, networks)
    assert kernel.link("back").addresses and "back" in plain(resolvers)
    assert "nameserver 10.231.151.1" in files.files[("cache", "resolv.conf")]
    assert not run(boxes, networks)["changed"] and not run(boxes, networks, check=True)["changed"]
    assert {box: kernel.link("eth0", box).addresses for box in ("db", "cache")} == before
