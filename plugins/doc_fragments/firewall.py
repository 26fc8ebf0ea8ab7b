# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The firewall_backend option of every module that writes firewall rules (bridge, vxlan, networks,
    # sandboxes, portmap, boot_restore). Its one spec is _firewall.backends.BACKEND_OPTION (net_info reads
    # with the same spec, described in its own words);
    # tests/unit/plugins/doc_fragments/test_firewall.py holds the two together.
    DOCUMENTATION = r"""
options:
  firewall_backend:
    description:
      - The firewall the rules are written to. V(auto) uses iptables where the host's
        C(iptables --version) says legacy (or nftables is missing) and nftables everywhere else.
      - Use the same backend for every task of a host; rules written by one backend are not seen
        by the other.
    type: str
    choices: [auto, nftables, iptables]
    default: auto
"""
