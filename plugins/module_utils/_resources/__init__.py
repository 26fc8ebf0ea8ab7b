# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resources behind the modules, one per file: a module is its documentation and one of these.

They live here, not in plugins/modules, because Ansible packs only module_utils with a module:
the batch modules (networks, sandboxes) converge many of them in one run.
"""
