# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import contextlib
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netmodes.linux.plugins.module_utils import _adapters, _runner
from ansible_collections.netmodes.linux.plugins.module_utils import _resolvconf as rc
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._files import EditedByHand, digest
from ansible_collections.netmodes.linux.plugins.modules.dns_config import DnsConfig

HOST = "nameserver 10.231.0.53\nsearch corp.example\noptions ndots:2 timeout:1\n"
LOCALHOST = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\n"
             "ff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")


@pytest.fixture
def web(kernel, files):
    """Sandbox web with lo (127.0.0.1, ::1) and eth0 at 10.231.5.2/24, on a host with HOST as resolv.conf."""
    kernel.netns_create("web")
    kernel.addresses_set("lo", "web", add=["127.0.0.1/8", "::1/128"])
    kernel.link_add_veth("veth-web", "eth0", "web")
    kernel.addresses_set("eth0", "web", add=["10.231.5.2/24"])
    kernel.calls.clear()
    files.host["/etc/resolv.conf"] = HOST
    return "web"


def test_four_steps_write_docker_style_files(four_steps, files, web):
    result = four_steps(DnsConfig, netns=web, hostname="web1", nameservers=["1.1.1.1"],
                        extra_hosts=["db:10.231.9.9"], peers={"api": "10.231.5.3"})
    assert files.files[(web, "hostname")] == "web1\n"
    assert files.files[(web, "hosts")] == rc.HEADER + LOCALHOST + "10.231.9.9\tdb\n10.231.5.2\tweb1\n10.231.5.3\tapi\n"
    resolv = files.files[(web, "resolv.conf")]
    assert "nameserver 1.1.1.1\nsearch corp.example\noptions ndots:2 timeout:1\n\n" in resolv
    assert [line for line in resolv.splitlines() if line.startswith("nameserver")] == ["nameserver 1.1.1.1"]
    assert [(op["action"], op["object"]) for op in result["operations"]] == [
        ("create", "file /etc/netns/web/hostname"), ("create", "file /etc/netns/web/hosts"), ("create", "file /etc/netns/web/resolv.conf")]
    assert result["diff"][0] == {"before_header": "/dev/null", "before": "", "after_header": "/etc/netns/web/hostname", "after": "web1\n"}
    assert result["resolv_conf"] == {"nameservers": ["1.1.1.1"], "search": ["corp.example"], "options": ["ndots:2", "timeout:1"]}
    assert result["hostname"] == "web1"
    assert {"address": "10.231.9.9", "names": ["db"]} in result["hosts"]
    assert result["files"]["hosts"] == {"path": "/etc/netns/web/hosts", "exists": True, "managed": True}


def test_check_mode_writes_nothing_and_reports_the_state_before(converge, files, web):
    result = converge(DnsConfig, check=True, netns=web, hostname="web1")
    assert result["changed"] and files.calls == [] and files.files == {}
    assert result["files"]["resolv.conf"]["exists"] is False and result["resolv_conf"] is None
    assert [d["after_header"] for d in result["diff"]] == ["/etc/netns/web/hostname", "/etc/netns/web/hosts", "/etc/netns/web/resolv.conf"]


def test_a_change_of_options_rewrites_only_the_file_it_touches(converge, files, web):
    converge(DnsConfig, netns=web, hostname="web1")
    files.calls.clear()
    result = converge(DnsConfig, netns=web, hostname="web1", options=["ndots:1"])
    assert [(op["action"], op["object"], op["field"]) for op in result["operations"]] == [("set", "file /etc/netns/web/resolv.conf", "content")]
    (diff,) = result["diff"]
    assert "options ndots:2 timeout:1" in diff["before"] and "options ndots:1\n" in diff["after"]
    assert files.calls == [("write", web, "resolv.conf")]


def test_a_new_address_in_the_sandbox_updates_hosts(converge, kernel, files, web):
    converge(DnsConfig, netns=web, hostname="web1", domainname="corp.example")
    kernel.addresses_set("eth0", web, add=["fd42:231::2/64"])
    result = converge(DnsConfig, netns=web, hostname="web1", domainname="corp.example")
    assert [op["object"] for op in result["operations"]] == ["file /etc/netns/web/hosts"]
    assert files.files[(web, "hosts")].endswith("10.231.5.2\tweb1.corp.example web1\nfd42:231::2\tweb1.corp.example web1\n")


