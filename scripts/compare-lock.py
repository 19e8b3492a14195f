"""Print how the running environment differs from requirements.lock (used by `make test-latest`).

So that when the newest releases break a test, the output already names the suspects.
Prints nothing to act on when the environment matches the lock; never fails.
"""

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match and (match[3] is None or Marker(match[3]).evaluate()):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def main() -> None:
    lock = locked(Path(__file__).resolve().parent.parent / "requirements.lock")
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    newer = sorted(
        f"  {name} {lock[name]} -> {installed[name]}"
        for name in lock
        if name in installed and installed[name] != lock[name]
    )
    added = sorted(
        f"  {name} {version} (not in the lock)"
        for name, version in installed.items()
        if name not in lock and name != "rds-encryption-reconciler"
    )
    print(f"Python {sys.version.split()[0]}: {len(newer)} package(s) differ from requirements.lock")
    print("\n".join(newer + added) or "  (none)")


if __name__ == "__main__":
    main()
