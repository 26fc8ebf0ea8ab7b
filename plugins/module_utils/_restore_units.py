# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemd units of the boot-time restore (``_restore``), as text, and the links that enable them.

``netmodes-restore.service`` runs the restore at boot and again whenever a firewall service
(FIREWALLS) starts, restarts or reloads, since each flushes rules it did not load;
``netmodes-watch.service`` (the option ``watch``) runs ``netmodes-restore --watch`` for the flushes
systemd does not see (docs/guide.md, "When the firewall is reloaded").
"""

from __future__ import annotations

import os

UNIT_DIR = "/etc/systemd/system"
UNIT = "netmodes-restore.service"
WATCH_UNIT = "netmodes-watch.service"
WANTED_BY = "multi-user.target"
# The services that load (and so flush) a host's firewall: the restore runs again after each
# starts, restarts or reloads (docs/guide.md, "When the firewall is reloaded").
FIREWALLS = ("nftables.service", "firewalld.service", "iptables.service", "ip6tables.service", "netfilter-persistent.service")
UNIT_HEADER = "# Written by netmodes.linux (module boot_restore)"


def unit(python, command_path, declared):
    """The systemd unit that runs the restore at boot: after the firewall is loaded (which may
    flush every table), before the network is online, so services find their sandboxes. It runs
    again when a firewall service (FIREWALLS) restarts (PartOf=), reloads (ReloadPropagatedFrom=,
    ExecReload=) or starts after a stop (WantedBy= it), each time after it (After=)."""
    return UNIT_HEADER + """; changes are replaced on its next run.
[Unit]
Description=Restore the networks and sandboxes netmodes.linux declared
Documentation=file:%(declared)s
After=network-pre.target systemd-sysctl.service systemd-resolved.service %(firewalls)s
Before=network-online.target
PartOf=%(firewalls)s
ReloadPropagatedFrom=%(firewalls)s
ConditionPathExists=%(declared)s

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%(python)s %(command)s --file %(declared)s
ExecReload=%(python)s %(command)s --file %(declared)s
TimeoutStartSec=300

[Install]
WantedBy=%(wanted_by)s %(firewalls)s
""" % {"python": python, "command": command_path, "declared": declared, "wanted_by": WANTED_BY, "firewalls": " ".join(FIREWALLS)}


def watch_unit(python, command_path, declared):
    """The unit of the watch (the option watch): ``netmodes-restore --watch``, which applies the
    declaration again when our nftables table is deleted (a flush by hand tells systemd nothing),
    or every 30 s on iptables-legacy."""
    return UNIT_HEADER + """; changes are replaced on its next run.
[Unit]
Description=Apply the netmodes.linux declaration again when the firewall loses its rules
Documentation=file:%(declared)s
After=%(unit)s
ConditionPathExists=%(declared)s

[Service]
ExecStart=%(python)s %(command)s --file %(declared)s --watch
Restart=on-failure
RestartSec=5

[Install]
WantedBy=%(wanted_by)s
""" % {"python": python, "command": command_path, "declared": declared, "unit": UNIT, "wanted_by": WANTED_BY}


def wants(unit_dir, unit=UNIT):
    """{unit that wants UNIT: the link that says it} (what systemctl enable makes of [Install])."""
    return {name: os.path.join(unit_dir, name + ".wants", unit) for name in (WANTED_BY,) + (FIREWALLS if unit == UNIT else ())}
