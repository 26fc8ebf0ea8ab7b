# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a planner asks of the firewall: intents (a published port, a bridge network's policy, who
may send an overlay VXLAN, who may ask a network's resolver, what keeps the host closed) and the
owner tags they are written for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Publish:
    """One published port mapping (``-p``) to sandbox address TARGET inside bridge SUBNET.

    ROUTED: the network's gateway mode of TARGET's family is routed (``BridgePolicy``): as Docker's
    routed port mapper, the host port is ignored (nothing is DNATed) and only the container port
    is opened, to traffic routed to TARGET.

    ALLOW: None, or the networks (both families) whose sources alone the port admits from
    outside the sandbox's network (``allow``); the host's own connections and the network's
    members are not filtered (they do not cross the filter: output, or the bridge itself)."""

    mapping: object   # _ports.PortMapping
    target: object    # ipaddress.IPv4Address
    subnet: object    # ipaddress.IPv4Network
    routed: bool = False
    allow: tuple = None

    def sources(self):
        """The allow-list's networks of the target's family (an IPv4 source never reaches an IPv6 target)."""
        return tuple(n for n in self.allow or () if n.version == self.target.version)


@dataclass(frozen=True)
class BridgePolicy:
    """Docker's bridge driver options for one bridge and its subnets (both IP versions).

    MODE4 and MODE6 are the gateway modes of its IPv4 and IPv6 subnets (``_gateway.GATEWAY_MODES``,
    com.docker.network.bridge.gateway_mode_ipv4/6): nat masquerades its members' traffic out and
    lets nothing from outside at them but published ports (through the host's addresses);
    nat-unprotected is nat that lets in anything routed to a member; routed does no NAT: members
    leave with their own addresses and are reached by routing (ICMP and their published container
    ports only; no host port is DNATed to them). Routed traffic never comes in from another bridge
    of the host (the networks' isolation). isolated (internal networks only) is internal with no
    address of that family on the bridge, and nothing of that family arriving on the bridge is
    let into the host (its input): its members reach each other and nothing else, not even the
    host through an address they route to it themselves. TRUSTED
    the host's interfaces from which its members' published container ports may be reached
    directly (com.docker.network.bridge.trusted_host_interfaces: nat mode's direct-access filter
    lets them by); SNAT the source addresses its outbound NAT uses, one per IP version at most
    (com.docker.network.host_ipv4/host_ipv6; masquerade picks the outgoing interface's)."""

    bridge: str
    subnets: tuple = ()
    masquerade: bool = True
    icc: bool = True
    internal: bool = False
    mode4: str = "nat"
    mode6: str = "nat"
    trusted: tuple = ()
    snat: tuple = ()

    def mode(self, version):
        return self.mode4 if version == 4 else self.mode6

    def isolated(self):
        """The IP versions in gateway mode isolated: nothing of them arriving on the bridge enters the host."""
        return tuple(v for v in (4, 6) if self.mode(v) == "isolated")

    def nat(self, version):
        """Its members' traffic of IP VERSION leaves NATed (masquerade or SNAT)."""
        return self.masquerade and not self.internal and self.mode(version) != "routed"

    def snat_to(self, version):
        """The source address outbound NAT of IP VERSION uses, or None (masquerade)."""
        return next((a for a in self.snat if a.version == version), None)

    def describe(self):
        out = {"ip_masquerade": self.masquerade, "icc": self.icc, "internal": self.internal}
        for version, mode in ((4, self.mode4), (6, self.mode6)):
            if mode != "nat":
                out["gateway_mode_ipv%d" % version] = mode
        if self.trusted:
            out["trusted_host_interfaces"] = list(self.trusted)
        for address in self.snat:
            out["host_ipv%d" % address.version] = str(address)
        return out


@dataclass(frozen=True)
class VxlanPeers:
    """Who may send this host VXLAN with VNI to UDP port DSTPORT: the SOURCES only (the underlay
    addresses of the overlay's peers, of IP VERSION). The kernel decapsulates VXLAN from any
    sender, and the VNI is no secret (the collection derives it from the network's name), so
    without this any machine on the LAN could put frames into the overlay's bridge."""

    device: str
    vni: int
    dstport: int
    version: int = 4
    sources: tuple = ()


