# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning shared by the link resources (bridge, veth, vxlan, macvlan): pure functions from
models to ops.

``None`` in a desired field means "not managed": it never produces an op.
"""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _model as m
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import jsonable

# The most ports one bridge can have: the kernel numbers them in 10 bits (BR_MAX_PORTS, 1024)
# and never gives out number 0; the next enslaving fails with "Exchange full" (EXFULL).
MAX_BRIDGE_PORTS = 1023


def require_ours(link, what, kind, field_name="name"):
    """Refuse to manage or remove a link we did not create, or one of another kind.

    FIELD_NAME is the option that named the link, for the message.
    """
    if link is None:
        return
    if link.kind != kind:
        raise Conflict(
            "%s: %s %s exists but is a %s link, not a %s; remove it or choose another name"
            % (field_name, what, link.name, link.kind or "plain", kind), field_name
        )
    if not link.ours:
        raise Conflict(
            "%s: %s %s exists but was not created by netmodes.linux (its alias lacks the"
            " 'netmodes.linux' tag), so it is left alone; choose another name or remove it"
            " yourself" % (field_name, what, link.name), field_name
        )


def plan_attrs(obj, name, netns, current, desired):
    """Ops for simple link attributes. DESIRED maps attribute -> value (None: not managed).

    Attributes are netlink names: mtu, address (MAC), master, state, br_stp_state, br_nf_call_iptables, br_nf_call_ip6tables,
    and ``hairpin`` (a bridge port's mode flag; plan it after ``master``).
    """
    ops = []
    for attr, want in desired.items():
        if want is None:
            continue
        have = current.get(attr) if current else None
        if have != want:
            kwargs = {"name": name, "netns": netns, attr: want}
            ops.append(Op("set", obj, attr, have, want, ("netlink.link_set", kwargs)))
    return ops


def link_attrs(link):
    """The managed attributes of a read Link, in plan_attrs' vocabulary."""
    if link is None:
        return None
    return {
        "mtu": link.mtu,
        "address": link.mac,
        "master": link.master,
        "state": "up" if link.up else "down",
        "br_stp_state": None if link.stp is None else int(link.stp),
        "br_nf_call_iptables": None if link.nf_call_iptables is None else int(link.nf_call_iptables),
        "br_nf_call_ip6tables": None if link.nf_call_ip6tables is None else int(link.nf_call_ip6tables),
        "hairpin": link.hairpin,
        "ipv6": link.ipv6,
    }


def plan_addresses(obj, name, netns, current, desired):
    """One op that makes the link's address set exactly DESIRED (a frozenset or None)."""
    if desired is None or current == desired:
        return []
    add = sorted(str(a) for a in desired - current)
    remove = sorted(str(a) for a in current - desired)
    call = ("netlink.addresses_set", {"name": name, "netns": netns, "add": add, "remove": remove})
    return [Op("set", obj, "addresses", jsonable(current), jsonable(desired), call)]


def plan_routes(obj, name, netns, current, desired):
    """One op that makes the link's static routes exactly DESIRED (a frozenset of Route or None)."""
    if desired is None or current == desired:
        return []

    def spec(route):
        return {"dst": str(route.dst), "via": str(route.via) if route.via else None, "metric": route.metric}

    call = ("netlink.routes_set", {
        "name": name,
        "netns": netns,
        "add": [spec(r) for r in sorted(desired - current, key=str)],
        "remove": [spec(r) for r in sorted(current - desired, key=str)],
    })
    return [Op("set", obj, "routes", jsonable(current), jsonable(desired), call)]


# -- an interface with addresses and routes (a veth's peer, a macvlan) -------------------------

# The options of such an interface, as endpoint_options reads them. A gateway is given once per
# IP version (a string is one gateway: Ansible reads "10.0.0.1" as a list of one).
ENDPOINT_SPEC = {
    "addresses": {"type": "list", "elements": "str"},
    "gateway": {"type": "list", "elements": "str"},
    "routes": {"type": "list", "elements": "dict"},
    "ipv6": {"type": "str", "choices": ["on", "off"]},
}


def ipv6_of(families):
    """A sandbox's link's ``ipv6`` on a network of FAMILIES (IP versions): on where the network
    has IPv6 (router advertisements ignored: a sandbox takes no address or route from its
    network's members), off where it has none (as Docker 26+ does on IPv4-only networks)."""
    return "on" if 6 in families else "off"


def endpoint_options(params):
    """The options ``addresses``, ``gateway``, ``routes`` and ``ipv6`` of an interface, validated,
    as the desired keys ``addresses``, ``routes`` (None: not managed), ``default`` (the gateways'
    routes; None: not managed, an empty set: no default route) and ``ipv6`` (None: not managed)."""
    addresses = m.interfaces(params["addresses"], "addresses")
    given = params["gateway"]
    gateways = [m.address(g, "gateway") for g in ([given] if isinstance(given, str) else given or ()) if g]
    for gateway in gateways:
        if [g for g in gateways if g.version == gateway.version] != [gateway]:
            raise InvalidInput("gateway: give at most one gateway of each IP version (%s)" % ", ".join(map(str, gateways)), "gateway")
        if addresses is not None and not any(gateway in a.network for a in addresses):
            raise InvalidInput("gateway: %s is not inside any subnet of addresses (%s); pick an address of"
                               " the interface's subnet" % (gateway, ", ".join(map(str, sorted(addresses, key=str)))), "gateway")
    if params.get("ipv6") == "off" and any(a.version == 6 for a in addresses or ()):
        raise InvalidInput("ipv6: off leaves no IPv6 on the interface, but addresses gives it IPv6 ones; remove them or the option",
                           "ipv6")
    routes = params["routes"]
    return {"addresses": addresses,
            "routes": None if routes is None else {m.route(r, "routes[%d]" % i) for i, r in enumerate(routes)},
            "default": None if given is None else {m.default_route(g) for g in gateways}, "ipv6": params.get("ipv6")}


def plan_endpoint(obj, name, netns, link, desired, *, attrs):
    """Ops for an interface's ATTRS (as plan_attrs), its addresses and its routes.

    With ``routes`` not managed, only the default routes are: those of the gateways, in their IP
    versions, or none at all when the gateway list is empty (a sandbox's link to a network that is
    not its gateway: Docker gives a sandbox one default route, never through an internal network);
    otherwise the routes and the gateways' together are the complete set.
    """
    # IPv6 first: switched off before the link is up, it never gets a link-local address; switched
    # off on a link that has it, its IPv6 addresses and routes go with it.
    ops = plan_attrs(obj, name, netns, link_attrs(link), {"ipv6": desired.get("ipv6"), **attrs})
    have, have_routes = (link.addresses, link.routes) if link else (frozenset(), frozenset())
    if link is not None and desired.get("ipv6") == "off" and link.ipv6 != "off":
        have, have_routes = frozenset(a for a in have if a.version == 4), frozenset(r for r in have_routes if r.dst.version == 4)
    ops += plan_addresses(obj, name, netns, have, desired["addresses"])
    if desired["routes"] is None:
        if desired["default"] is not None:
            families = {r.dst.version for r in desired["default"]} or {4, 6}
            have = frozenset(r for r in have_routes if r.dst.prefixlen == 0 and r.dst.version in families)
            ops += plan_routes(obj, name, netns, have, frozenset(desired["default"]))
    else:
        ops += plan_routes(obj, name, netns, have_routes, frozenset(desired["routes"] | (desired["default"] or set())))
    return ops


def describe_endpoint(link):
    """An interface as results show it."""
    return {"name": link.name, "mac": link.mac, "mtu": link.mtu, "addresses": jsonable(link.addresses), "routes": jsonable(link.routes)}


def check_netns(resource, exists, netns):
    """A sandbox the task puts a link in must exist (in check mode an earlier task may make it)."""
    if not exists:
        resource.missing(NotFound("netns: sandbox %r does not exist; create it with netmodes.linux.netns first" % netns, "netns"),
                         "netns %s" % netns)


def check_bridge(resource, want, bridge):
    """The bridge WANT a link is to be enslaved to (BRIDGE, as read) must exist and be a bridge."""
    if want and bridge is None:
        resource.missing(NotFound("bridge: %s does not exist; create it with netmodes.linux.bridge first" % want, "bridge"),
                         "bridge %s" % want)
    if bridge is not None and bridge.kind != "bridge":
        raise Conflict("bridge: %s is a %s link, not a bridge; name a bridge (netmodes.linux.bridge makes one)"
                       % (bridge.name, bridge.kind or "plain"), "bridge")


def bridge_full(bridge, ports, adding):
    """Why BRIDGE cannot take ADDING more ports when it has PORTS now, or None when it can."""
    if ports + adding <= MAX_BRIDGE_PORTS:
        return None
    return ("bridge %s would have %d ports (%d already on it and %d more), and the kernel allows at most %d on one bridge"
            % (bridge, ports + adding, ports, adding, MAX_BRIDGE_PORTS))
