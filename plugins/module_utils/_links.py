# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning shared by the link resources (bridge, veth): pure functions from models to ops.

``None`` in a desired field means "not managed": it never produces an op.
"""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict
from ansible_collections.netmodes.linux.plugins.module_utils._model import jsonable


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

    Attributes are netlink names: mtu, address (MAC), master, state, br_stp_state, br_nf_call_iptables.
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
