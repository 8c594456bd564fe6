"""requirements/lock.txt and environment.yml stay in step with pyproject.toml.

The lock (made by requirements/update-lock.sh) is what the README's commands and CI install
with --require-hashes; environment.yml is the same software for conda users. After changing a
dependency in pyproject.toml, regenerate the lock and edit environment.yml; these tests fail,
naming the package, until both agree.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
REGENERATE = "regenerate it with requirements/update-lock.sh (README, 'Software environment')"
# the lock is resolved for this interpreter and platform (update-lock.sh)
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
          "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
          "implementation_name": "cpython", "platform_python_implementation": "CPython"}

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


def declared() -> list[Requirement]:
    """pyproject.toml's runtime dependencies and its dev extra, those that apply to TARGET."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    reqs = [Requirement(s) for s in specs]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({**TARGET, "extra": "dev"})]


def parse_lock(text: str) -> dict[str, dict]:
    """name -> {"version", "hashes", "line"} for each requirement of a pip requirements file;
    a requirement line that is not an exact `name==version` pin is kept with version None."""
    pins: dict[str, dict] = {}
    current = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line or line == "\\":
            continue
        if raw[:1].isspace() or line.startswith("--hash"):
            if current is not None:
                pins[current]["hashes"] += re.findall(r"--hash=(sha256:[0-9a-f]{64})", line)
            continue
        match = PIN.match(line)
        name = canonicalize_name(match["name"]) if match else line.rstrip(" \\")
        current = name
        pins[name] = {"version": match["version"] if match else None, "hashes": [],
                      "line": lineno}
        pins[name]["hashes"] += re.findall(r"--hash=(sha256:[0-9a-f]{64})", line)
    return pins


def missing_or_outside(reqs: list[Requirement], pins: dict[str, dict]) -> list[str]:
    problems = []
    for req in reqs:
        pin = pins.get(canonicalize_name(req.name))
        if pin is None:
            problems.append(f"{req.name} (pyproject.toml: {req}) is not in the lock")
        elif pin["version"] is None:
            problems.append(f"{req.name} is in the lock but not pinned with ==")
        elif req.specifier and not req.specifier.contains(Version(pin["version"]),
                                                          prereleases=True):
            problems.append(f"{req.name}=={pin['version']} in the lock is outside "
                            f"pyproject.toml's {req}")
    return problems


@pytest.fixture(scope="module")
def lock() -> dict[str, dict]:
    assert LOCK.is_file(), f"{LOCK.relative_to(ROOT)} is missing; {REGENERATE}"
    return parse_lock(LOCK.read_text())


def test_lock_pins_every_dependency_within_its_range(lock):
    problems = missing_or_outside(declared(), lock)
    assert not problems, "requirements/lock.txt is out of step with pyproject.toml:\n  " + \
        "\n  ".join(problems) + f"\n{REGENERATE}"


def test_every_lock_entry_is_an_exact_hashed_pin(lock):
    text = LOCK.read_text()
    options = [line for line in text.splitlines() if line.startswith("-")]
    assert not options, f"the lock carries pip options (indexes, local paths): {options}"
    bad = [f"line {p['line']}: {name}" for name, p in lock.items()
           if p["version"] is None or not p["hashes"]]
    assert not bad, f"entries without an exact pin and a sha256 hash: {bad}; {REGENERATE}"
    assert "hubanatomy" not in lock, "the project itself is installed apart (pip install " \
        "--no-deps -e .): a source directory has no hash"


def test_check_names_what_the_lock_lacks():
    """The check itself: a lock without a dependency's line fails naming it."""
    text = LOCK.read_text()
    pins = parse_lock(text)
    victim = declared()[0]
    kept = [block for block in re.split(r"\n(?=\S)", text)
            if not block.lower().startswith(canonicalize_name(victim.name) + "==")]
    assert len(kept) == len(re.split(r"\n(?=\S)", text)) - 1
    problems = missing_or_outside(declared(), parse_lock("\n".join(kept)))
    assert problems == [f"{victim.name} (pyproject.toml: {victim}) is not in the lock"]
    outside = {**pins, canonicalize_name(victim.name): {**pins[canonicalize_name(victim.name)],
                                                        "version": "0.0.1"}}
    assert "outside" in missing_or_outside([victim], outside)[0]


def conda_dependencies() -> tuple[dict[str, str], list]:
    """environment.yml's conda specs (name -> version spec) and its pip: entries."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
            continue
        match = re.match(r"^([A-Za-z0-9._-]+)\s*(.*)$", dep)
        specs[canonicalize_name(match[1])] = match[2].replace(" ", "")
    return specs, pip


def test_environment_yml_mirrors_pyproject_and_the_lock(lock):
    specs, pip = conda_dependencies()
    assert specs.get("python") == "=3.11", "environment.yml: python=3.11, as the lock"
    assert "pip" in specs, "environment.yml needs pip (pip install --no-deps -e . after it)"
    assert not pip, "environment.yml installs no pip packages: the project is installed " \
        "apart, from the project root (README), so the file works wherever it is copied"
    problems = []
    for req in declared():
        name = canonicalize_name(req.name)
        if name not in specs:
            problems.append(f"{req.name} is missing")
        elif SpecifierSet(specs[name]) != req.specifier:
            problems.append(f"{req.name}{specs[name]} differs from pyproject.toml's {req}")
        elif name in lock and lock[name]["version"] and not SpecifierSet(
                specs[name]).contains(Version(lock[name]["version"]), prereleases=True):
            problems.append(f"{req.name}: the lock's {lock[name]['version']} is outside "
                            f"{specs[name]}")
    extra = sorted(set(specs) - {canonicalize_name(r.name) for r in declared()}
                   - {"python", "pip"})
    assert not extra, f"environment.yml has packages pyproject.toml does not: {extra}"
    assert not problems, "environment.yml is out of step:\n  " + "\n  ".join(problems)