@pytest.mark.parametrize("force", [False, True])
def test_a_file_edited_by_hand_is_replaced_only_with_force(converge, files, web, force):
    converge(DnsConfig, netns=web)
    edited = files.files[(web, "resolv.conf")] + "nameserver 10.231.0.99\n"
    files.files[(web, "resolv.conf")] = edited
    files.calls.clear()
    if not force:
        with pytest.raises(EditedByHand) as info:
            converge(DnsConfig, netns=web, nameservers=["1.1.1.1"])
        assert info.value.msg.startswith("/etc/netns/web/resolv.conf was changed by hand since netmodes.linux wrote it.")
        assert "Set force: true to replace it" in info.value.msg
        assert info.value.details()["diff"][0]["before"] == edited
        assert files.calls == [] and files.files[(web, "resolv.conf")] == edited
        # An edit is kept even when nothing else is asked for: the hand-edited file differs from ours.
        with pytest.raises(Conflict):
            converge(DnsConfig, netns=web)
    else:
        result = converge(DnsConfig, netns=web, nameservers=["1.1.1.1"], force=True)
        (diff,) = result["diff"]
        assert diff["before"] == edited and "nameserver 1.1.1.1" in diff["after"]
        assert files.calls == [("write", web, "resolv.conf")]
        assert not converge(DnsConfig, netns=web, nameservers=["1.1.1.1"])["changed"]


def test_a_file_not_written_by_us_is_not_replaced(converge, files, web):
    files.files[(web, "hosts")] = "127.0.0.1\tlocalhost\n10.0.0.9\tlegacy\n"
    with pytest.raises(Conflict, match="/etc/netns/web/hosts exists and was not written by netmodes.linux"):
        converge(DnsConfig, netns=web)
    assert files.calls == [], "nothing written, not even the files that were free"


def test_absent_removes_our_files_only(converge, four_steps, files, web):
    converge(DnsConfig, netns=web, hostname="web1")
    files.files[(web, "services")] = "theirs\n"
    result = four_steps(DnsConfig, netns=web, state="absent")
    assert [(op["action"], op["object"]) for op in result["operations"]] == [
        ("delete", "file /etc/netns/web/hostname"), ("delete", "file /etc/netns/web/hosts"), ("delete", "file /etc/netns/web/resolv.conf")]
    assert result["diff"][0] == {"before_header": "/etc/netns/web/hostname", "before": "web1\n", "after_header": "/dev/null", "after": ""}
    assert files.files == {(web, "services"): "theirs\n"} and files.records[web] == {}
    assert result["files"]["hosts"]["exists"] is False


def test_absent_needs_no_sandbox_and_keeps_edited_files_without_force(converge, kernel, files, web):
    converge(DnsConfig, netns=web)
    kernel.netns_delete(web)
    files.files[(web, "hosts")] += "10.0.0.9\tmine\n"
    with pytest.raises(Conflict, match="hosts was changed by hand.*Set force: true to remove it"):
        converge(DnsConfig, netns=web, state="absent")
    assert converge(DnsConfig, netns=web, state="absent", force=True)["changed"]
    assert files.files == {}
    assert not converge(DnsConfig, netns="never", state="absent")["changed"]


def test_absent_removes_the_empty_records_directory_a_killed_removal_left(converge, files):
    files.stray = True
    result = converge(DnsConfig, netns="web", state="absent")
    assert result["operations"] == [{"action": "delete", "object": "directory /etc/netns/.netmodes"}]
    assert result["diff"] == [] and files.calls == [("tidy",)]
    assert not converge(DnsConfig, netns="web", state="absent")["changed"]


def test_the_hostname_file_is_left_alone_when_hostname_is_omitted(converge, files, web):
    converge(DnsConfig, netns=web, hostname="web1")
    result = converge(DnsConfig, netns=web)
    assert [op["object"] for op in result["operations"]] == ["file /etc/netns/web/hosts"]  # no own line any more
    assert files.files[(web, "hostname")] == "web1\n"


@pytest.mark.parametrize("host, ipv6, expected, warned", [
    ({"/etc/resolv.conf": "nameserver 127.0.0.53\n"}, False, ["8.8.8.8", "8.8.4.4"], True),
    ({"/etc/resolv.conf": "nameserver 127.0.0.53\n", "/run/systemd/resolve/resolv.conf": "nameserver 10.231.0.53\n"},
     False, ["10.231.0.53"], False),
    ({"/etc/resolv.conf": "nameserver 10.231.0.53\nnameserver fd42:231::53\n"}, False, ["10.231.0.53"], False),
    ({"/etc/resolv.conf": "nameserver 10.231.0.53\nnameserver fd42:231::53\n"}, True, ["10.231.0.53", "fd42:231::53"], False),
], ids=["stub only, no resolved file", "stub only, resolved file", "IPv6 server, IPv4 sandbox", "IPv6 server, IPv6 sandbox"])
def test_nameservers_from_the_host(converge, kernel, files, web, host, ipv6, expected, warned):
    files.host = host
    if ipv6:
        kernel.addresses_set("eth0", web, add=["fd42:231::2/64"])
    result = converge(DnsConfig, netns=web)
    assert result["resolv_conf"]["nameservers"] == expected
    assert bool(result.get("warnings")) == warned
    if warned:
        assert "using 8.8.8.8, 8.8.4.4" in result["warnings"][0]


