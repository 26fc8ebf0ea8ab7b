# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemd-booted simulated host (tests/harness/systemd_host.py): systemd as PID 1, reached by
ssh on the lab bridge, running units in named network namespaces, rebooting to an empty /run, and
removed without a trace in the machine's own namespaces."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import systemd_host

REPO = Path(__file__).resolve().parents[2]

PROBLEM = systemd_host.cgroup2_problem()  # probed once, when the file is collected
pytestmark = pytest.mark.skipif(bool(PROBLEM), reason="no systemd-booted simulated host on this machine: %s" % PROBLEM)


def _host(fleet, label, last_octet):
    workdir = REPO / ".tmp" / ("%s-%d" % (label, os.getpid()))
    shutil.rmtree(workdir, ignore_errors=True)
    cidr = "10.231.%d.%d/24" % (fleet.fleet_id, last_octet)
    return systemd_host.SystemdHost(workdir, "sd%d" % last_octet, fleet.bridge, cidr, keydir=fleet.workdir)


@pytest.fixture(scope="module")
def sdhost(fleet):
    systemd_host.sweep()  # hosts whose supervisor a killed earlier run left behind
    host = _host(fleet, "sdhost", 60)
    try:
        yield host.up()
    finally:
        host.down()
        shutil.rmtree(host.workdir, ignore_errors=True)


def _state(host):
    """systemd's verdict once the boot is over, with the failed units when there are any."""
    state = host.ssh("systemctl is-system-running --wait", check=False).stdout.strip()
    failed = host.ssh("systemctl --failed --no-legend --plain", check=False).stdout.strip()
    return state, failed


def test_boots_systemd_as_pid_1_reached_by_ssh(sdhost, fleet):
    state, failed = _state(sdhost)
    assert (state, failed) == ("running", ""), "failed units:\n%s" % failed
    assert sdhost.ssh("readlink /proc/1/exe").stdout.strip() == os.path.realpath(systemd_host.SYSTEMD)
    assert sdhost.ssh("systemd-detect-virt --container", check=False).stdout.strip() == "container-other"
    assert sdhost.ssh("hostname").stdout.strip() == sdhost.name
    assert sdhost.ssh("stat -fc %T /sys/fs/cgroup").stdout.strip() == "cgroup2fs"
    assert sdhost.ssh("systemctl is-active netmodes-sshd.service").stdout.strip() == "active"
    # no capability that acts on the whole machine: CAP_SYS_MODULE is bit 16, CAP_SYS_TIME bit 25
    bounding = int(sdhost.ssh("awk '/^CapBnd/ {print $2}' /proc/1/status").stdout, 16)
    assert not bounding & (1 << 16 | 1 << 25) and bounding & (1 << 12 | 1 << 21)  # NET_ADMIN, SYS_ADMIN kept
    links = json.loads(sdhost.ssh("ip -j addr show").stdout)
    assert sorted(link["ifname"] for link in links) == ["eth0", "lo"]
    (eth0,) = [link for link in links if link["ifname"] == "eth0"]
    assert sdhost.address in [a["local"] for a in eth0["addr_info"]]
    # another simulated host of the fleet reaches it on the lab bridge
    fleet.host("sim1").run("ping -c1 -W3 %s" % sdhost.address)


def test_masked_units_stay_down(sdhost):
    units = ("systemd-udevd.service", "systemd-networkd.service", "systemd-resolved.service",
             "systemd-timesyncd.service", "systemd-sysctl.service", "ssh.service", "getty@tty1.service")
    out = sdhost.ssh("for u in %s; do echo $u $(systemctl is-enabled $u) $(systemctl is-active $u); done" % " ".join(units),
                     check=False).stdout
    assert out.splitlines() == ["%s masked inactive" % unit for unit in units]


def test_writes_stay_in_the_host(sdhost):
    # The host's root is an overlay: a file it writes in /etc and /usr exists only inside it.
    sdhost.ssh("echo inside > /etc/netmodes-systemd-host-probe && mkdir -p /usr/local/share/nmsd && touch /usr/local/share/nmsd/x")
    assert not Path("/etc/netmodes-systemd-host-probe").exists()
    assert not Path("/usr/local/share/nmsd").exists()
    assert socket.gethostname() != sdhost.name
    sdhost.ssh("rm -rf /etc/netmodes-systemd-host-probe /usr/local/share/nmsd")


def test_only_its_own_kernel_objects_are_writable(sdhost):
    # test -w asks the kernel (EROFS on a read-only mount): nothing is written to find out
    writable = {path: sdhost.ssh("test -w %s" % path, check=False).returncode == 0 for path in (
        "/proc/sys/net/ipv4/ip_forward", "/sys/devices/virtual/net/eth0/mtu",  # its network namespace
        "/proc/sys/kernel/pid_max", "/proc/sys/vm/swappiness", "/sys/kernel/mm", "/sys/module")}
    assert writable == {"/proc/sys/net/ipv4/ip_forward": True, "/sys/devices/virtual/net/eth0/mtu": True,
                        "/proc/sys/kernel/pid_max": False, "/proc/sys/vm/swappiness": False,
                        "/sys/kernel/mm": False, "/sys/module": False}
    # no disk of the machine in its /dev
    assert not [d for d in sdhost.ssh("ls /dev").stdout.split() if d.startswith(("vd", "sd", "nvme", "loop"))]


