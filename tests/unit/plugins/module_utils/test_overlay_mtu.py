# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An overlay's MTU across its hosts: each host's own (declared, or its underlay link's less the
VXLAN headers), a declared one its underlay cannot carry, and the comparison of the hosts' values
that the controller makes (different MTUs on one overlay: a path MTU black hole)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _declaration, _fleet
from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._model import interfaces
from ansible_collections.netmodes.linux.plugins.module_utils._records import Link

OVERLAY = {"name": "ov0", "driver": "overlay", "hosts": "ov", "subnet": "10.231.200.0/24"}
WHERE = "netmodes_networks[0] (ov0)"


def spec(**extra):
    return _declaration.network_spec(dict(OVERLAY, **extra), "netmodes_networks[0]")


def report(mtu, link_mtu, declared=False, link="eth0", overhead=50):
    return _fleet.OverlayMtu(mtu, declared, link, link_mtu, overhead).report(WHERE)


@pytest.mark.parametrize("underlay, link_mtu, declared, expected", [
    ("10.231.1.12", 1500, None, (1450, False, "eth0", 1500, 1450)),
    ("10.231.1.12", 1400, None, (1350, False, "eth0", 1400, 1350)),
    ("fd31:1::12", 9000, None, (8930, False, "eth0", 9000, 8930)),   # IPv6 underlay: 70 bytes of headers
    ("10.231.1.12", 1400, 1300, (1300, True, "eth0", 1400, 1350)),
    ("10.231.9.9", 1500, 1400, (1400, True, None, None, None)),       # the underlay address on no link: the declared one
])
def test_a_host_s_overlay_mtu_and_the_underlay_under_it(kernel, underlay, link_mtu, declared, expected):
    kernel.links[(None, "eth0")] = Link("eth0", 90, "veth", link_mtu, "02:00:00:00:00:90", True,
                                        addresses=interfaces(["10.231.1.12/24", "fd31:1::12/64"], "a"))
    found = _fleet.overlay_mtu(spec(mtu=declared), kernel, ipaddress.ip_address(underlay))
    assert (found.mtu, found.declared, found.link, found.link_mtu, found.carried) == expected


def test_no_mtu_and_no_link_with_the_underlay_address_is_refused_naming_the_variable(kernel):
    with pytest.raises(InvalidInput, match="underlay address 10.231.9.9 is on no interface of this host; set netmodes_underlay_address"):
        _fleet.overlay_mtu(spec(), kernel, ipaddress.ip_address("10.231.9.9"))


@pytest.mark.parametrize("found, warned", [
    (_fleet.OverlayMtu(1450, True, "eth0", 1400, 50), True),
    (_fleet.OverlayMtu(1350, True, "eth0", 1400, 50), False),    # exactly what it carries
    (_fleet.OverlayMtu(1300, True, "eth0", 1400, 50), False),
    (_fleet.OverlayMtu(1350, False, "eth0", 1400, 50), False),   # derived: fits by construction
    (_fleet.OverlayMtu(9000, True, None, None, 50), False),      # no link to compare with (the vxlan module names it)
])
def test_a_declared_mtu_beyond_what_the_underlay_carries_is_warned(found, warned):
    said = _fleet.mtu_beyond_underlay(found, WHERE)
    assert (said is not None) == warned
    if warned:
        assert said == ("netmodes_networks[0] (ov0): mtu 1450 is more than this host's underlay carries: eth0 has MTU 1400, less 50"
                        " for the VXLAN headers leaves 1350; the kernel takes it, but larger packets are fragmented (or refused, with DF)"
                        " on the way out and dropped coming in on eth0; set mtu: 1350 (or less) on the network, or raise the MTU of eth0"
                        " (on every host of the network)")


def test_hosts_of_one_overlay_with_different_mtus_are_warned_naming_each_and_the_mtu_to_set():
    warnings = _fleet.mtu_mismatches({"sim1": {"ov0": report(1450, 1500)}, "sim2": {"ov0": report(1350, 1400)},
                                      "sim10": {"ov0": report(1450, 1500)}})
    assert warnings == [
        "netmodes_networks[0] (ov0): the hosts of this overlay have different MTUs: 1450 on sim1, sim10 (eth0 1500 less 50),"
        " 1350 on sim2 (eth0 1400 less 50); a packet larger than 1350 that sim1 sends (up to 1450) is dropped"
        " without an error on its way to sim2 (a path MTU black hole); set mtu: 1350 on the network, the smallest its hosts'"
        " underlays carry"]


@pytest.mark.parametrize("reports", [
    {"sim1": {"ov0": report(1450, 1500)}, "sim2": {"ov0": report(1450, 1500)}},
    {"sim1": {"ov0": report(1350, 1500, declared=True)}, "sim2": {"ov0": report(1350, 1400, declared=True)}},  # the fix
    {"sim1": {"ov0": report(1450, 1500)}},                                    # a host alone: nothing to compare
    {"sim1": {"ov0": report(1450, 1500)}, "sim2": {}, "sim3": None},          # hosts without overlays
    {"sim1": {"ov0": report(1450, 1500)}, "sim2": {"ov1": report(1350, 1400)}},  # different networks
])
def test_hosts_whose_overlays_agree_are_not_warned(reports):
    assert _fleet.mtu_mismatches(reports) == []


def test_the_mtu_to_set_is_one_every_host_s_underlay_carries():
    """A host declaring more than its underlay carries (its own warning) does not raise the MTU to set."""
    warnings = _fleet.mtu_mismatches({"sim1": {"ov0": report(9000, 1500, declared=True)}, "sim2": {"ov0": report(1450, 1500)},
                                      "sim3": {"ov0": report(8930, 9000, overhead=70)}})
    (said,) = warnings
    assert "9000 on sim1 (its mtu), 1450 on sim2 (eth0 1500 less 50), 8930 on sim3 (eth0 9000 less 70)" in said
    assert "a packet larger than 1450 that sim1 sends (up to 9000) is dropped without an error on its way to sim2" in said
    assert said.endswith("set mtu: 1450 on the network, the smallest its hosts' underlays carry")


def test_each_overlay_is_compared_on_its_own():
    warnings = _fleet.mtu_mismatches({"sim1": {"ov0": report(1450, 1500), "ov1": report(1450, 1500)},
                                      "sim2": {"ov0": report(1350, 1400), "ov1": report(1450, 1500)},
                                      "sim3": {"ov1": report(1400, 1500, declared=True)}})
    assert [w.split(" have different MTUs: ")[1].split(";")[0] for w in warnings] == [
        "1450 on sim1 (eth0 1500 less 50), 1350 on sim2 (eth0 1400 less 50)",
        "1450 on sim1, sim2 (eth0 1500 less 50), 1400 on sim3 (its mtu)"]
