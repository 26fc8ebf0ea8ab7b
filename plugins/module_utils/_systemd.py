# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemd adapter: the only place that asks systemctl about units, or tells it to reload
and restart them (module netmodes.linux.services)."""

from __future__ import annotations

import os
import subprocess

from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError
from ansible_collections.netmodes.linux.plugins.module_utils._files import Files
from ansible_collections.netmodes.linux.plugins.module_utils._services import DROPIN


def _systemctl(*args, check=True):
    try:
        proc = subprocess.run(["systemctl", *args], check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise KernelError("systemctl %s: systemctl is not installed" % " ".join(args)) from exc
    if check and proc.returncode != 0:
        raise KernelError("systemctl %s failed: %s" % (" ".join(args), (proc.stderr or proc.stdout).strip()))
    return proc


class Systemd:
    """The host's systemd, through systemctl."""

    @staticmethod
    def running():
        """systemd runs the host (as sd_booted(3) tells)."""
        return os.path.isdir("/run/systemd/system")

    @staticmethod
    def unit(name):
        """{"load": LoadState, "active": ActiveState, "pid": MainPID} of unit NAME ("not-found" when systemd knows no such unit)."""
        proc = _systemctl("show", "-p", "LoadState,ActiveState,MainPID", "--", name)
        props = dict(line.partition("=")[::2] for line in proc.stdout.splitlines() if "=" in line)
        return {"load": props.get("LoadState"), "active": props.get("ActiveState"), "pid": int(props.get("MainPID") or 0)}

    @staticmethod
    def wired(unit_dir):
        """{unit: content (bytes)} of the files named like our drop-ins in UNIT_DIR's UNIT.d directories."""
        out = {}
        for entry in sorted(os.listdir(unit_dir)) if os.path.isdir(unit_dir) else ():
            if entry.endswith(".service.d"):
                found = Files.host_entry(os.path.join(unit_dir, entry, DROPIN))
                if found is not None and found[0] == "file":
                    out[entry[:-2]] = found[1]
        return out

    @staticmethod
    def wire(unit, path, content=None, start=True):
        """Write the drop-in PATH of UNIT with CONTENT (None: remove it), make systemd read it, and
        restart UNIT so that it runs as the drop-in says: started when START, else only when it runs."""
        if content is None:
            Files.remove_host_file(path, directory=True)
        else:
            Files.write_host_file(path, content)
        _systemctl("daemon-reload")
        if start:
            _systemctl("restart", "--", unit)
        elif _systemctl("is-active", "--quiet", "--", unit, check=False).returncode == 0:
            # Not when it is stopped, or gone: a drop-in left of a unit since uninstalled is still removed.
            _systemctl("try-restart", "--", unit)
