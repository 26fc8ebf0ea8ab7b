# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input fails with a message that says what is wrong, and changes nothing on the host."""

from __future__ import annotations

import pytest
from conftest import refused, sh, snapshot


@pytest.mark.parametrize("module, args, message", [
    ("veth", {"name": "veth-frontend-web", "netns": "web"},
     "name: interface name 'veth-frontend-web' is 17 bytes; the kernel allows at most 15 (IFNAMSIZ)"),
    ("veth", {"name": "veth-web", "netns": "web", "peer": "eth0-of-web-sandbox"}, "peer: interface name 'eth0-of-web-sandbox' is 19 bytes"),
    ("bridge", {"name": "br0", "addresses": ["172.18.0.1/16", "172.18.0.256/16"]}, "addresses[1]: '172.18.0.256/16' is not a valid address/prefix (CIDR)"),
    ("bridge", {"name": "br0", "addresses": ["172.18.0.1"]}, "addresses[0]: '172.18.0.1' needs a prefix length"),
    ("veth", {"name": "veth-web", "netns": "web", "addresses": ["172.18.0.10/16"], "gateway": "172.19.0.1"},
     "gateway: 172.19.0.1 is not inside any subnet of addresses"),
    ("netns", {"name": "web2", "share_with": "missing"}, "share_with: sandbox 'missing' does not exist"),
    ("veth", {"name": "veth-web", "netns": "missing"}, "netns: sandbox 'missing' does not exist"),
])
def test_bad_input(ansible, sim1, module, args, message):
    sh(sim1, "ip netns add web")  # a sandbox to refer to, so only the bad option is at fault
    before = snapshot(sim1)
    run = ansible.adhoc("sim1", module, args)
    refused(dict(run.result(), failed=run.failed), message, before, snapshot(sim1))
