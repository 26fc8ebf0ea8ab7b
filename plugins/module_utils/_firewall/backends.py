# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backend: their names, the one ``firewall_backend`` option spec, what ``auto`` means on
this host, and the adapter of a choice."""

from __future__ import annotations

import subprocess

from ansible_collections.netmodes.linux.plugins.module_utils._firewall.foreign_read import which as find_tool
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.nftables import HAS_BINDING, Nftables

BACKENDS = ("nftables", "iptables")

# The firewall_backend option of every module that writes firewall rules, the one spec of it:
# plugins/doc_fragments/firewall.py documents it (tests/unit/plugins/doc_fragments/test_firewall.py
# holds the two together).
BACKEND_OPTION = {"type": "str", "choices": ["auto", *BACKENDS], "default": "auto"}


def detect(run=subprocess.run, which=find_tool, nft_binding=None):
    """The backend ``auto`` means on this host.

    iptables only where the host's ``iptables --version`` says legacy (Debian's
    iptables-legacy alternative, old RHEL/Ubuntu), or where there is no nftables at all.
    """
    has_nft = (nft_binding if nft_binding is not None else HAS_BINDING) or bool(which("nft"))
    iptables = which("iptables")
    if iptables:
        proc = run([iptables, "--version"], capture_output=True, text=True, check=False)
        if "legacy" in (proc.stdout or "") + (proc.stderr or ""):
            return "iptables"
    if not has_nft and iptables:
        return "iptables"
    return "nftables"


def backend(choice="auto"):
    """A firewall adapter for CHOICE (auto, nftables or iptables); nothing is read yet."""
    name = detect() if choice == "auto" else choice
    if name == "iptables":
        # Imported here for cost, not to dodge a cycle: the iptables backend (with its state and
        # ip6tables' share) is a twentieth of the code a run compiles, which a run on an nftables
        # host never needs. A plain import statement, so that Ansible still ships the file.
        from ansible_collections.netmodes.linux.plugins.module_utils._firewall.iptables import Iptables  # noqa: PLC0415

        return Iptables()
    return Nftables()
