# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's gateway options of a bridge network: their one option spec (the bridge module's, and
the keys of a network of ``netmodes_networks``) and their one parser.

- ``gateway_mode_ipv4``, ``gateway_mode_ipv6``: com.docker.network.bridge.gateway_mode_ipv4/6;
- ``trusted_host_interfaces``: com.docker.network.bridge.trusted_host_interfaces;
- ``host_ipv4``, ``host_ipv6``: com.docker.network.host_ipv4/host_ipv6 (netavark's outbound_addr4/6).

What each means to the firewall is ``_firewall.intents.BridgePolicy``'s.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.netmodes.linux.plugins.module_utils._errors import InvalidInput
from ansible_collections.netmodes.linux.plugins.module_utils._model import ifname

# nat (the default), nat-unprotected, routed, isolated: see _firewall.intents.BridgePolicy.
# isolated (an internal network whose bridge has no address of that family) is an internal network's only mode besides nat.
GATEWAY_MODES = ("nat", "nat-unprotected", "routed", "isolated")
KEYS = ("gateway_mode_ipv4", "gateway_mode_ipv6", "trusted_host_interfaces", "host_ipv4", "host_ipv6")
OPTIONS = {
    "gateway_mode_ipv4": {"type": "str", "choices": list(GATEWAY_MODES), "default": "nat"},
    "gateway_mode_ipv6": {"type": "str", "choices": list(GATEWAY_MODES), "default": "nat"},
    "trusted_host_interfaces": {"type": "list", "elements": "str", "default": []},
    "host_ipv4": {"type": "str"},
    "host_ipv6": {"type": "str"},
}
DEFAULT = {"mode4": "nat", "mode6": "nat", "trusted": (), "snat": ()}


def _at(where, key):
    return "%s: %s" % (where, key) if where else key


def _mode(raw, key, where):
    value = raw.get(key)
    if value in (None, ""):
        return "nat"
    if value not in GATEWAY_MODES:
        raise InvalidInput("%s: %r is not a gateway mode (choose one of %s)" % (_at(where, key), value, ", ".join(GATEWAY_MODES)),
                           _at(where, key))
    return value


def _trusted(raw, where):
    """The interfaces as a sorted tuple: a list, or Docker's string of names joined by ':'."""
    key, value = "trusted_host_interfaces", raw.get("trusted_host_interfaces")
    if value in (None, "", []):
        return ()
    items = value.split(":") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InvalidInput("%s: %r is not a list of interface names; write a list, like [eth1]" % (_at(where, key), value), _at(where, key))
    return tuple(sorted({ifname(item, "%s[%d]" % (_at(where, key), i)) for i, item in enumerate(items)}))


def _host_ip(raw, version, where):
    key = "host_ipv%d" % version
    value = raw.get(key)
    if value in (None, ""):
        return None
    try:
        found = ipaddress.ip_address(str(value))
    except ValueError:
        found = None
    if found is None or found.version != version:
        raise InvalidInput("%s: %r is not an IPv%d address; give the host's address that outbound traffic leaves from, like %s"
                           % (_at(where, key), value, version, "10.0.0.2" if version == 4 else "2001:db8::2"), _at(where, key))
    if found.is_unspecified or found.is_loopback or found.is_multicast or found.is_link_local:
        raise InvalidInput("%s: %s cannot be the source of outbound traffic (it is %s); give one of the host's own unicast addresses"
                           % (_at(where, key), found, "unspecified" if found.is_unspecified else "loopback" if found.is_loopback
                              else "multicast" if found.is_multicast else "link-local"), _at(where, key))
    return found


def versions_in(policy, mode):
    """The IP versions (4, 6) that POLICY (a dict as ``gateway_policy`` returns it) puts in gateway mode MODE."""
    return tuple(v for v in (4, 6) if policy.get("mode%d" % v) == mode)


def gateway_policy(raw, where=None, *, internal=False, masquerade=True):
    """{mode4, mode6, trusted, snat} (``BridgePolicy``'s fields) from RAW's KEYS, or InvalidInput
    naming WHERE (the entry of a declaration; None for the bridge module's own options)."""
    out = {"mode4": _mode(raw, "gateway_mode_ipv4", where), "mode6": _mode(raw, "gateway_mode_ipv6", where),
           "trusted": _trusted(raw, where), "snat": tuple(a for a in (_host_ip(raw, 4, where), _host_ip(raw, 6, where)) if a)}
    isolated = ["gateway_mode_ipv%d" % v for v in versions_in(out, "isolated")]
    if isolated and not internal:
        raise InvalidInput("%s: isolated leaves the host's bridge without an address, which only an internal network can do"
                           " (Docker: gateway mode 'isolated' can only be used for an internal network); add internal: true,"
                           " or choose nat, nat-unprotected or routed" % _at(where, isolated[0]), _at(where, isolated[0]))
    given = [key for key in KEYS if raw.get(key) not in (None, "", [], "nat", "isolated")]
    if internal and given:
        raise InvalidInput("%s: an internal network has no traffic to or from outside its bridge, so it has no gateway mode"
                           " but nat or isolated, no trusted interfaces and no outbound address; remove %s or internal"
                           % (_at(where, given[0]), given[0]),
                           _at(where, given[0]))
    snat = [key for key in ("host_ipv4", "host_ipv6") if raw.get(key) not in (None, "")]
    if snat and not masquerade:
        raise InvalidInput("%s: the network has ip_masquerade: false, so its outbound traffic is not NATed and keeps its"
                           " members' addresses; remove %s or ip_masquerade" % (_at(where, snat[0]), snat[0]), _at(where, snat[0]))
    return out
