# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portmap resource (module netmodes.linux.portmap)."""

from __future__ import annotations

import ipaddress

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _firewall, _links, _sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import address, ifname, netns_name
from ansible_collections.netmodes.linux.plugins.module_utils._ports import port_mappings
from ansible_collections.netmodes.linux.plugins.module_utils._preflight import in_use, published_by


class Portmap(Resource):
    argument_spec = {
        "netns": {"type": "str"},
        "address": {"type": "str"},
        "bridge": {"type": "str", "required": True},
        "ports": {"type": "list", "elements": "raw", "default": []},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "firewall_backend": _firewall.BACKEND_OPTION,
    }
    # The sandboxes batch: owners whose ports it let go already, and in check mode the address
    # and subnet an earlier step plans for the sandbox.
    batch_options = ("settled", "planned_address", "planned_subnet")
    mutually_exclusive = [("netns", "address")]
    required_one_of = [("netns", "address")]

    def desired(self):
        p = self.params
        target = address(p["address"], "address") if p["address"] else None
        if target is not None and target.version != 4:
            raise InvalidInput("address: %s: IPv6 sandbox addresses are not supported yet" % target, "address")
        mappings = port_mappings(p["ports"], "ports") if p["state"] == "present" else frozenset()
        gone = p["state"] == "absent"
        netns = netns_name(p["netns"], "netns", existing=gone) if p["netns"] else None
        owner = _firewall.sandbox_owner(netns, target)
        if len(owner.encode("utf-8")) > 120:
            raise InvalidInput("netns: the sandbox name is too long to tag firewall rules with (at most 114 bytes)", "netns")
        return {"netns": netns, "address": target, "bridge": ifname(p["bridge"], "bridge", existing=gone), "ports": mappings,
                "state": p["state"], "owner": owner}

    def read(self, desired):
        net, sysctl = self.adapters["netlink"], self.adapters["sysctl"]
        bridge = net.link(desired["bridge"], routes=False)
        ledger = sysctl.ledger()
        current = {"bridge": bridge, "firewall": self.adapters["firewall"].read(), "address": desired["address"],
                   "listeners": [], "uplink_addresses": {}, "ledger": ledger, "foreign": []}
        held = _sysctl.held(ledger, desired["owner"])
        current["sysctl"] = {key: sysctl.get(key) for key in held}
        if desired["state"] == "absent":
            return current
        if desired["ports"]:
            current["foreign"] = self.adapters["firewall"].foreign_chains()
        subnets = _addresses.subnets_of(bridge.addresses if bridge else ())
        if current["address"] is None and net.netns_inode(desired["netns"]) is not None:
            current["address"] = _addresses.address_in(net, desired["netns"], subnets)
        if current["address"] is None and self.params.get("planned_address"):
            # The sandboxes module only, in check mode: the address an earlier step of its plan gives
            # the sandbox (it and its link do not exist yet), and the bridge's subnet that step plans.
            current["address"] = address(self.params["planned_address"], "address")
            subnets = subnets or ([self.params["planned_subnet"]] if self.params.get("planned_subnet") else [])
        current["subnet"] = next((s for s in subnets if current["address"] in s), None) if current["address"] else None
        current["listeners"] = self.adapters["sockets"].listeners()
        current["uplink_addresses"] = _sysctl.uplink_addresses(net, ledger)
        keys = [_sysctl.route_localnet(desired["bridge"])] + _sysctl.uplinks(current["uplink_addresses"])  # all _sysctl_want may want
        current["sysctl"].update({key: sysctl.get(key) for key in keys})
        return current

    def plan(self, current, desired):
        owner, state, obj = desired["owner"], current["firewall"], "portmap %s" % desired["owner"]
        firewall = self.adapters["firewall"]
        before = published(state, owner)
        if desired["state"] == "absent":
            ops = _firewall.plan(obj, "published", firewall, state, owner, want=set(), before=before, after=[])
            return self._closing(current, desired, set(), {}, ops)
        # Not any link: route_localnet on the LAN's would let the LAN reach the host's loopback.
        _links.check_bridge(self, desired["bridge"], current["bridge"])
        self._check_conflicts(current, desired)
        target, subnet = current["address"], current.get("subnet")
        if target is None or subnet is None:
            why = ("address: %s is not inside a subnet of bridge %s; give the sandbox's address on %s"
                   % (desired["address"], desired["bridge"], desired["bridge"]) if desired["address"]
                   else "netns: sandbox %r has no IPv4 address on bridge %s; plug it in with netmodes.linux.veth first"
                   % (desired["netns"], desired["bridge"]))
            self.missing(NotFound(why, "address" if desired["address"] else "netns"))
            want = set()  # check mode only: the address is not known yet
        else:
            want = firewall.render(owner, [_firewall.Publish(m, target, subnet) for m in desired["ports"]])
        after = sorted(str(m) for m in desired["ports"])
        ops = _firewall.plan(obj, "published", firewall, state, owner, want=want, before=before, after=after)
        return self._closing(current, desired, want, self._sysctl_want(current, desired), ops)

    def _closing(self, current, desired, want, keys, ops):
        """The ledger's ops for KEYS ({key: value}, all this sandbox's ports need), the ports' own
        firewall OPS (to WANT), and after them the firewall's guard for the ledger they leave."""
        owner, ledger, values = desired["owner"], current["ledger"], current["sysctl"]
        return (_sysctl.plan(owner, keys, ledger, values) + ops
                + _firewall.plan_guard(self.adapters["firewall"], current["firewall"], owner, want, ledger=ledger, keys=keys, values=values))

    def _check_conflicts(self, current, desired):
        owner, field = desired["owner"], "ports"
        # SETTLED (the sandboxes module only): owners whose ports this run has already checked and let go
        settled = self.params.get("settled") or ()
        for mapping in sorted(desired["ports"]):
            found = current["firewall"].held().overlapping(mapping, skip={owner, *settled})
            if found is not None:
                who, other = found
                raise Conflict(published_by("%s: host port %s/%s" % (field, mapping.host_ports(), mapping.protocol),
                                            _firewall.owner_words(who), other), field)
            held = mapping.listener(current["listeners"])
            if held is not None:
                protocol, addr, port, inode = held
                raise Conflict(in_use("%s: host port %d/%s" % (field, port, protocol), self.adapters["sockets"].process_of(inode), addr, port,
                                      "stop it or choose another host port"), field)

    @staticmethod
    def _sysctl_want(current, desired):
        """Forwarding on the interfaces the ports' clients come in on, and route_localnet on the
        bridge only when the host reaches a port through 127.0.0.1 (published on every address or
        on a loopback address): the host's packets to it leave lo for the bridge."""
        hosts = {m.host_ip for m in desired["ports"]}
        if not hosts:
            return {}
        anywhere = ipaddress.ip_address("0.0.0.0") in hosts
        wanted = _sysctl.uplinks(current["uplink_addresses"], None if anywhere else hosts)
        if anywhere or any(ip.is_loopback for ip in hosts):
            wanted.append(_sysctl.route_localnet(desired["bridge"]))
        return dict.fromkeys(wanted, "1")

    def result(self, current, desired):
        if current["foreign"] and current.get("subnet") is not None:
            flows = _firewall.publish_flows(desired["bridge"], current["subnet"])
            self.warnings += _firewall.blocked("portmap %s" % desired["owner"], current["foreign"], flows)
        out = {"published": published(current["firewall"], desired["owner"]), "backend": self.adapters["firewall"].name}
        if current.get("address") is not None:
            out["address"] = str(current["address"])
        return out


def published(state, owner):
    """OWNER's published ports in the firewall, as Docker -p strings."""
    return sorted({str(m) for who, m in state.published() if who == owner})