@pytest.mark.parametrize("options, error, message", [
    ({"nameservers": ["1.1.1.1", "1.1.1.300"]}, InvalidInput, "nameservers[1]: '1.1.1.300' is not a valid IP address"),
    ({"extra_hosts": ["db:10.231.9.300"]}, InvalidInput, "extra_hosts[0]: '10.231.9.300' is not a valid IP address"),
    ({"extra_hosts": "db"}, InvalidInput, "extra_hosts[0]: 'db' is not NAME:IP"),
    ({"peers": {"api": "10.231.5"}}, InvalidInput, "peers.api: '10.231.5' is not a valid IP address"),
    ({"hostname": "web_1"}, InvalidInput, "hostname: 'web_1' is not a valid host name (RFC 1123)"),
    ({"hostname": "-web"}, InvalidInput, "hostname: '-web' is not a valid host name"),
    ({"domainname": "corp.example"}, InvalidInput, "domainname: needs hostname"),
    ({"search": ["corp example"]}, InvalidInput, "search[0]: 'corp example' is not a valid host name"),
    ({"netns": "missing"}, NotFound, "netns: sandbox 'missing' does not exist (no /run/netns/missing); create it with netmodes.linux.netns first"),
    ({"netns": ".netmodes"}, InvalidInput, "netns: sandbox name '.netmodes' is not valid: it starts with '.'"),
    ({"netns": ".netmodes", "state": "absent"}, InvalidInput, "netns: .netmodes is reserved"),
    ({"netns": "a/b"}, InvalidInput, "netns: sandbox name 'a/b' is not valid"),
])
def test_bad_input_fails_before_anything_is_written(converge, files, web, options, error, message):
    with pytest.raises(error) as info:
        converge(DnsConfig, **dict({"netns": web}, **options))
    assert info.value.msg.startswith(message), info.value.msg
    assert files.calls == []


def test_a_missing_sandbox_is_a_warning_in_check_mode(converge, files):
    result = converge(DnsConfig, check=True, netns="later", hostname="web1")
    assert result["changed"] and files.calls == []
    assert any("sandbox 'later' does not exist" in warning for warning in result["warnings"])


def test_reading_never_creates_the_sandbox(converge, kernel):
    with pytest.raises(NotFound):
        converge(DnsConfig, netns="missing")
    assert "missing" not in kernel.netns and kernel.calls == []


def test_the_runner_reports_an_edit_by_hand_with_its_diff(monkeypatch, capsys, kernel, files, web):
    monkeypatch.setattr(_runner, "Netlink", lambda: contextlib.nullcontext(kernel))
    monkeypatch.setattr(_adapters, "Files", lambda: files)
    files.files[(web, "hostname")] = "mine\n"
    files.records[web] = {"hostname": digest("web1\n")}
    with patch_module_args({"netns": web, "hostname": "web2"}), pytest.raises(SystemExit) as info:
        _runner.run_module(DnsConfig)
    out = json.loads(capsys.readouterr().out)
    assert info.value.code == 1 and out["error"] == "EditedByHand" and out["field"] == "force"
    assert out["diff"] == [{"before_header": "/etc/netns/web/hostname", "before": "mine\n",
                            "after_header": "/etc/netns/web/hostname", "after": "web2\n"}]
    assert files.calls == []


def test_absent_acts_on_the_three_file_names_only(converge, files, web):
    files.records[web] = {"../../passwd": digest("x\n")}  # a damaged or tampered record
    assert not converge(DnsConfig, netns=web, state="absent")["changed"]
    assert files.calls == []


# -- share_with: Docker's container mode shows its target's files (issue 18) -----------------------

@pytest.fixture
def side(kernel, web):
    """Sandbox side, a second name of web's namespace (network_mode container:web)."""
    kernel.netns_share("side", web)
    kernel.calls.clear()
    return "side"


def test_share_with_makes_the_directory_a_link_to_the_target_s_four_steps(converge, four_steps, files, web, side):
    converge(DnsConfig, netns=web, hostname="web1")
    result = four_steps(DnsConfig, netns=side, share_with=web)
    assert files.shared == {side: web} and files.records[side] == {"link": web}
    assert [(op["action"], op["object"]) for op in result["operations"]] == [("create", "directory /etc/netns/side")]
    assert result["diff"] == [{"before_header": "/etc/netns/side", "before": "", "after_header": "/etc/netns/side", "after": "-> web\n"}]
    assert not any((side, name) in files.files for name in rc.FILES), "nothing written for side: it shows web's"
    again = converge(DnsConfig, netns=side, share_with=web)
    assert again["share_with"] == web and again["hostname"] == "web1", "the result shows what side shows: web's files"
    assert again["files"]["hostname"] == {"path": "/etc/netns/side/hostname", "exists": True, "managed": True}


