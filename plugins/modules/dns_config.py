#!/usr/bin/python
# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_config
short_description: A sandbox's hostname, hosts and resolv.conf files, by Docker's rules
version_added: 0.1.0
author: netmodes.linux contributors (@netmodes)
description:
  - Writes C(/etc/netns/NAME/resolv.conf), C(/etc/netns/NAME/hosts) and (when O(hostname) is
    given) C(/etc/netns/NAME/hostname) for the sandbox O(netns), the three files Docker writes for
    every container (C(--dns), C(--dns-search), C(--dns-option), C(--add-host), C(-h)).
    C(ip netns exec NAME) bind-mounts each of them over C(/etc/resolv.conf), C(/etc/hosts) and
    C(/etc/hostname) for every process it starts.
  - The kernel host name is not changed. It belongs to the UTS namespace, and a network namespace
    does not have one of its own, so C(hostname) and C(uname -n) inside the sandbox still print
    the host's name. The C(hostname) file is what C(ip netns exec) shows as C(/etc/hostname).
  - resolv.conf starts from the host's C(/etc/resolv.conf), or from systemd-resolved's
    C(/run/systemd/resolve/resolv.conf) when the host's only nameserver is the 127.0.0.53 stub.
    Loopback nameservers are dropped (they are the host's loopback, unreachable from the sandbox),
    and IPv6 ones when the sandbox has no IPv6 address. When none is left, 8.8.8.8 and 8.8.4.4
    are used (and Google's IPv6 pair too if the sandbox has IPv6), with a warning. The host's
    C(search) and C(options) are kept unless O(search) or O(options) are given.
  - hosts holds the localhost lines (the IPv6 ones only when the sandbox has IPv6, even just
    C(::1)), then O(extra_hosts), then each address of the sandbox with O(hostname) (and
    C(hostname.domainname)), then O(peers). This is Docker's order, in which the first line
    naming a host wins, so O(extra_hosts) can override the sandbox's own name.
  - Files are replaced atomically, and only when their content changes. What was written is
    recorded (a sha256 per file, like Docker's C(resolv.conf.hash)) in
    C(/etc/netns/.netmodes/NAME.json), outside C(/etc/netns/NAME) because C(ip netns exec)
    would mount anything in there over C(/etc). A file changed by hand since, or made by someone
    else, fails the task with a diff of what would change, unless O(force=true).
options:
  netns:
    description: Sandbox (named network namespace C(/run/netns/NAME)) the files are for. It must exist for V(present).
    type: str
    required: true
  hostname:
    description:
      - Host name of the sandbox (RFC 1123), like C(docker run -h). It goes into the C(hostname)
        file and, with each of the sandbox's addresses, into hosts.
      - Omit to leave the C(hostname) file unmanaged and add no line for the sandbox's addresses.
    type: str
  domainname:
    description: Domain of O(hostname); hosts then names each address C(hostname.domainname hostname). Needs O(hostname).
    type: str
  nameservers:
    description:
      - Nameserver addresses, replacing the host's (C(--dns)). They are used as given, loopback
        and IPv6 ones included (a loopback address then means the sandbox's own loopback). A
        link-local IPv6 address may name its interface (V(fe80::1%eth0)).
      - Omit, or give an empty list, to derive them from the host's resolv.conf.
    type: list
    elements: str
  search:
    description: Search domains, replacing the host's (C(--dns-search)); V(.) alone means none. Omit or leave empty to keep the host's.
    type: list
    elements: str
  options:
    description: Resolver options such as V(ndots:2) or V(timeout:1), replacing the host's (C(--dns-option)). Omit or leave empty to keep the host's.
    type: list
    elements: str
  extra_hosts:
    description:
      - Further hosts entries, like C(--add-host). A list of C(NAME:IP) strings (also C(NAME=IP),
        and for IPv6 C(NAME:[::1]) or C(NAME:::1)), or a dict of NAME to an address or a list of
        addresses. A comma-separated string is a list.
    type: raw
  peers:
    description:
      - Names and addresses of the other members of the sandbox's networks, for name resolution
        among them; the roles fill this in. Same forms as O(extra_hosts), and list items may also
        be dicts with C(name) and C(address); written after the sandbox's own lines.
    type: raw
  share_with:
    description:
      - Another sandbox whose files this one shows, as Docker's container mode shares its target's
        hostname, hosts and resolv.conf (C(--network container:NAME)). C(/etc/netns/NAME) becomes a
        symbolic link to C(SHARE_WITH) beside it, which C(ip netns exec NAME) follows, so its
        processes always see SHARE_WITH's files as they are (also those written after). The files
        of its own that were there go (those changed by hand only with O(force=true)).
      - Not with the options that make files of its own (O(hostname), O(nameservers), ...). V(absent),
        or a run without O(share_with), removes the link (never SHARE_WITH's files).
    type: str
  force:
    description: Replace (or, for V(absent), remove) files that were changed by hand or not written by this module.
    type: bool
    default: false
  state:
    description:
      - V(present) writes the files. V(absent) removes the files this module wrote (those still as
        written, unless O(force=true)) and then C(/etc/netns/NAME) if it is empty.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Processes keep the files they were started with; restart them to see new content. systemd's
    C(NetworkNamespacePath=) does not mount these files; add for example
    C(BindReadOnlyPaths=/etc/netns/NAME/resolv.conf:/etc/resolv.conf) to the unit.
  - A symbolic link at C(/etc/netns), C(/etc/netns/NAME) or a file is never followed; the task
    fails naming it (also with O(force=true)), so the host's own files are never reached. The one
    exception is the link O(share_with) makes, recorded as ours, which is read (for the result) and
    replaced, never written through.
extends_documentation_fragment:
  - netmodes.linux.attributes
"""

EXAMPLES = r"""
- name: Files for sandbox web, with Docker's --dns, --dns-search and --add-host
  netmodes.linux.dns_config:
    netns: web
    hostname: web1
    domainname: example.internal
    nameservers: [10.231.0.53]
    search: [example.internal]
    extra_hosts: ["db:10.231.9.9", "cache:[fd42:231::9]"]
    peers: {api: 172.18.0.11}

- name: Sandbox side shows web's files (network_mode container:web)
  netmodes.linux.dns_config:
    netns: side
    share_with: web

- name: Remove them
  netmodes.linux.dns_config:
    netns: web
    state: absent
"""

RETURN = r"""
files:
  description: Each file (C(hostname), C(hosts), C(resolv.conf)) after the run (before it, in check mode); with O(share_with), those it shows.
  returned: always
  type: dict
  sample: {"resolv.conf": {"path": "/etc/netns/web/resolv.conf", "exists": true, "managed": true}}
resolv_conf:
  description: The nameservers, search domains and options of the sandbox's resolv.conf; null when it does not exist.
  returned: always
  type: dict
  sample: {"nameservers": ["1.1.1.1"], "search": ["example.internal"], "options": ["ndots:2"]}
hosts:
  description: The lines of the sandbox's hosts file.
  returned: always
  type: list
  elements: dict
  sample: [{"address": "127.0.0.1", "names": ["localhost"]}, {"address": "10.231.9.9", "names": ["db"]}]
share_with:
  description: The sandbox whose files this one shows (its C(/etc/netns/NAME) is our link to them); null when it has its own.
  returned: always
  type: str
  sample: web
hostname:
  description: The content of the sandbox's hostname file; null when it does not exist.
  returned: always
  type: str
  sample: web1
operations:
  description: The ordered changes planned (and, unless in check mode, applied), with file contents.
  returned: always
  type: list
  elements: dict
diff:
  description: A unified diff per changed file (Ansible prints it with C(--diff)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netmodes.linux.plugins.module_utils._resources.dns_config import DnsConfig
from ansible_collections.netmodes.linux.plugins.module_utils._runner import run_module


def main():
    run_module(DnsConfig)


if __name__ == "__main__":
    main()
