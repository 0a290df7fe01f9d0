"""`adls submit` ships only the files git tracks (+ --include): planted secrets never reach Ray's package."""

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from cluster import jobs
from cluster.shipping import stage_shipment
from errors import ClusterError

SECRETS = {
    ".env": "AWS_SECRET=x",
    ".aws/credentials": "[default]\n",
    ".ray/auth_token": "0123456789abcdef",
    ".ssh/id_ed25519": "-----PRIVATE KEY-----",
    "id_rsa": "-----PRIVATE KEY-----",
    "secrets.yaml": "token: x",
    "data/aclImdb/train/pos/0_9.txt": "a review",
    "notebooks/scratch.ipynb": "{}",
    "results/base/trials.parquet": "table",
}
TRACKED = {"adls/cli.py": "print('hi')\n", "pyproject.toml": "[project]\n", ".gitignore": "results/\n"}


def _checkout(root: Path) -> Path:
    """A git checkout with tracked project files and, untracked, every secret of SECRETS."""
    for name, text in {**TRACKED, **SECRETS}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    outside = root.parent / "outside-secret"
    outside.write_text("not ours")
    os.symlink(outside, root / "linked-secret")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", *TRACKED, "linked-secret"], check=True)
    return root


def _ray_package(working_dir: Path, out: Path) -> set[str]:
    """The names in the zip that Ray's job client would upload for this runtime_env."""
    from ray._private.runtime_env.packaging import create_package
    from ray._private.runtime_env.working_dir import upload_working_dir_if_needed

    packages = []

    def build(path: str, excludes, is_file: bool = False) -> None:
        target = out / f"package-{len(packages)}.zip"
        create_package(path, target, include_gitignore=True, excludes=excludes)
        packages.append(target)

    upload_working_dir_if_needed(jobs.runtime_env(working_dir), include_gitignore=True, upload_fn=build)
    assert len(packages) == 1
    with zipfile.ZipFile(packages[0]) as package:
        return {name for name in package.namelist() if not name.endswith("/")}


def test_planted_secrets_are_not_in_the_package(tmp_path):
    root = _checkout(tmp_path / "checkout")
    shipment = stage_shipment(root, [], tmp_path / "ship" / "adls-tune")
    shipped = _ray_package(shipment.folder, tmp_path)
    assert shipped == set(TRACKED)
    assert shipment.files == len(TRACKED)
    assert shipment.size_bytes == sum(len(text) for text in TRACKED.values())
    assert "3 files" in shipment.summary() and "MiB" in shipment.summary()


def test_include_adds_exactly_what_it_names(tmp_path):
    root = _checkout(tmp_path / "checkout")
    shipment = stage_shipment(root, ["notebooks"], tmp_path / "ship" / "adls-tune")
    assert _ray_package(shipment.folder, tmp_path) == set(TRACKED) | {"notebooks/scratch.ipynb"}


@pytest.mark.parametrize(
    ("include", "message"),
    [("../outside-secret", "is outside the project folder"), ("nope.txt", "does not exist")],
)
def test_a_bad_include_is_refused(tmp_path, include, message):
    root = _checkout(tmp_path / "checkout")
    with pytest.raises(ClusterError, match=message):
        stage_shipment(root, [include], tmp_path / "ship")
    assert not (tmp_path / "ship").exists()


def test_a_package_over_the_limit_is_refused_before_copying(tmp_path):
    root = _checkout(tmp_path / "checkout")
    with pytest.raises(ClusterError, match=r"over the limit of .* MiB"):
        stage_shipment(root, ["data"], tmp_path / "ship", limit_bytes=20)
    assert not (tmp_path / "ship").exists()


def test_a_folder_that_is_no_git_checkout_is_refused(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(ClusterError, match="git ls-files"):
        stage_shipment(tmp_path / "plain", [], tmp_path / "ship")


def test_this_checkout_ships_its_tracked_files_only(tmp_path):
    tracked = subprocess.run(
        ["git", "-C", str(jobs.PROJECT_ROOT), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    present = [name for name in tracked if (jobs.PROJECT_ROOT / name).is_file()]
    shipment = stage_shipment(jobs.PROJECT_ROOT, [], tmp_path / "adls-tune")
    shipped = sorted(str(p.relative_to(shipment.folder)) for p in shipment.folder.rglob("*") if p.is_file())
    assert shipped == sorted(present) and shipment.files == len(present)
    assert (shipment.folder / "pyproject.toml").is_file() and not (shipment.folder / ".venv").exists()
