# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portmap resource (module netmodes.linux.portmap)."""

from __future__ import annotations

import ipaddress

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _firewall, _links, _sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Resource
from ansible_collections.netmodes.linux.plugins.module_utils._errors import Conflict, InvalidInput, NotFound
from ansible_collections.netmodes.linux.plugins.module_utils._model import address, ifname, netns_name
from ansible_collections.netmodes.linux.plugins.module_utils._ports import (
    ANY6,
    EPHEMERAL_KEY,
    RESERVED_KEY,
    docker_ports,
    ephemeral_range,
    ephemeral_warning,
    inside_ephemeral,
    pick_ports,
    port_mappings,
    reserved_ports,
)
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
    # The sandboxes batch: owners whose ports it let go already, in check mode the address and
    # subnet an earlier step plans for the sandbox, the fixed host ports its declaration gives
    # every sandbox (a _ports.Held), which no random port of this one takes, and the IP versions in
    # which the network is in gateway mode routed (Docker's routed port mapper: no host port, the
    # container port only).
    batch_options = ("settled", "planned_addresses", "reserved", "routed")
    mutually_exclusive = [("netns", "address")]
    required_one_of = [("netns", "address")]

    def desired(self):
        p = self.params
        target = address(p["address"], "address") if p["address"] else None
        mappings = port_mappings(p["ports"], "ports") if p["state"] == "present" else frozenset()
        for mapping in mappings:
            if mapping.groups():
                raise InvalidInput("ports: %s: allow names the inventory group %s, which the portmap module cannot know; give"
                                   " CIDRs, or publish through netmodes.linux.sandboxes with the fleet" % (mapping, mapping.groups()[0]),
                                   "ports")
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
        subnets, subnets6 = (_addresses.subnets_of(bridge.addresses if bridge else (), version) for version in (4, 6))
        current["address6"] = None
        if current["address"] is not None and current["address"].version == 6:   # an IPv6-only sandbox, by address
            current["address"], current["address6"] = None, current["address"]
        elif current["address"] is None and net.netns_inode(desired["netns"]) is not None:
            current["address"] = _addresses.address_in(net, desired["netns"], subnets)
            current["address6"] = _addresses.address_in(net, desired["netns"], subnets6)
        if current["address"] is None and current["address6"] is None and self.params.get("planned_addresses"):
            # The sandboxes module only, in check mode: the addresses (interfaces, a family each) an
            # earlier step of its plan gives the sandbox (it and its link do not exist yet), in the
            # bridge's subnets that step plans.
            for planned in self.params["planned_addresses"]:
                if planned.version == 4:
                    current["address"], subnets = planned.ip, subnets or [planned.network]
                else:
                    current["address6"], subnets6 = planned.ip, subnets6 or [planned.network]
        current["subnet"] = next((s for s in subnets if current["address"] in s), None) if current["address"] else None
        current["subnet6"] = next((s for s in subnets6 if current["address6"] in s), None) if current["address6"] else None
        current["listeners"] = self.adapters["sockets"].listeners()
        if desired["ports"]:   # where the kernel picks ports itself: a random port avoids it, a fixed one is warned of
            current["ephemeral"] = ephemeral_range(sysctl.get(EPHEMERAL_KEY))
            current["reserved"] = reserved_ports(sysctl.get(RESERVED_KEY))
        if any(mapping.pick is not None for mapping in desired["ports"]):  # what a random port must not be
            current["claims"] = self.adapters["sockets"].claims()
        current["uplink_addresses"] = _sysctl.uplink_addresses(net, ledger)
        keys = ([_sysctl.route_localnet(desired["bridge"])] + _sysctl.uplinks(current["uplink_addresses"])  # all _sysctl_want may want
                + _sysctl.uplinks(current["uplink_addresses"], version=6))
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
        targets = {4: (current["address"], current.get("subnet")), 6: (current.get("address6"), current.get("subnet6"))}
        targets = {family: pair for family, pair in targets.items() if None not in pair}
        picked = self._pick(current, desired)
        ports = frozenset(picked.get(m, m) for m in desired["ports"])
        routed = set(self.params.get("routed") or ())
        if not targets:
            why = ("address: %s is not inside a subnet of bridge %s; give the sandbox's address on %s"
                   % (desired["address"], desired["bridge"], desired["bridge"]) if desired["address"]
                   else "netns: sandbox %r has no IPv4 address on bridge %s; plug it in with netmodes.linux.veth first"
                   % (desired["netns"], desired["bridge"]))
            self.missing(NotFound(why, "address" if desired["address"] else "netns"))
            mappings, want = [], set()  # check mode only: the address is not known yet
        else:
            mappings = published_mappings(ports, targets, desired["bridge"])
            want = firewall.render(owner, [_firewall.Publish(m, *targets[m.host_ip.version], routed=m.host_ip.version in routed,
                                                             allow=m.allow) for m in mappings])
            mappings = [m for m in mappings if m.host_ip.version not in routed]   # those that take a host port
        hosted = mappings if targets else sorted(ports)
        kept = {(m.protocol, m.host_port): random for random, m in picked.items()}
        self._check_conflicts(current, desired, hosted, kept)
        for mapping in sorted(m for m in desired["ports"] if m.pick is None and not (targets and set(targets) <= routed)):
            inside = inside_ephemeral(mapping, current["ephemeral"], current["reserved"])
            if inside:
                self.warnings.append(ephemeral_warning("portmap %s" % desired["owner"], mapping, inside, current["ephemeral"]))
        after = sorted(str(m) for m in hosted)
        ops = _firewall.plan(obj, "published", firewall, state, owner, want=want, before=before, after=after)
        return self._closing(current, desired, want, self._sysctl_want(current, hosted), ops)

    def _pick(self, current, desired):
        """{random mapping: with its host port} (_ports.pick_ports): kept from the sandbox's
        published ports, else free of every port a listener, another sandbox (published, or
        declared in the same batch: RESERVED) or a host-mode sandbox holds."""
        randoms = [m for m in desired["ports"] if m.pick is not None]
        if not randoms:
            return {}
        owner, reserved = desired["owner"], self.params.get("reserved")
        held = current["firewall"].held()
        busy = held.ports(skip={owner, *(self.params.get("settled") or ())})
        busy.update((protocol, port) for protocol, _addr, port, _inode in current["listeners"])
        busy.update((str(proto), int(port)) for ports in current["claims"].values() for port, proto in ports)
        if reserved is not None:
            busy |= reserved.ports(skip={owner})
        mine = [m for who, m in current["firewall"].published() if who == owner]
        return pick_ports(desired["ports"], mine, busy, current["ephemeral"])

    def _closing(self, current, desired, want, keys, ops):
        """The ledger's ops for KEYS ({key: value}, all this sandbox's ports need), the ports' own
        firewall OPS (to WANT), and after them the firewall's guard for the ledger they leave."""
        owner, ledger, values = desired["owner"], current["ledger"], current["sysctl"]
        return (_sysctl.plan(owner, keys, ledger, values) + ops
                + _firewall.plan_guard(self.adapters["firewall"], current["firewall"], owner, want, ledger=ledger, keys=keys, values=values))

    def _check_conflicts(self, current, desired, mappings, kept):
        """Fail on a host port of MAPPINGS that another sandbox publishes or a host process holds;
        KEPT: {(protocol, port): the random mapping} of the ports picked on an earlier run."""
        owner, field = desired["owner"], "ports"
        # SETTLED (the sandboxes module only): owners whose ports this run has already checked and let go
        settled = self.params.get("settled") or ()
        for mapping in mappings:
            random = kept.get((mapping.protocol, mapping.host_port))
            # a kept port stays: its holder is named, and a port is picked again only once it is unpublished
            fix = ("stop it, or publish without %s once so that a later run picks another free port" % random if random
                   else "stop it or choose another host port")
            how = " (picked for %s on an earlier run and kept)" % random if random else ""
            where = "%s: host port %s/%s%s" % (field, mapping.host_ports(), mapping.protocol, how)
            found = current["firewall"].held().overlapping(mapping, skip={owner, *settled})
            if found is not None:
                who, other = found
                raise Conflict(published_by(where, _firewall.owner_words(who), other), field)
            held = mapping.listener(current["listeners"])
            if held is not None:
                _protocol, addr, port, inode = held
                raise Conflict(in_use(where, self.adapters["sockets"].process_of(inode), addr, port, fix), field)

    def _sysctl_want(self, current, mappings):
        """Forwarding on the interfaces the ports' clients come in on (of each family published),
        and route_localnet on the bridge only when the host reaches a port through 127.0.0.1
        (published on every IPv4 address or on a loopback address): the host's packets to it
        leave lo for the bridge."""
        hosts = {m.host_ip for m in mappings}
        wanted = []
        if any(ip.version == 4 for ip in hosts):
            anywhere = ipaddress.ip_address("0.0.0.0") in hosts
            wanted = _sysctl.uplinks(current["uplink_addresses"], None if anywhere else hosts)
            if anywhere or any(ip.is_loopback for ip in hosts):
                wanted.append(_sysctl.route_localnet(self.params["bridge"]))
        if any(ip.version == 6 for ip in hosts):
            wanted += _sysctl.uplinks(current["uplink_addresses"], None if ANY6 in hosts else hosts, version=6)
        return dict.fromkeys(wanted, "1")

    def result(self, current, desired):
        subnets = [s for s in (current.get("subnet"), current.get("subnet6")) if s is not None]
        if current["foreign"] and subnets:
            flows = _firewall.publish_flows(desired["bridge"], subnets)
            self.warnings += _firewall.blocked("portmap %s" % desired["owner"], current["foreign"], flows)
        mine = [m for who, m in current["firewall"].published() if who == desired["owner"]]
        out = {"published": sorted({str(m) for m in mine}), "ports": docker_ports(mine), "backend": self.adapters["firewall"].name}
        if current.get("address") is not None:
            out["address"] = str(current["address"])
        if current.get("address6") is not None:
            out["address6"] = str(current["address6"])
        return out


