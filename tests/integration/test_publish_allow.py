# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A published port's ``allow`` with real traffic, on both backends (issue 19).

sim1 runs sandbox ``a`` on a user-defined network and publishes 8080:80 with ``allow: [clients]``
(an inventory group, made with add_host from the play's ``clients``) and 8081:81 without allow.
sim2 is in the group, sim3 is not: sim2 reaches 8080, sim3 does not, both reach 8081. The host's
own connections (127.0.0.1 and its lab address) are not filtered (they never cross the forward
hook). sim3 joining the group is one run (four steps), and then it reaches 8080 too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BACKENDS, fleet_of, sh, use_backend
from test_portmap import Processes

PROBE = "/usr/bin/python3 %s" % (Path(__file__).parent / "probe.py")

PLAY = """
- hosts: sim1
  gather_facts: false
  vars:
    boxes: [{name: a, network_mode: front, publish: [{port: "8080:80", allow: [clients]}, "8081:81"]}]
  tasks:
    - ansible.builtin.add_host: {name: "{{ item }}", groups: clients}
      loop: "{{ clients }}"
      changed_when: false
    - netmodes.linux.sandboxes:
        config: "{{ boxes }}"
        networks: [{name: front, subnet: 172.18.0.0/16}]
        converge_networks: true
        dns: false
        fleet: "{{ [] | netmodes.linux.fleet(hostvars, groups, inventory_hostname, boxes) }}"
"""


@pytest.fixture(scope="module")
def fleet():
    """This module's own fleet: the host, a client in the group and one outside it."""
    yield from fleet_of(3, "allow")


@pytest.fixture(params=BACKENDS)
def served(request, fleet, hosts):
    use_backend(fleet.host("sim1"), request.param)
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop()


def probe(host, targets):
    return json.loads(sh(host, "%s probe '%s'" % (PROBE, json.dumps(targets))))


def test_only_the_group_reaches_an_allow_listed_port_and_a_new_member_is_one_run(served, ansible, fleet):
    sim1, sim2, sim3 = (fleet.host(name) for name in ("sim1", "sim2", "sim3"))
    ansible.four_steps(PLAY, extra_vars={"clients": ["sim2"]})
    served.start(sim1, "ip netns exec a %s serve a 80 81" % PROBE)
    sh(sim1, "%s wait 172.18.0.2:80 172.18.0.2:81" % PROBE)
    ports = {"8080": ["tcp", sim1.address, 8080], "8081": ["tcp", sim1.address, 8081]}
    assert probe(sim2, ports) == {"8080": "a", "8081": "a"}, "sim2 is in the group"
    assert probe(sim3, ports) == {"8080": None, "8081": "a"}, "sim3 is not: only the port without allow answers"
    own = {"lo": ["tcp", "127.0.0.1", 8080], "lab": ["tcp", sim1.address, 8080]}
    assert probe(sim1, own) == {"lo": "a", "lab": "a"}, "the host's own connections are not filtered"
    # sim3 joins the group: one run admits it, and the next changes nothing
    ansible.four_steps(PLAY, extra_vars={"clients": ["sim2", "sim3"]})
    assert probe(sim3, ports) == {"8080": "a", "8081": "a"}
    assert probe(sim2, ports) == {"8080": "a", "8081": "a"}
    # and leaves it again
    ansible.four_steps(PLAY, extra_vars={"clients": ["sim2"]})
    assert probe(sim3, ports) == {"8080": None, "8081": "a"}
