# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend: every nftables rule the collection writes is made here.

Everything lives in one table of our own, ``inet netmodes``; nothing outside it is read for
writing or touched. Published ports are elements of maps and sets, and bridges are reached
through verdict maps, so a packet costs the same few lookups whether one port or a thousand
are published, on one bridge or twenty (Docker's nftables layout, with maps for the ports)::

    table inet netmodes {
      map addr4 / port4          host address . protocol . host port -> sandbox address / port
      map any-addr4 / any-port4  protocol . host port (every local address) -> the same
      map range4                 host address/prefix . protocol . port range -> sandbox address
      map addr6 / port6 / any-addr6 / any-port6 / range6   the same for IPv6 (ipv6_addr keys)
      set made-by                    holds "netmodes.linux": the mark that the table is ours
      set exposed4, exposed-range4   sandbox address . protocol . port(s): published, let in
      set exposed6, exposed-range6   the same for IPv6
      set loopback4, loopback-range4 127.x address . protocol . port(s): drop remote access (moby#41872)
      map isolate / fwd-in / fwd-out / nat-out   bridge name -> jump to that bridge's chain
      set bridges                     our bridges: nothing arriving there reaches 127.0.0.0/8
      set uplinks, localnet           interfaces whose forwarding / route_localnet we switched on
      set uplinks6                    interfaces whose IPv6 force_forwarding we switched on
      map resolve4 / resolve6         a resolver's address . protocol . port 53 -> jump to its network's chain
      chain published     the DNAT rules (three per family), looked up through the maps
      chain nat-prerouting / nat-output  (fib daddr type local -> published)
      chain nat-postrouting              (masquerade host-loopback; iifname and oifname vmap @nat-out)
      chain raw-prerouting               (the loopback guards: @bridges, @localnet, loopback4)
      chain filter-forward               (jump user; iifname vmap @isolate; oifname vmap @fwd-in;
                                          iifname vmap @fwd-out; iifname @uplinks jump closed;
                                          iifname @uplinks6 jump closed6)
      chain closed, closed6              (what may cross an uplink we switched on: published ports)
      chain filter-input                 (iifname vmap @host-in; ip daddr . meta l4proto . th dport
                                          vmap @resolve4, and IPv6's)
      chain user                         (the user's own rules; created, never flushed)
      chain isolate-BR / fwd-in-BR / fwd-out-BR / nat-out-BR   one set per bridge: its network policy
      chain host-in-BR                   (a bridge with a family in gateway mode isolated: that family dropped into the host)
      chain vxlan-DEV                    (a VXLAN device's filter, hook prerouting priority raw: VXLAN
                                          to its port with its VNI from its peers only)
      chain resolver-DEV                 (a network's resolver: iifname DEV from its subnets accept,
                                          iifname lo return, drop)
    }

Each element carries its owner (``netns:web``, ``bridge:br0``, ``resolver:br0``, ``sysctl:ledger``) as its comment, and a
bridge's (a VXLAN device's, a resolver's device's) chains carry its name: that is how a run finds its own items, another owner's
conflicting ones, and nothing else. The table itself is ours by its mark, the set ``made-by``
holding the element ``netmodes.linux`` (nftables 1.0.6 neither reads nor prints a table's or a
set's comment in JSON): a table of our name without it is someone else's, refused and never
changed or deleted. All changes of one module run are staged and sent as one JSON transaction
(``commit``), so they apply atomically or not at all.

Reads and writes go through libnftables' JSON API (the ``nftables`` Python binding, from Debian's
python3-nftables or PyPI's pip-nftables) and fall back to ``nft -j`` when the binding is absent.
"""

from __future__ import annotations

import json
import subprocess

from ansible_collections.netmodes.linux.plugins.module_utils._errors import KernelError
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.foreign_read import read_foreign
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.nft_rules import FAMILY, TABLE, render
from ansible_collections.netmodes.linux.plugins.module_utils._firewall.nft_state import TableState, changes, checked

try:
    import nftables as _nftables_binding
except ImportError:  # the `nft -j` fallback is used
    _nftables_binding = None

HAS_BINDING = _nftables_binding is not None


class Nftables:
    """The nftables adapter: read our table, stage commands, commit them as one transaction."""

    name = "nftables"

    def __init__(self):
        self._staged = []
        self._nft = None  # the libnftables context, made on first use: most modules never need it
        self._state = None  # the last read, until the next commit (a batch reads many times)
        self._expected = None  # the state the staged commands lead to, when known
        self._foreign = None  # others' base chains: our commits do not change them
        self._listing = None  # the ruleset as listed since the last commit: our table and others' chains

    render = staticmethod(render)
    changes = staticmethod(changes)

    def ruleset(self):
        """The whole ruleset as ``nft -j list ruleset`` prints it; None without nftables."""
        try:
            return self._list()
        except FileNotFoundError:  # neither the binding nor the nft command
            return None

    def _list(self):
        """The ruleset, listed once until the next commit: a run reads our table and others'
        base chains from the same listing (one dump of the kernel's ruleset, not two)."""
        if self._listing is None:
            out, err = self._run({"nftables": [{"list": {"ruleset": None}}]})
            if err is not None:
                raise KernelError("nftables: cannot list the ruleset: %s" % err)
            self._listing = out
        return self._listing

    def foreign_chains(self):
        """Others' base chains on the hooks our traffic passes (see foreign.blocked)."""
        if self._foreign is None:
            self._foreign = read_foreign(self, assume_hook=False)
        return self._foreign

    def _run(self, payload):
        """Run one JSON command list (one transaction); the parsed JSON output."""
        if self._nft is None and _nftables_binding is not None:
            self._nft = _nftables_binding.Nftables()
            self._nft.set_json_output(True)
            self._nft.set_handle_output(False)
        if self._nft is not None:
            rc, out, err = self._nft.json_cmd(payload)
        else:
            proc = subprocess.run(["nft", "-j", "-f", "-"], input=json.dumps(payload), capture_output=True, text=True, check=False)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
            out = json.loads(out) if out.strip() else {}
        if rc != 0:
            return None, (err or "").strip() or "nft exited with %d" % rc
        return out, None

    def read(self):
        """The state of table inet netmodes (empty when it does not exist)."""
        if self._state is None:
            ours = [item for item in self._list().get("nftables", []) if _in_our_table(item)]
            self._state = checked(TableState({"nftables": ours} if any("table" in item for item in ours) else None))
        return self._state

    @staticmethod
    def after(state, owner, want):
        """What the table will read as once OWNER's change to WANT is committed."""
        return state.replaced(owner, want)

    def stage(self, commands, after=None):
        """Queue commands for the transaction that ``commit`` sends; AFTER (from ``after``) is
        the state they lead to, kept instead of listing the table again."""
        self._expected = after if not self._staged else None  # two changes planned apart: read again
        self._staged += commands

    def commit(self):
        """Send every staged command as one transaction: all of them apply, or none."""
        if not self._staged:
            return
        staged, self._staged, self._state, expected = self._staged, [], None, self._expected
        self._listing = None
        _out, err = self._run({"nftables": staged})
        self._state = expected if err is None else None
        if err is not None:
            raise KernelError("nftables: the transaction was refused and nothing changed: %s" % err)


def _in_our_table(item):
    """Whether ITEM of a ruleset listing (a table, chain, set, map or rule) is table inet netmodes or in it."""
    for kind, body in item.items():
        if kind != "metainfo" and isinstance(body, dict):
            return body.get("family") == FAMILY and body.get("table", body.get("name") if kind == "table" else None) == TABLE
    return False
