# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel adapters a run converges through, made in one place for both of its callers: the
runner (a module under Ansible) and the boot-time restore (``_restore``, without Ansible)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _firewall
from ansible_collections.netmodes.linux.plugins.module_utils._files import Files
from ansible_collections.netmodes.linux.plugins.module_utils._resolver_service import Resolvers
from ansible_collections.netmodes.linux.plugins.module_utils._sockets import Sockets
from ansible_collections.netmodes.linux.plugins.module_utils._sysctl import Sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._systemd import Systemd


def adapters(netlink, firewall_backend=None):
    """{name: adapter} around NETLINK; a firewall adapter only when FIREWALL_BACKEND is given
    (auto, nftables or iptables), since choosing one reads the host."""
    out = {"netlink": netlink, "sysctl": Sysctl(), "sockets": Sockets(), "files": Files(), "resolver": Resolvers(),
           "systemd": Systemd()}
    if firewall_backend is not None:
        out["firewall"] = _firewall.backend(firewall_backend)
    return out
