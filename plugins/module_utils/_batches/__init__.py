# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batches: one module run converges every network (networks), every sandbox (sandboxes) of
a host, and prunes what the declaration no longer has (prune), through the single-object
resources. They import one way: sandboxes -> networks -> prune -> links.
"""