def published_mappings(ports, targets, bridge):
    """The mappings of one family each that PORTS publish for a sandbox with TARGETS ({family:
    (address, subnet)}, its addresses on BRIDGE): a port without a host address on each family
    it has an address of (Docker on a dual-stack network); one with a host address of a family
    it has no address of, or on ::1, is what Docker's userland proxy would carry, and is refused."""
    out = []
    for mapping in sorted(ports):
        if mapping.every_family:
            out += [mapping.for_family(family) for family in sorted(targets)]
            continue
        family = mapping.host_ip.version
        if family == 6 and mapping.host_ip.is_loopback:
            raise InvalidInput("ports: %s: publishing on ::1 needs Docker's userland proxy (IPv6 has no route_localnet to send"
                               " the host's own connections to a bridge), which netmodes.linux does not run; publish on"
                               " 127.0.0.1 or on the host's IPv6 address instead" % mapping, "ports")
        if family not in targets:
            raise InvalidInput("ports: %s: the sandbox has no IPv%d address on bridge %s, so Docker would need its userland proxy"
                               " to carry IPv%d connections to it, which netmodes.linux does not run; give the sandbox an IPv%d"
                               " address on %s (a dual-stack network), or publish on an IPv%d host address or without one"
                               % (mapping, family, bridge, family, family, bridge, 6 if family == 4 else 4), "ports")
        out.append(mapping)
    return out


def published(state, owner):
    """OWNER's published ports in the firewall, as Docker -p strings."""
    return sorted({str(m) for who, m in state.published() if who == owner})