@dataclass(frozen=True)
class ResolverAccess:
    """Who may reach the resolver of a network on this host (``_resolver``): a packet to one of
    ADDRESSES (ip addresses, of either family) on udp or tcp PORT is accepted when it arrives on
    DEVICE (the network's bridge, or its macvlan/ipvlan shim) from one of SUBNETS of its family
    (the network's members), let on when it comes from the host itself (``lo``), and dropped from
    anyone else: another network's members (their bridge, whatever source address they forge),
    the uplinks, other hosts. Nothing else of the host is opened or closed."""

    device: str
    addresses: tuple
    subnets: tuple
    port: int          # _resolver.PORT

    def describe(self):
        return ["%s port %d" % (address, self.port) for address in self.addresses]


@dataclass(frozen=True)
class ViewRedirect:
    """A sandbox's way to its resolver view (``_resolver``: the view of its networks and upstreams,
    a dnsmasq of its own on VIEW_PORTS): its DNS queries (udp and tcp ``_resolver.PORT``) to
    ADDRESS, the resolver its resolv.conf names, from one of SOURCES (its addresses on that
    network, in ADDRESS's family; iptables also matches DEVICE, where they arrive; nftables
    cannot, see nft_rules) go to ADDRESS port PORT instead (DNAT). What was redirected to a port
    of VIEW_PORTS is admitted (a fixed rule); anything else to a view's addresses and port is
    dropped (ViewPort)."""

    device: str
    sources: tuple
    address: object
    port: int

    def describe(self):
        return ["%s port %d from %s on %s" % (self.address, self.port, source, self.device) for source in self.sources]


@dataclass(frozen=True)
class ViewPort:
    """A resolver view's own port (``_resolver``): udp and tcp PORT on ADDRESSES (where it
    listens, its networks' resolver addresses) is dropped but for what was redirected there
    (ViewRedirect, admitted by a fixed rule before): a member cannot ask another sandbox's view
    directly, and nothing else of the host is closed."""

    addresses: tuple
    port: int

    def describe(self):
        return ["%s port %d" % (address, self.port) for address in self.addresses]


# The ports the resolver views listen on (_resolver.VIEW_PORTS), below the kernel's ephemeral ones.
VIEW_PORTS = (10530, 10629)


@dataclass(frozen=True)
class Guard:
    """What keeps the host closed where the collection switched a sysctl on (``_sysctl.guarded``):
    a forwarded IPv4 packet that arrives on one of UPLINKS (an IPv6 one on one of UPLINKS6) and
    goes neither into nor out of a bridge of ours (whose chains decide it first) is dropped,
    unless it belongs to a published port (to a foreign bridge); a packet to 127.0.0.0/8 that
    arrives on one of LOCALNET is dropped. Docker sets the FORWARD policy to drop when it switches
    forwarding on; this drops only what came in where we switched it, so the host's own
    forwarding elsewhere is left as it was."""

    uplinks: tuple = ()
    localnet: tuple = ()
    uplinks6: tuple = ()

    def describe(self):
        out = {"forwarding": list(self.uplinks), "route_localnet": list(self.localnet)}
        return dict(out, forwarding6=list(self.uplinks6)) if self.uplinks6 else out


# The owner of the Guard's items: the ledger, not one network (an uplink serves many).
GUARD_OWNER = "sysctl:ledger"


def sandbox_owner(netns=None, address=None):
    """The owner tag of a sandbox's published ports."""
    return "netns:%s" % netns if netns else "address:%s" % address


def owner_words(owner):
    """An owner tag for messages: ``netns:web`` -> ``sandbox web``, ``address:X`` -> ``address X``."""
    kind, _sep, name = owner.partition(":")
    return "sandbox %s" % name if kind == "netns" else "%s %s" % (kind, name)


def bridge_owner(name):
    return "bridge:%s" % name


def resolver_owner(device):
    """The owner tag of the admission of a network's members to its resolver (ResolverAccess), by
    the DEVICE they arrive on."""
    return "resolver:%s" % device


def view_owner(sandbox):
    """The owner tag of a sandbox's redirect to its resolver view (ViewRedirect)."""
    return "dnsview:%s" % sandbox


def view_port_owner(view):
    """The owner tag of a resolver view's own port (ViewPort)."""
    return "dnsport:%s" % view


def vxlan_owner(name):
    """The owner tag of the filter of a VXLAN device's traffic (VxlanPeers)."""
    return "vxlan:%s" % name
