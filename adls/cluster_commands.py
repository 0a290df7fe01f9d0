"""`adls submit | jobs | logs | stop | fetch`: run experiments on a Ray cluster through its Jobs API (cluster/)."""

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from adls.run_options import add_run_options, options_from, run_arguments
from cluster.client import DEFAULT_ADDRESS, JobsClient
from cluster.shipping import stage_shipment

EXIT_JOB_FAILED = 1


def add_cluster_commands(subparsers: Any) -> None:
    """Add the cluster commands to the `adls` parser's subparsers (adls/cli.py calls this)."""
    address_help = (
        f"the cluster's Jobs API (default: $RAY_ADDRESS, else {DEFAULT_ADDRESS}, `ray dashboard`'s tunnel)"
    )

    submit = subparsers.add_parser(
        "submit", help="run an experiment or a lab on a Ray cluster as a job; prints the job id"
    )
    submit.add_argument("experiment", help="an experiment or lab name (see `adls list`)")
    # On a cluster a relative folder would be inside the job's temporary working folder: no default.
    add_run_options(
        submit,
        differ={
            "storage": (
                None,
                "where every node writes results: a URI (s3://, gs://) or an absolute shared path",
            )
        },
    )
    submit.add_argument("--address", default=None, help=address_help)
    submit.add_argument(
        "--follow",
        action="store_true",
        help="stream the job's output until it ends; exit 0 only if it succeeded",
    )
    submit.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATH",
        help="also ship this file or folder of the project (only files git tracks are shipped otherwise)",
    )
    submit.set_defaults(func=cmd_submit)

    jobs = subparsers.add_parser("jobs", help="this project's jobs on the cluster and their states")
    jobs.add_argument("--address", default=None, help=address_help)
    jobs.add_argument("--all", action="store_true", help="also list jobs not submitted by adls")
    jobs.set_defaults(func=cmd_jobs)

    logs = subparsers.add_parser("logs", help="a job's output (progress lines, errors)")
    logs.add_argument("job_id", metavar="JOB_ID")
    logs.add_argument("--address", default=None, help=address_help)
    logs.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="keep printing until the job ends; exit 0 only if it succeeded",
    )
    logs.set_defaults(func=cmd_logs)

    stop = subparsers.add_parser("stop", help="stop a running job (its finished trials stay in storage)")
    stop.add_argument("job_id", metavar="JOB_ID")
    stop.add_argument("--address", default=None, help=address_help)
    stop.set_defaults(func=cmd_stop)

    fetch = subparsers.add_parser(
        "fetch", help="copy an experiment's (or a lab's) results from cluster storage"
    )
    fetch.add_argument("experiment", help="an experiment or lab name")
    fetch.add_argument("--storage", required=True, help="the --storage the job was submitted with")
    fetch.add_argument("--to", default="results", help="local results folder (default results)")
    fetch.add_argument(
        "--with-checkpoints",
        action="store_true",
        help="also copy Ray Tune's folder with every trial's checkpoint (large)",
    )
    fetch.set_defaults(func=cmd_fetch)

    check = subparsers.add_parser(
        "check-cluster", help="refuse a ray_cluster.yaml that is not ready for `ray up` (run it before)"
    )
    check.add_argument("config", nargs="?", default=None, help="cluster config (default: ray_cluster.yaml)")
    check.set_defaults(func=cmd_check_cluster)


def cmd_submit(args: argparse.Namespace) -> int:
    from cluster import jobs

    options = options_from(args)
    jobs.check_submittable(args.experiment, options)
    client = _connect(args)
    job_id = jobs.submission_id(args.experiment)
    with tempfile.TemporaryDirectory(prefix="adls-ship-") as staging:
        # Only what git tracks (and --include names) leaves this machine: never .env, keys, data.
        shipment = stage_shipment(jobs.PROJECT_ROOT, args.include, Path(staging) / "adls-tune")
        print(
            f"adls: shipping {shipment.summary()} (the files git tracks in {jobs.PROJECT_ROOT}"
            + (f" + {', '.join(args.include)}" if args.include else "")
            + ")",
            file=sys.stderr,
        )
        client.submit(
            jobs.entrypoint(args.experiment, run_arguments(args)),
            job_id,
            jobs.runtime_env(shipment.folder),
            jobs.metadata(args.experiment, options),
        )
    print(job_id, flush=True)
    if args.follow:
        return _follow(client, job_id)
    print(f"adls: follow it with `adls logs {job_id} --follow`", file=sys.stderr)
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from cluster.jobs import METADATA_KEY, is_adls_job

    client = _connect(args)
    listed = [job for job in client.list() if args.all or is_adls_job(job)]
    if not listed:
        print(
            f"no adls jobs on the cluster at {client.address}"
            + ("" if args.all else " (--all lists every job)")
        )
        return 0
    rows = [("JOB ID", "STATUS", "EXPERIMENT", "PROFILE", "STARTED", "DURATION", "STORAGE")]
    for job in listed:
        labels = job.metadata or {}
        rows.append(
            (
                job.submission_id or job.job_id or "-",
                str(job.status),
                labels.get(METADATA_KEY, "-"),
                labels.get("adls_profile", "-"),
                _clock(job.start_time),
                _duration(job.start_time, job.end_time),
                labels.get("adls_storage", "-"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    client = _connect(args)
    if args.follow:
        return _follow(client, args.job_id)
    sys.stdout.write(client.logs(args.job_id))
    sys.stdout.flush()
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    client = _connect(args)
    info = client.stop(args.job_id)
    print(f"{args.job_id}: {info.status}" + (f" ({info.message})" if info.message else ""))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from analysis.figures import draw_figures
    from cluster.fetch import fetch_experiment
    from search.experiments.registry import expand

    for name in expand(args.experiment):
        folder = fetch_experiment(name, args.storage, Path(args.to), with_checkpoints=args.with_checkpoints)
        print(f"[{name}] results in {folder}")
        # Figures are drawn where the results are read: the cluster does not draw them into a URI.
        for path in draw_figures(folder):
            print(f"[{name}] figure: {path}")
    return 0


def cmd_check_cluster(args: argparse.Namespace) -> int:
    from cluster.config import CLUSTER_CONFIG, check_launchable

    path = args.config or CLUSTER_CONFIG
    check_launchable(path)
    print(f"{path}: ready for `ray up` (own security group, narrow worker instance profile)")
    return 0


def _follow(client: JobsClient, job_id: str) -> int:
    def write(chunk: str) -> None:
        sys.stdout.write(chunk)
        sys.stdout.flush()

    try:
        info = client.follow(job_id, write)
    except KeyboardInterrupt:
        # Only the following stops; say so, or the user would think the search stopped too.
        print(
            f"adls: stopped following; job {job_id} keeps running (`adls stop {job_id}` ends it)",
            file=sys.stderr,
        )
        return 130
    status = str(info.status)
    if status == "SUCCEEDED":
        return 0
    print(f"adls: job {job_id} {status}" + (f": {info.message}" if info.message else ""), file=sys.stderr)
    return EXIT_JOB_FAILED


def _connect(args: argparse.Namespace) -> JobsClient:
    """The cluster's Jobs API client, with Ray's own chatter (packaging, websockets) hidden unless -v."""
    if not getattr(args, "verbose", False):
        logging.getLogger("ray").setLevel(logging.ERROR)
    return JobsClient(args.address)


def _clock(milliseconds: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(milliseconds / 1000)) if milliseconds else "-"


def _duration(start_ms: int | None, end_ms: int | None) -> str:
    if not start_ms:
        return "-"
    seconds = int(((end_ms or time.time() * 1000) - start_ms) / 1000)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
