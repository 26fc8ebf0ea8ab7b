# Copyright: netmodes.linux contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exit 0 when everything the requirements role would install is there already, else 1 (what is
missing on stdout). Run by the role with the interpreter the modules use; reads, never installs.

argv[1]: JSON {"os": [OS package], "pip": [pip requirement], "imports": [Python module]}.
"""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from importlib import metadata


def _version(text):
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def pip_ok(spec):
    """Whether the installed distribution satisfies SPEC (name and >=, <, ==, <=, > clauses)."""
    name, clauses = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(.*)", spec).group(1, 2)
    try:
        have = _version(metadata.version(name))
    except metadata.PackageNotFoundError:
        return False
    checks = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "<": lambda a, b: a < b,
              ">": lambda a, b: a > b, "!=": lambda a, b: a != b}
    for op, version in re.findall(r"(>=|<=|==|!=|<|>)\s*([0-9][0-9A-Za-z.]*)", clauses):
        if not checks[op](have, _version(version)):
            return False
    return True


def os_missing(packages):
    """The PACKAGES that the OS package manager does not list as installed (one query for all)."""
    if not packages:
        return []
    if shutil.which("dpkg-query"):
        proc = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n", *packages], capture_output=True, text=True, check=False)
        installed = {line.split()[0].partition(":")[0] for line in proc.stdout.splitlines() if line.endswith(" installed")}
        return [p for p in packages if p not in installed]
    if shutil.which("rpm"):
        return [p for p in packages if subprocess.run(["rpm", "-q", p], capture_output=True, check=False).returncode != 0]
    return list(packages)


def import_ok(module):
    """Whether MODULE can be found on the interpreter's path (found, not imported: this is cheap)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def main():
    wanted = json.loads(sys.argv[1])
    missing = os_missing(wanted.get("os", []))
    missing += [p for p in wanted.get("pip", []) if not pip_ok(p)]
    missing += [m for m in wanted.get("imports", []) if not import_ok(m)]
    print(json.dumps(missing))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
