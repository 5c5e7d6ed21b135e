"""Is requirements.txt (the deploy lock) in sync with pyproject.toml?

`python scripts/check_lock.py` (run by .ci/run) exits 1, saying what differs and to run
`scripts/lock`, when pyproject.toml's runtime dependencies changed since the lock was compiled,
when a dependency is not pinned or its pin falls outside pyproject.toml's range, when a pin has
no hash, or when .python-version is outside `requires-python`. It needs no network.
`--stamp` (run by scripts/lock) records the dependencies the lock was compiled from.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.txt"
STAMP = "# pyproject.toml dependencies sha256: "
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def dependencies_digest(pyproject: dict) -> str:
    project = pyproject["project"]
    wanted = {
        "dependencies": sorted(project.get("dependencies", [])),
        "requires-python": project.get("requires-python", ""),
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def pins(text: str) -> dict[str, tuple[str, bool]]:
    """Package name -> (pinned version, has a hash), from a `uv pip compile` output."""
    found: dict[str, tuple[str, bool]] = {}
    entries = re.split(r"\n(?=\S)", text)
    for entry in entries:
        match = _PIN.match(entry)
        if match:
            found[canonicalize_name(match.group(1))] = (match.group(3), "--hash=sha256:" in entry)
    return found


def problems(pyproject: dict, lock_text: str, python_version: str) -> list[str]:
    found: list[str] = []
    stamp = next((line for line in lock_text.splitlines() if line.startswith(STAMP)), None)
    if stamp is None or stamp[len(STAMP) :].strip() != dependencies_digest(pyproject):
        found.append("pyproject.toml's dependencies changed since requirements.txt was compiled")
    locked = pins(lock_text)
    for spec in pyproject["project"].get("dependencies", []):
        requirement = Requirement(spec)
        pin = locked.get(canonicalize_name(requirement.name))
        if pin is None:
            found.append(f"{requirement.name} is not pinned in requirements.txt")
        elif not requirement.specifier.contains(Version(pin[0]), prereleases=True):
            found.append(f"{requirement.name}=={pin[0]} is outside {requirement.specifier}")
    found += [f"{name}=={version} has no hash" for name, (version, h) in locked.items() if not h]
    requires = SpecifierSet(pyproject["project"].get("requires-python", ""))
    if not requires.contains(Version(python_version)):
        found.append(f".python-version {python_version} is outside requires-python {requires}")
    return found


def main(argv: list[str]) -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lock_text = LOCK.read_text(encoding="utf-8") if LOCK.exists() else ""
    if "--stamp" in argv:
        kept = [line for line in lock_text.splitlines() if not line.startswith(STAMP)]
        header = f"{STAMP}{dependencies_digest(pyproject)}"
        LOCK.write_text("\n".join([header, *kept]) + "\n", encoding="utf-8")
        return 0
    python_version = (ROOT / ".python-version").read_text(encoding="utf-8").strip()
    found = problems(pyproject, lock_text, python_version)
    for problem in found:
        print(f"requirements.txt: {problem}", file=sys.stderr)
    if found:
        print("Run scripts/lock and commit requirements.txt.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
