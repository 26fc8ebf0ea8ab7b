# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state records: how a link of ours is recognised."""

from __future__ import annotations

import pytest

from ansible_collections.netmodes.linux.plugins.module_utils import _records


@pytest.mark.parametrize("alias, ours", [
    ("netmodes.linux bridge", True),
    ("netmodes.linux", True),
    ("netmodes.linuxish", False),
    ("docker bridge", False),
    ("", False),
    (None, False),
])
def test_ownership_tag(alias, ours):
    assert _records.is_ours(alias) is ours