def test_unit_runs_in_a_named_netns(sdhost):
    sdhost.ssh("ip netns add svc && ip -n svc link add svc0 type veth peer name svc1 && ip -n svc link set lo up")
    try:
        out = sdhost.ssh("systemd-run --wait --quiet --unit=nm-probe -p NetworkNamespacePath=/run/netns/svc "
                         "-p StandardOutput=file:/run/nm-probe.out ip -j link show && cat /run/nm-probe.out").stdout
        assert sorted(link["ifname"] for link in json.loads(out)) == ["lo", "svc0", "svc1"]
    finally:
        sdhost.ssh("ip netns del svc; rm -f /run/nm-probe.out", check=False)


def test_reboot_comes_back_with_an_empty_run(sdhost):
    boot_id = sdhost.ssh("cat /proc/sys/kernel/random/boot_id").stdout.strip()
    sdhost.ssh("ip netns add gone && ip link add br-gone type bridge && touch /run/gone /etc/netmodes-kept")
    # an enabled unit runs at the next boot (what the boot-time restore relies on)
    sdhost.ssh("printf '[Service]\\nType=oneshot\\nExecStart=touch /run/nm-atboot.ran\\n[Install]\\nWantedBy=multi-user.target\\n'"
               " > /etc/systemd/system/nm-atboot.service && systemctl enable --quiet nm-atboot.service")
    boots = sdhost.boots
    sdhost.ssh("systemctl reboot", check=False)  # the connection may drop with the host
    sdhost.wait_booted(boots + 1, timeout=120)
    assert sdhost.ssh("cat /proc/sys/kernel/random/boot_id").stdout.strip() != boot_id
    state, failed = _state(sdhost)
    assert (state, failed) == ("running", ""), "failed units:\n%s" % failed
    assert sdhost.ssh("ls -A /run/netns /run/gone", check=False).returncode != 0
    assert sdhost.ssh("test -f /run/nm-atboot.ran && systemctl disable --quiet --now nm-atboot.service"
                      " && rm /etc/systemd/system/nm-atboot.service /run/nm-atboot.ran", check=False).returncode == 0
    assert sdhost.ssh("ip -n gone link", check=False).returncode != 0
    links = json.loads(sdhost.ssh("ip -j link show").stdout)
    assert sorted(link["ifname"] for link in links) == ["eth0", "lo"]
    # the disk survives a reboot, as on a real host
    sdhost.ssh("test -f /etc/netmodes-kept && rm /etc/netmodes-kept")
    listed = sdhost.ssh("journalctl --list-boots --no-pager -q").stdout.strip().splitlines()
    assert len(listed) == 2, listed


def _root_namespace(fleet, host):
    """What the machine's own namespaces hold that HOST could leave behind (other fleets of the
    machine come and go meanwhile: only this fleet's links and this host's objects count)."""
    links = sorted(link["ifname"] for link in json.loads(subprocess.run(
        ["ip", "-j", "link", "show"], check=True, capture_output=True, text=True).stdout)
        if link["ifname"].startswith(fleet.bridge))
    mounts = sorted(line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
                    if str(host.workdir) in line or "netns" in line)
    cgroups = sorted(str(p) for p in host.cgroup.parent.glob("*") if p.is_dir()) if host.cgroup.parent.is_dir() else []
    marked = sorted(pid for pid in os.listdir("/proc") if pid.isdigit() and host.marker.encode() in _cmdline(pid))
    return {"links": links, "mounts": mounts, "cgroups": cgroups, "processes": marked}


def _cmdline(pid):
    try:
        return Path("/proc/%s/cmdline" % pid).read_bytes()
    except OSError:
        return b""


def test_removal_leaves_nothing(fleet, sdhost):
    host = _host(fleet, "sdgone", 61)
    before = _root_namespace(fleet, host)
    host.up()
    during = _root_namespace(fleet, host)
    assert host.lab_link in during["links"] and str(host.cgroup) in during["cgroups"] and during["processes"]
    host.ssh("ip netns add left && systemd-run --unit=nm-sleeper sleep 600")
    host.down()
    after = _root_namespace(fleet, host)
    shutil.rmtree(host.workdir, ignore_errors=True)
    assert after == before
    assert not host.cgroup.exists()


def test_sweep_removes_a_host_whose_supervisor_died(fleet, sdhost):
    host = _host(fleet, "sdorphan", 62)
    before = _root_namespace(fleet, host)
    host.up()
    os.kill(host.proc.pid, signal.SIGKILL)  # as if the run that started it was killed
    host.proc.wait()
    assert host.run("systemctl is-system-running --wait", check=False).stdout.strip() == "running"
    assert host.marker in systemd_host.sweep()
    assert sdhost.marker not in systemd_host.sweep()  # a host whose supervisor runs stays
    after = _root_namespace(fleet, host)
    shutil.rmtree(host.workdir, ignore_errors=True)
    assert after == before
    assert not host.cgroup.exists()
