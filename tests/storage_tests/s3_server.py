"""A local S3 server on loopback (moto's server mode) that the project reaches as it reaches AWS.

The project is pointed at it only through the standard AWS variables (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION), which pyarrow's S3 filesystem reads, in the
test process and in every process it starts (`adls run`, Ray's workers).
"""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.fs

AWS_VARIABLES = {
    "AWS_ACCESS_KEY_ID": "adls-test",
    "AWS_SECRET_ACCESS_KEY": "adls-test",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def s3_server(log_dir: Path) -> Iterator[str]:
    """Start moto_server on 127.0.0.1 (a free port); yields its endpoint URL; stops it by pid."""
    log = log_dir / "moto.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(rb"Running on (http://127\.0\.0\.1:\d+)", log.read_bytes())
            if found:
                yield found.group(1).decode()
                return
            assert server.poll() is None, log.read_text()
            time.sleep(0.1)
        raise AssertionError(f"moto_server did not start in 30 s: {log.read_text()}")
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def aws_environment(endpoint: str) -> Iterator[None]:
    """The AWS variables set in os.environ (so child processes inherit them), restored after."""
    saved = {key: os.environ.get(key) for key in [*AWS_VARIABLES, "AWS_ENDPOINT_URL"]}
    os.environ.update({**AWS_VARIABLES, "AWS_ENDPOINT_URL": endpoint})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def create_bucket(name: str, endpoint: str) -> None:
    pyarrow.fs.S3FileSystem(endpoint_override=endpoint, allow_bucket_creation=True).create_dir(name)


def s3_files(uri: str) -> dict[str, int]:
    """{key under `uri`: size} of every object stored under it."""
    fs, path = pyarrow.fs.FileSystem.from_uri(uri)
    infos = fs.get_file_info(pyarrow.fs.FileSelector(path, recursive=True, allow_not_found=True))
    return {i.path[len(path) :].lstrip("/"): i.size for i in infos if i.type == pyarrow.fs.FileType.File}
