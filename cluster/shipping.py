"""What `adls submit` uploads: the files git tracks in the checkout, plus what --include names, nothing else.

A checkout holds things that must never leave the machine: `.env`, `.aws/credentials`,
`.ray/auth_token`, SSH keys, data folders, notebooks. An exclude list misses whatever it did not
foresee, so the job's working folder is built from an allow list instead: `git ls-files` (tracked
files only) copied into a fresh folder, which Ray then packages and uploads.
"""

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from errors import ClusterError

log = logging.getLogger(__name__)
# The project's tracked files are about 1 MB; Ray refuses packages over its gRPC limit (~500 MiB)
# only after zipping. A package this large was not meant: refuse it before anything is copied.
SHIP_LIMIT_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Shipment:
    """The folder that becomes the job's working directory, and what it holds."""

    folder: Path
    files: int
    size_bytes: int

    def summary(self) -> str:
        return f"{self.files} files, {self.size_bytes / 1024 / 1024:.1f} MiB"


def tracked_files(root: Path) -> list[str]:
    """The files git tracks under `root` (relative paths); ClusterError when `root` is no git checkout."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        detail = getattr(error, "stderr", b"") or b""
        reason = detail.decode(errors="replace").strip().splitlines()[:1] or [str(error)]
        raise ClusterError(
            f"adls submit ships the files git tracks, but `git ls-files` failed in {root} ({reason[0]}); "
            "submit from a git checkout of adls-tune"
        ) from None
    return [name for name in listed.decode().split("\0") if name]


def stage_shipment(
    root: Path, includes: list[str], folder: Path, limit_bytes: int = SHIP_LIMIT_BYTES
) -> Shipment:
    """Copy the tracked files of `root`, plus each `includes` path (file or folder, inside `root`), to `folder`.

    Symbolic links are not followed out of `root` (a tracked link to ~/.ssh is skipped), tracked
    files missing from the work tree are skipped. Raises ClusterError, before copying anything,
    for an include that is missing or outside `root`, and when the total exceeds `limit_bytes`.
    """
    root = root.resolve()
    chosen = {name: root / name for name in tracked_files(root)}
    for include in includes:
        chosen.update(_included(root, include))
    plan: list[tuple[Path, Path]] = []
    size = 0
    for name, source in sorted(chosen.items()):
        if source.is_symlink() and not source.resolve().is_relative_to(root):
            log.warning("not shipping %s: a link to %s, outside the checkout", name, source.resolve())
            continue
        if not source.is_file():
            continue
        size += source.stat().st_size
        plan.append((source, folder / name))
    if size > limit_bytes:
        raise ClusterError(
            f"the job's files would be {size / 1024 / 1024:.1f} MiB ({len(plan)} files), over the limit of "
            f"{limit_bytes / 1024 / 1024:.0f} MiB; ship data through --storage or the nodes, not with the job"
        )
    for source, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        shutil.copymode(source, target)
    return Shipment(folder, len(plan), size)


def _included(root: Path, include: str) -> dict[str, Path]:
    """The files an --include names: a file, or every file under a folder; relative to `root`."""
    path = Path(include).expanduser()
    path = (path if path.is_absolute() else root / path).resolve()
    if not path.is_relative_to(root):
        raise ClusterError(
            f"--include {include!r} is outside the project folder {root}; only files of the project can be shipped"
        )
    if not path.exists():
        raise ClusterError(f"--include {include!r} does not exist in {root}")
    files = [path] if path.is_file() else [Path(d) / f for d, _, fs in os.walk(path) for f in fs]
    return {str(file.relative_to(root)): file for file in files}
