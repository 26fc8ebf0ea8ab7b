# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Services in sandboxes (module netmodes.linux.services): the systemd drop-in that runs an
existing unit in a sandbox, as text, and the names it is written under.

For ``{sandbox: web, unit: nginx.service}`` the drop-in ``nginx.service.d/netmodes.conf`` gives the
unit the sandbox's network namespace (``NetworkNamespacePath=/run/netns/web``) and binds the
sandbox's three files over /etc/hostname, /etc/hosts and /etc/resolv.conf, as ``ip netns exec``
and ``docker run`` do. It orders the unit after the boot-time restore (``_restore_units.UNIT``),
which makes the sandbox at boot, and after the resolver of the network that answers the sandbox's
resolv.conf (``_resolver.UNIT``). ``Wants=``, not ``Requires=``: the restore runs again whenever
the firewall restarts (its ``PartOf=``), and ``Requires=`` would restart the service with it; a
sandbox that is missing fails the unit's start anyway (its namespace path does not exist).

A host-mode sandbox has no namespace and no files: its services need no drop-in.
"""

from __future__ import annotations

import posixpath
import re

from ansible_collections.netmodes.linux.plugins.module_utils import _files, _restore_units
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._namespaces import NETNS_DIR

DROPIN = "netmodes.conf"
HEADER = "# Written by netmodes.linux (module services)"
# The files a sandbox has in /etc/netns/NAME, each bound over /etc/NAME for the unit.
FILES = ("hostname", "hosts", "resolv.conf")
# systemd's unit name rules (systemd.unit(5)): a service, or an instance of a template, at most
# 255 bytes; a template itself (nginx@.service) would wire every instance to one sandbox.
_UNIT = re.compile(r"[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]+)?\.service\Z")


def unit_name(value, where):
    """VALUE when it names a systemd service (or an instance of a template), else InvalidInput."""
    text = value if isinstance(value, str) else None
    if text is None or len(text) > 255 or not _UNIT.match(text) or text.startswith("netmodes-"):
        why = ("is one of netmodes.linux's own units" if isinstance(text, str) and text.startswith("netmodes-")
               else "is not the name of a systemd service")
        raise InvalidInput("%s: unit: %r %s; give a unit name as systemctl shows it, like nginx.service or"
                           " getty@tty1.service (letters, digits and ':_.\\-', one '@' before an instance)" % (where, value, why),
                           where)
    return text


def dropin_path(unit_dir, unit):
    """Where the drop-in of UNIT is written."""
    return posixpath.join(unit_dir, unit + ".d", DROPIN)


def ours(content):
    """CONTENT (bytes) is a drop-in this module wrote."""
    return content is not None and content.startswith(HEADER.encode())


def wired_to(content):
    """The sandbox a drop-in of ours (CONTENT, bytes) names, or None."""
    first = content.decode("utf-8", "replace").partition("\n")[0]
    return first.rpartition("sandbox ")[2] if "sandbox " in first else None


def dropin(unit, sandbox, netns, resolver=None):
    """The drop-in that runs UNIT in SANDBOX: the namespace and files of sandbox NETNS (SANDBOX
    itself, or in container mode the sandbox it shares), after the restore and the unit RESOLVER
    (None: no resolver answers the sandbox)."""
    after = " ".join([_restore_units.UNIT] + ([resolver] if resolver else []))
    binds = " ".join("%s:/etc/%s" % (_files.path(netns, name), name) for name in FILES)
    return ("%s: %s in sandbox %s\n"
            "# Changes are replaced on its next run; state: absent removes it.\n"
            "[Unit]\n"
            "Wants=%s\n"
            "After=%s\n"
            "\n"
            "[Service]\n"
            "NetworkNamespacePath=%s\n"
            "BindReadOnlyPaths=%s\n") % (HEADER, unit, sandbox, _restore_units.UNIT, after, posixpath.join(NETNS_DIR, netns), binds)
