"""The report site's Node install is deterministic whatever the npm registry serves for other platforms.

The registry's content for other platforms' optional packages (``@rollup/rollup-darwin-*``,
``@duckdb/node-bindings-win32-*``, ...) differs between machines and days, so a lock written on one machine may
or may not list them. ``reports/scripts/install.sh`` (what ``make setup`` runs) must install the locked versions
and leave package.json and the lock byte-identical in both cases, and its verification must catch a package
whose installed version differs from the lock. Each case is a real ``npm install`` in one temporary copy of the
project: the first case installs into it empty (~30-60 s), the second over what the first installed (npm reconciles
the tree with the other lock instead of downloading and unpacking every package a second time). The committed
lock's state is also installed into an empty ``reports/`` by ``make setup`` on every fresh clone (CI), with the
same checks in ``scripts/install.sh``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from flexpower_dagster.settings import PROJECT_ROOT

pytestmark = pytest.mark.site  # real npm installs (make test-fast skips them)

REPORTS = PROJECT_ROOT / "reports"
#: Parents whose optional dependencies are per-platform binaries.
PLATFORM_PARENTS = ("node_modules/rollup", "node_modules/@duckdb/node-bindings")
OS_WORDS = {"darwin": "darwin", "linux": "linux", "win32": "win32", "android": "android", "freebsd": "freebsd",
            "openbsd": "openbsd", "openharmony": "openharmony"}
CPU_WORDS = ("arm64", "x64", "ia32", "arm", "loong64", "ppc64", "riscv64", "s390x")


def _this_platform() -> tuple[str, str]:
    machine = platform.machine().lower()
    return "linux" if platform.system() == "Linux" else platform.system().lower(), {"x86_64": "x64", "aarch64": "arm64"}.get(machine, machine)


def _platform_of(name: str) -> tuple[str, str]:
    words = name.rsplit("/", 1)[-1].split("-")
    os_ = next((OS_WORDS[w] for w in words if w in OS_WORDS), "linux")
    cpu = next((w for w in words if w in CPU_WORDS), "x64")
    return os_, cpu


def lock_without_other_platforms(lock: dict) -> dict:
    """The lock as written where the registry serves no other platform's optional packages."""
    here = _this_platform()
    out = json.loads(json.dumps(lock))
    for path, meta in list(out["packages"].items()):
        if meta.get("optional") and ("os" in meta or "cpu" in meta) and _platform_of(path) != here:
            del out["packages"][path]
    return out


def lock_with_other_platforms(lock: dict) -> dict:
    """The lock as written where the registry serves every platform's optional packages (entries for each
    optional dependency of the platform parents, with their os/cpu constraints)."""
    out = json.loads(json.dumps(lock))
    pkgs = out["packages"]
    for parent in PLATFORM_PARENTS:
        for name, version in pkgs[parent].get("optionalDependencies", {}).items():
            path = f"node_modules/{name}"
            if path in pkgs:
                continue
            os_, cpu = _platform_of(name)
            tarball = name.rsplit("/", 1)[-1]
            pkgs[path] = {
                "version": version,
                "resolved": f"https://registry.npmjs.org/{name}/-/{tarball}-{version}.tgz",
                "integrity": "sha512-" + hashlib.sha512(f"{name}@{version}".encode()).hexdigest(),
                "cpu": [cpu],
                "license": "MIT",
                "optional": True,
                "os": [os_],
            }
    out["packages"] = dict(sorted(pkgs.items()))
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """One temporary copy of the report project (package.json, install scripts) for both lock states."""
    project = tmp_path_factory.mktemp("node_install") / "reports"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(REPORTS / "package.json", project / "package.json")
    for script in ("install.sh", "verify-install.mjs", "patch-evidence.mjs"):
        shutil.copy2(REPORTS / "scripts" / script, project / "scripts" / script)
    return project


def _install(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "scripts/install.sh"], cwd=project, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def committed_lock() -> dict:
    return json.loads((REPORTS / "package-lock.json").read_text())


def _others(lock: dict) -> int:
    here = _this_platform()
    return sum(1 for p, m in lock["packages"].items() if m.get("optional") and ("os" in m or "cpu" in m) and _platform_of(p) != here)


@pytest.mark.parametrize("variant", ["optional entries absent", "optional entries present"])
def test_install_from_either_lock_state_leaves_the_lock_untouched(project, committed_lock, variant):
    lock = lock_without_other_platforms(committed_lock) if "absent" in variant else lock_with_other_platforms(committed_lock)
    assert (_others(lock) == 0) if "absent" in variant else (_others(lock) >= 20)
    (project / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")
    before = (project / "package-lock.json").read_bytes(), (project / "package.json").read_bytes()
    proc = _install(project)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert ((project / "package-lock.json").read_bytes(), (project / "package.json").read_bytes()) == before
    assert "packages match package-lock.json" in proc.stdout
    version = lambda n: json.loads((project / "node_modules" / n / "package.json").read_text())["version"]  # noqa: E731
    assert version("@duckdb/duckdb-wasm") == "1.28.0"
    for name in ("@evidence-dev/evidence", "typescript", "codemirror", "@duckdb/node-api"):
        assert version(name) == committed_lock["packages"][f"node_modules/{name}"]["version"], name

    # the verification is not blind: a package at another version than the lock's is named
    pkg = project / "node_modules" / "typescript" / "package.json"
    original = pkg.read_text()
    data = json.loads(original)
    data["version"] = "9.9.9"
    pkg.write_text(json.dumps(data))
    try:
        check = subprocess.run(["node", "scripts/verify-install.mjs"], cwd=project, capture_output=True, text=True)
    finally:
        pkg.write_text(original)  # the install stays as npm left it for the other lock state
    assert check.returncode == 1
    assert "typescript: 9.9.9 installed, the lock pins" in check.stderr
