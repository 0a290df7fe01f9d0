"""What `adls submit` sends: the `adls run` command line, the project folder to ship, the job's labels."""

import argparse
import os
import secrets
import shlex
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from cluster.errors import ClusterError
from search import storage

# The checkout whose tracked files (cluster/shipping.py) become the job's working directory: its cwd
# and on the PYTHONPATH of the driver and of every trial.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
JOB_PREFIX = "adls-"
METADATA_KEY = "adls_experiment"  # marks the jobs this project submitted (`adls jobs` lists only those)


def run_arguments(args: argparse.Namespace) -> list[str]:
    """The `adls run` options in `args` that differ from their defaults, as command-line words.

    Built from `search.cli.add_run_options` itself, so an option added there is forwarded
    without touching this module.
    """
    from search.cli import add_run_options

    reference = argparse.ArgumentParser(add_help=False)
    add_run_options(reference)
    words: list[str] = []
    for action in reference._actions:  # argparse has no public iterator over a parser's options
        if not action.option_strings or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if value is None or value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        if isinstance(action, argparse._StoreTrueAction):
            words.append(flag)
        else:
            words += [flag, str(value)]
    return words


def entrypoint(experiment: str, args: argparse.Namespace) -> str:
    """The shell command the job runs on the head node: the project's CLI from the shipped folder.

    `python -m search.cli` (not the `adls` script) because the shipped folder is on the job's
    PYTHONPATH while the `adls` script exists only where the project was pip-installed.
    """
    return shlex.join(["python", "-m", "search.cli", "run", experiment, *run_arguments(args)])


def check_submittable(experiment: str, args: argparse.Namespace) -> None:
    """Refuse, before anything is uploaded, what would only fail on the cluster."""
    from search.cli import options_from
    from search.registry import expand

    expand(experiment)
    if not args.storage:
        raise ClusterError(
            "adls submit needs --storage: a URI every node can write (s3://bucket/adls, gs://...) or an "
            "absolute path on a filesystem shared by all nodes (e.g. an NFS mount)"
        )
    if not storage.is_uri(args.storage) and not os.path.isabs(os.path.expanduser(args.storage)):
        raise ClusterError(
            f"--storage {args.storage!r} is a relative path: on the cluster it would land in the job's temporary "
            "working folder; give a URI (s3://bucket/adls) or an absolute path shared by all nodes"
        )
    # --data-dir names a folder on the cluster's nodes, so it cannot be checked here.
    replace(options_from(args), data_dir=None).validate()
    if not (PROJECT_ROOT / "search" / "cli.py").is_file() or not (PROJECT_ROOT / "pyproject.toml").is_file():
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


def metadata(experiment: str, args: argparse.Namespace) -> dict[str, str]:
    """Labels stored with the job; `adls jobs` shows them (values must be strings)."""
    return {METADATA_KEY: experiment, "adls_profile": str(args.profile), "adls_storage": str(args.storage)}


def is_adls_job(job: Any) -> bool:
    return METADATA_KEY in (job.metadata or {})
