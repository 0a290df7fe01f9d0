"""What `adls submit` sends: the `adls run` command line, the project folder to ship, the job's labels."""

import os
import secrets
import shlex
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from errors import ClusterError
from search import storage
from search.options import RunOptions

# The checkout whose tracked files (cluster/shipping.py) become the job's working directory: its cwd
# and on the PYTHONPATH of the driver and of every trial.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
JOB_PREFIX = "adls-"
METADATA_KEY = "adls_experiment"  # marks the jobs this project submitted (`adls jobs` lists only those)


def entrypoint(experiment: str, run_words: list[str]) -> str:
    """The shell command the job runs on the head node: `adls run` from the shipped folder.

    `run_words` are the run options as command-line words (adls.run_options.run_arguments).
    `python -m adls` (not the `adls` script) because the shipped folder is on the job's
    PYTHONPATH while the `adls` script exists only where the project was pip-installed.
    """
    return shlex.join(["python", "-m", "adls", "run", experiment, *run_words])


def check_submittable(experiment: str, options: RunOptions) -> None:
    """Refuse, before anything is uploaded, what would only fail on the cluster."""
    from search.experiments.registry import expand

    expand(experiment)
    if not options.storage:
        raise ClusterError(
            "adls submit needs --storage: a URI every node can write (s3://bucket/adls, gs://...) or an "
            "absolute path on a filesystem shared by all nodes (e.g. an NFS mount)"
        )
    if not storage.is_uri(options.storage) and not os.path.isabs(os.path.expanduser(options.storage)):
        raise ClusterError(
            f"--storage {options.storage!r} is a relative path: on the cluster it would land in the job's temporary "
            "working folder; give a URI (s3://bucket/adls) or an absolute path shared by all nodes"
        )
    # --data-dir names a folder on the cluster's nodes, so it cannot be checked here.
    replace(options, data_dir=None).validate()
    if not (PROJECT_ROOT / "adls" / "cli.py").is_file() or not (PROJECT_ROOT / "pyproject.toml").is_file():
        raise ClusterError(
            f"adls submit ships the project's source folder, but {PROJECT_ROOT} is not one; "
            "run it from a checkout of adls-tune (pip install -e .)"
        )


def submission_id(experiment: str) -> str:
    """A readable, unique job id: adls-<experiment>-<UTC date-time>-<4 hex>."""
    return f"{JOB_PREFIX}{experiment}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"


def runtime_env(working_dir: Path) -> dict[str, Any]:
    """The job's runtime environment: the staged project files (shipping.stage_shipment), live logs."""
    return {
        "working_dir": str(working_dir),
        # Progress lines must reach `adls logs --follow` as they are printed, not when a buffer fills.
        "env_vars": {"PYTHONUNBUFFERED": "1"},
    }


def metadata(experiment: str, options: RunOptions) -> dict[str, str]:
    """Labels stored with the job; `adls jobs` shows them (values must be strings)."""
    return {
        METADATA_KEY: experiment,
        "adls_profile": str(options.profile_name),
        "adls_storage": str(options.storage),
    }


def is_adls_job(job: Any) -> bool:
    return METADATA_KEY in (job.metadata or {})
