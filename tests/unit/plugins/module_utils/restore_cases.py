# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declarations the boot-time restore is tested on, and the fixtures that make a host of them,
shared by the tests of the restore (test_restore.py) and of the module that saves them
(tests/unit/plugins/modules/test_boot_restore.py), each of which binds the fixtures by name."""

from __future__ import annotations

import json

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils._batches.restore import SavedDeclaration
from ansible_collections.netmodes.linux.plugins.module_utils._batches.sandboxes import Sandboxes
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link
from ansible_collections.netmodes.linux.plugins.modules.networks import Networks
from ansible_collections.netmodes.linux.tests.shared.sandboxes import EVERY_MODE

NETWORKS = [{"name": "br0"}, {"name": "back", "subnet": "172.30.0.0/24", "internal": True}]
SANDBOXES = EVERY_MODE
PATHS = {"path": "/etc/netmodes/declared.json", "command": "/usr/local/lib/netmodes/netmodes-restore"}
# A host of a two-host fleet: the bridge networks above, an overlay and a macvlan network (with the
# host's shim) that span both hosts, sandboxes on each, one of them on all three kinds.
OVERLAY = {"name": "ov0", "driver": "overlay", "hosts": "ov", "subnet": "10.231.200.0/24"}
LAN = {"name": "lan", "driver": "macvlan", "hosts": "ov", "parent": "eth0", "subnet": "10.231.1.0/24", "gateway": "10.231.1.1",
       "ip_range": "10.231.1.128/25", "max_hosts": 8, "shim": True}
SPANNING = NETWORKS + [OVERLAY, LAN]
ACROSS = {"sim1": SANDBOXES + [{"name": "o1", "network_mode": "ov0", "aliases": ["api"]}, {"name": "m1", "network_mode": "lan"},
                               {"name": "all3", "network_mode": "br0", "networks": ["ov0", "lan"]}],
          "sim2": [{"name": "o2", "network_mode": "ov0"}, {"name": "m2", "network_mode": "lan"}]}
FLEET = {"host": "sim1", "groups": {"ov": ["sim1", "sim2"]},
         "hosts": {h: {"index": None, "underlay": "10.231.1.1%s" % h[3:], "sandboxes": ACROSS[h]} for h in ACROSS}}


@pytest.fixture
def host(converge, files):
    """host(networks=None, sandboxes=None, **options): the host with them made, then saved for the boot."""
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"

    def declare(networks=None, sandboxes=None, **kwargs):
        networks, sandboxes = networks or NETWORKS, sandboxes or SANDBOXES
        converge(Networks, config=networks)
        converge(Sandboxes, config=sandboxes, networks=networks, **kwargs)
        return converge(SavedDeclaration, networks=networks, sandboxes=sandboxes, **PATHS)

    return declare


@pytest.fixture
def spanning(converge, kernel, files):
    """sim1 as the site builds it: networks and sandboxes with the fleet, then boot_restore with it."""
    lab_cable(kernel)
    files.host["/etc/resolv.conf"] = "nameserver 10.231.0.53\n"
    assert converge(Networks, config=SPANNING, fleet=FLEET)["changed"]
    assert converge(Sandboxes, config=ACROSS["sim1"], networks=SPANNING, fleet=FLEET)["changed"]
    return converge(SavedDeclaration, networks=SPANNING, sandboxes=ACROSS["sim1"], fleet=FLEET, **PATHS)


def saved(files):
    """The saved declaration, as the restore reads it."""
    return json.loads(files.host[PATHS["path"]])


def lab_cable(kernel):
    """The host's eth0 with its underlay address, there at boot as before."""
    kernel.links[(None, "eth0")] = Link("eth0", 90, "veth", 1500, "02:00:00:00:00:90", True, addresses=interfaces(["10.231.1.11/24"], "a"))
    return kernel
