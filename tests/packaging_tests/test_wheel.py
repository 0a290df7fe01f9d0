"""The project as a real package: a wheel that installs offline into a fresh venv and runs `adls`.

The fresh venv gets, besides the wheel, only the distributions that the wheel's declared
dependencies need (the transitive closure of its Requires-Dist, read from this environment's
metadata), linked from this environment's site-packages through a .pth file: pip, run with
--no-index and without --no-deps, must find every declared requirement already satisfied, and
then every module of the wheel must import. An undeclared dependency therefore fails the import,
a declared one that is missing fails the install. Linking instead of installing copies keeps the
test at about a minute (a real offline install of torch and Ray from a wheel cache takes many
minutes and gigabytes, and this machine has no cache of their wheels).
"""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.package

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "adls", "analysis", "cluster", "search", "trainables", "errors.py")
ALLOWED_TOP = {"adls", "analysis", "cluster", "search", "trainables", "errors.py"}


def _build_wheel(tmp: Path) -> Path:
    """Build from a copy of the sources, so the build leaves nothing in the work tree."""
    source = tmp / "src"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.is_file():
            shutil.copy2(path, source / name)
    wheels = tmp / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(source),
            "-w",
            str(wheels),
        ],
        check=True,
    )
    return next(wheels.glob("adls_tune-*.whl"))


def _closure(requirements: list[str]) -> set[str]:
    """Names of the installed distributions that `requirements` need, transitively (markers honoured)."""
    found: dict[str, set[str]] = {}
    pending = [(Requirement(text), ("",)) for text in requirements]
    while pending:
        requirement, parent_extras = pending.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in parent_extras):
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in found and set(requirement.extras) <= found[name]:
            continue
        found.setdefault(name, set()).update(requirement.extras)
        for text in importlib.metadata.distribution(name).requires or []:
            pending.append((Requirement(text), ("", *sorted(found[name]))))
    return set(found)


def _dependency_view(tmp: Path, names: set[str]) -> Path:
    """A folder of links to the files of just these distributions in this environment's site-packages."""
    site = Path(sysconfig.get_paths()["purelib"])
    view = tmp / "deps"
    view.mkdir()
    for name in names:
        distribution = importlib.metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in distribution.files or [] if not str(f).startswith("..")}
        for top in tops:
            if (site / top).exists() and not (view / top).exists() and top != "__pycache__":
                (view / top).symlink_to(site / top)
    return view


def test_the_wheel_installs_offline_into_a_fresh_venv_and_runs(tmp_path):
    wheel = _build_wheel(tmp_path)
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} <= ALLOWED_TOP, (
        tops
    )  # no tests, bench, docs
    metadata = zipfile.ZipFile(wheel).read(
        next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA"))
    )
    requires = [
        line.split(":", 1)[1].strip()
        for line in metadata.decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert any(r.startswith("ray") for r in requires) and any(r.startswith("torch") for r in requires)

    venv = tmp_path / "venv"
    base_python = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(base_python), "-m", "venv", "--without-pip", str(venv)], check=True)
    view = _dependency_view(tmp_path, _closure(requires))
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "adls-deps.pth").write_text(f"{view}\n")
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # pip of this environment installs into the fresh one; --no-index: only the wheel is offered.
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheel.parent),
            "adls-tune",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)

    listed = run(str(venv / "bin" / "adls"), "list")
    assert listed.returncode == 0, listed.stderr
    assert "lab1-qat" in listed.stdout and "lab2-nas" in listed.stdout
    version = run(str(venv / "bin" / "adls"), "--version")
    assert (
        version.returncode == 0
        and version.stdout.strip() == f"adls {importlib.metadata.version('adls-tune')}"
    )
    bare = run(str(venv / "bin" / "adls"))
    assert bare.returncode == 0 and "usage: adls" in bare.stdout and "report" in bare.stdout
    # Every module of the wheel imports from the venv (not from this checkout) with only the declared deps.
    modules = sorted(
        name[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        for name in zipfile.ZipFile(wheel).namelist()
        if name.endswith(".py")
    )
    check = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(site)!r}), (name, module.__file__)\n"
        "print(len(sys.argv))\n"
    )
    imported = run(str(python), "-c", check)
    assert imported.returncode == 0, imported.stderr[-3000:]
