# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bridge resource (module netmodes.linux.bridge)."""

from __future__ import annotations

from ansible_collections.netmodes.linux.plugins.module_utils import _addresses, _firewall, _links, _sysctl
from ansible_collections.netmodes.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.netmodes.linux.plugins.module_utils._gateway import OPTIONS as GATEWAY_OPTIONS
from ansible_collections.netmodes.linux.plugins.module_utils._gateway import gateway_policy, versions_in
from ansible_collections.netmodes.linux.plugins.module_utils._model import ifname, interfaces, jsonable, mtu


class Bridge(Resource):
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "addresses": {"type": "list", "elements": "str"},
        "mtu": {"type": "int"},
        "stp": {"type": "bool"},
        "ip_masquerade": {"type": "bool", "default": True},
        "icc": {"type": "bool", "default": True},
        "internal": {"type": "bool", "default": False},
        **GATEWAY_OPTIONS,
        "firewall_backend": _firewall.BACKEND_OPTION,
    }

    def desired(self):
        p = self.params
        declared = interfaces(p["addresses"], "addresses")
        policy = {"masquerade": p["ip_masquerade"], "icc": p["icc"], "internal": p["internal"],
                  **gateway_policy(p, internal=p["internal"], masquerade=p["ip_masquerade"])}
        # Gateway mode isolated: the bridge has no address of that family (its members cannot reach
        # the host); the declared one still gives the subnet that the firewall rules cover.
        isolated = versions_in(policy, "isolated")
        addresses = None if declared is None else frozenset(a for a in declared if a.version not in isolated)
        families = {a.version for a in addresses or ()}
        forwarding = {_sysctl.forwarding(p["name"], v): "1" for v in sorted(families | {4})}
        return {"name": ifname(p["name"], "name", existing=p["state"] == "absent"), "state": p["state"], "addresses": addresses,
                "declared": declared, "mtu": mtu(p["mtu"], "mtu"), "stp": p["stp"], "forwarding": forwarding, "policy": policy}

    def read(self, desired):
        sysctl, net = self.adapters["sysctl"], self.adapters["netlink"]
        # Forwarding on the bridge; with masquerade on the uplinks too, where replies come back in
        # (and, in gateway mode routed or nat-unprotected, what is routed to the members).
        ledger = sysctl.ledger()
        want = dict(desired["forwarding"]) if desired["state"] == "present" else {}
        policy = desired["policy"]
        if want and (policy["masquerade"] or {policy["mode4"], policy["mode6"]} != {"nat"}) and not policy["internal"]:
            uplinks = _sysctl.uplink_addresses(net, ledger)
            for version in sorted({int(_sysctl.KEY.match(key).group(1)) for key in desired["forwarding"]}):   # the bridge's families
                want.update(dict.fromkeys(_sysctl.uplinks(uplinks, version=version), "1"))
        keys = set(want) | set(_sysctl.held(ledger, _firewall.bridge_owner(desired["name"])))
        current = {"link": net.link(desired["name"], routes=False), "firewall": self.adapters["firewall"].read(),
                   "ledger": ledger, "sysctl": {key: sysctl.get(key) for key in sorted(keys)}, "want_sysctl": want, "foreign": []}
        if desired["state"] == "present":
            current["foreign"] = self.adapters["firewall"].foreign_chains()
            current["bridged"] = sysctl.get(_sysctl.BRIDGE_NF_CALL) == "1"
        return current

    def plan(self, current, desired):
        name, link, obj = desired["name"], current["link"], "bridge %s" % desired["name"]
        _links.require_ours(link, "bridge", "bridge")
        if desired["state"] == "absent":
            ops = [Op("delete", obj, before={"addresses": jsonable(link.addresses)},
                      call=("netlink.link_delete", {"name": name}))] if link else []
            return ops + self._sysctl_ops(current, desired) + self._policy_ops(current, desired, None)
        ops = []
        if link is None:  # made with a MAC of its own (netlink.link_add_bridge)
            ops.append(Op("create", obj, after={"kind": "bridge"}, call=("netlink.link_add_bridge", {"name": name})))
        elif link.mac_fixed is False:
            # Made before that: keep the MAC it has now, fixed (a change is what cuts members off).
            ops.append(Op("set", obj, "mac", "%s (its lowest port's)" % link.mac, "%s (fixed)" % link.mac,
                          call=("netlink.link_set", {"name": name, "address": link.mac})))
        stp = None if desired["stp"] is None else int(desired["stp"])
        nf_call = None if desired["policy"]["icc"] else 1
        # With IPv6 addresses, its IPv6 frames pass ip6tables' hooks too (icc false drops both families).
        nf_call6 = nf_call if any(a.version == 6 for a in desired["declared"] or ()) else None
        attrs = {"mtu": desired["mtu"], "br_stp_state": stp, "br_nf_call_iptables": nf_call, "br_nf_call_ip6tables": nf_call6, "state": "up"}
        ops += _links.plan_attrs(obj, name, None, _links.link_attrs(link), attrs)
        ops += _links.plan_addresses(obj, name, None, link.addresses if link else frozenset(), desired["addresses"])
        ops += self._sysctl_ops(current, desired)
        return ops + self._policy_ops(current, desired, self._policy(current, desired))

    def _sysctl_ops(self, current, desired):
        owner = _firewall.bridge_owner(desired["name"])
        return _sysctl.plan(owner, current["want_sysctl"], current["ledger"], current["sysctl"])

    @staticmethod
    def _policy(current, desired):
        addresses = desired["declared"] if desired["declared"] is not None else (current["link"].addresses if current["link"] else ())
        return _firewall.BridgePolicy(desired["name"], _addresses.policy_subnets(addresses), **desired["policy"])

    def _policy_ops(self, current, desired, policy):
        """The bridge's rules, then what keeps the host closed for the sysctls it switches (both
        committed at once)."""
        firewall, state = self.adapters["firewall"], current["firewall"]
        owner = _firewall.bridge_owner(desired["name"])
        want = firewall.render(owner, [policy]) if policy else set()
        before = self._recognise(current, desired, state.owned_by(owner))
        after = policy.describe() if policy else None
        ops = _firewall.plan("bridge %s firewall" % desired["name"], "policy", firewall, state, owner, want=want, before=before, after=after)
        ledger, keys, values = current["ledger"], current["want_sysctl"], current["sysctl"]
        return ops + _firewall.plan_guard(firewall, state, owner, want, ledger=ledger, keys=keys, values=values)

    def _recognise(self, current, desired, have):
        """The policy that HAVE (the bridge's rules now) was written for, or a word for what they are."""
        policy = self._policy(current, desired)
        return _firewall.recognise(self.adapters["firewall"], desired["name"], policy.subnets, have, hint=policy)

    def result(self, current, desired):
        if current["foreign"]:
            flows = _firewall.bridge_flows(self._policy(current, desired), current["bridged"])
            self.warnings += _firewall.blocked("bridge %s" % desired["name"], current["foreign"], flows)
        link = current["link"]
        if link is None:
            return {"name": desired["name"], "exists": False}
        return {"name": link.name, "exists": True, "addresses": jsonable(link.addresses), "mtu": link.mtu, "mac": link.mac,
                "policy": self._recognise(current, desired, current["firewall"].owned_by(_firewall.bridge_owner(link.name)))}
