# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode's preview of a batch (_preview): reads go to the real adapters, once each, and
what earlier steps plan is played over them."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _preview

FORWARDING = "net/ipv4/conf/eth0/forwarding"


class CountingSysctl:
    def __init__(self, values):
        self.values, self.reads = dict(values), []

    def get(self, key):
        self.reads.append(key)
        return self.values.get(key)

    def ledger(self):
        return {}


def test_a_sysctl_every_sandbox_asks_for_is_read_once_and_a_planned_claim_is_seen(kernel):
    real = CountingSysctl({FORWARDING: "0"})
    adapters = _preview.preview({"netlink": kernel, "sysctl": real})
    sysctl = adapters["sysctl"]
    assert [sysctl.get(FORWARDING) for _sandbox in range(200)] == ["0"] * 200
    assert real.reads == [FORWARDING]
    sysctl.claim(FORWARDING, "netns:web", 1)  # what an earlier step plans
    assert sysctl.get(FORWARDING) == "1" and sysctl.ledger()[FORWARDING] == {"before": "0", "users": ["netns:web"]}
    assert sysctl.get("net/ipv4/conf/nope/forwarding") is None and real.reads == [FORWARDING, "net/ipv4/conf/nope/forwarding"]