def test_a_new_target_moves_the_link_and_absent_removes_only_the_link(converge, files, kernel, web, side):
    converge(DnsConfig, netns=web, hostname="web1")
    converge(DnsConfig, netns=side, share_with=web)
    kernel.netns_create("www")
    moved = converge(DnsConfig, netns=side, share_with="www")
    assert [(op["action"], op["object"], op.get("before"), op.get("after")) for op in moved["operations"]] == [
        ("set", "directory /etc/netns/side", "web", "www")]
    assert files.shared == {side: "www"}
    gone = converge(DnsConfig, netns=side, state="absent")
    assert [(op["action"], op["object"]) for op in gone["operations"]] == [("delete", "directory /etc/netns/side")]
    assert files.shared == {} and not files.records.get(side)
    assert files.files[(web, "hostname")] == "web1\n", "the target's files are left alone"


def test_files_of_its_own_make_way_for_the_link_and_come_back_without_it(converge, files, web, side):
    converge(DnsConfig, netns=side, hostname="side1")
    linked = converge(DnsConfig, netns=side, share_with=web)
    assert [(op["action"], op["object"]) for op in linked["operations"]] == [("recreate", "directory /etc/netns/side")]
    assert files.calls[-1] == ("link", side, web) and (side, "hostname") not in files.files
    own = converge(DnsConfig, netns=side, hostname="side1")
    assert [(op["action"], op["object"]) for op in own["operations"]][:2] == [
        ("recreate", "directory /etc/netns/side"), ("create", "file /etc/netns/side/hostname")], "the link goes first"
    assert files.shared == {} and files.files[(side, "hostname")] == "side1\n"


def test_a_link_made_by_a_run_killed_before_its_last_record_is_finished(converge, four_steps, files, web, side):
    files.shared[side] = web
    files.records[side] = {"link": web, "hostname": digest("side1\n")}  # the marks of the files the link replaced
    result = four_steps(DnsConfig, netns=side, share_with=web)
    assert [(op["action"], op.get("field")) for op in result["operations"]] == [("set", "record")] and result["diff"] == []
    assert files.records[side] == {"link": web}


def test_a_link_recorded_but_never_made_is_forgotten(converge, files, web, side):
    files.records[side] = {"link": web}  # a run killed between the link's record and the link
    gone = converge(DnsConfig, netns=side, state="absent")
    assert [(op["action"], op["object"]) for op in gone["operations"]] == [("delete", "directory /etc/netns/side")]
    assert not files.records.get(side)


def test_a_file_not_ours_in_the_way_of_the_link_needs_force(converge, files, web, side):
    files.files[(side, "hosts")] = "10.231.9.9 mine\n"
    with pytest.raises(EditedByHand, match=r"/etc/netns/side/hosts exists and was not written by netmodes.linux"):
        converge(DnsConfig, netns=side, share_with=web)
    assert files.calls == []
    converge(DnsConfig, netns=side, share_with=web, force=True)
    assert files.shared == {side: web} and (side, "hosts") not in files.files


def test_a_link_we_did_not_make_is_never_taken_for_ours(converge, files, web, side):
    files.shared[side] = "../../etc"
    for options in ({"share_with": web}, {"hostname": "side1"}, {"state": "absent"}):
        with pytest.raises(Conflict, match=r"/etc/netns/side is a symbolic link \(to ../../etc\) that netmodes.linux did not make"):
            converge(DnsConfig, netns=side, **options)
    assert files.calls == []


@pytest.mark.parametrize("options, message", [
    ({"share_with": "web", "hostname": "side1"}, "share_with: the files are web's; set hostname on web"),
    ({"share_with": "web", "nameservers": ["1.1.1.1"], "extra_hosts": ["db:10.231.9.9"]},
     "share_with: the files are web's; set nameservers, extra_hosts on web"),
    ({"share_with": "side"}, "share_with: sandbox side cannot share its own files"),
    ({"share_with": "web", "state": "absent"}, "share_with: not with state absent"),
    ({"share_with": "../web"}, "share_with: sandbox name '../web' is not valid"),
])
def test_share_with_refuses_files_of_its_own(converge, files, side, options, message):
    with pytest.raises(InvalidInput) as info:
        converge(DnsConfig, netns=side, **options)
    assert info.value.msg.startswith(message), info.value.msg
    assert files.calls == []
