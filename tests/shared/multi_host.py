# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host of a fleet as the unit tests of multi-host networks fake it: its lab link, and what
site.yml runs on it."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks


def lab_host(kernel, files, *cidrs):
    """KERNEL (the fake) as a fleet's host whose lab link eth0 carries CIDRS (its underlay addresses)."""
    kernel.links[(None, "eth0")] = Link("eth0", 90, "veth", 1500, "02:00:00:00:00:90", True, addresses=interfaces(list(cidrs), "a"))
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    return kernel


def site(converge, networks, the_fleet, declared, check=False):
    """What site.yml does on the fleet's host (the_fleet["host"]): the networks, then its sandboxes of DECLARED."""
    own = declared.get(the_fleet["host"], [])
    first = converge(Networks, check=check, config=networks, fleet=the_fleet)
    return first, converge(Sandboxes, check=check, config=own, networks=networks, fleet=the_fleet)
