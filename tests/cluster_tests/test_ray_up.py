"""`ray up` for real: ray_cluster.yaml turned into its on-premise variant, pointed at 127.0.0.1 over SSH.

The SSH server is Debian's openssh-server run by the SSH client itself (`sshd -i` as ProxyCommand):
no daemon, no listening port, a host key and a login key made for this test. The nodes' user is
a dedicated account (`adlsray`): `ray down` runs `ray stop` on the head, which stops every Ray
process its user may signal, and as its own user it cannot touch other Ray instances here.
"""

import fcntl
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import ray
import yaml

from cluster.config import load_cluster_config, local_variant

pytestmark = pytest.mark.cluster

PROJECT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SSH_USER = "adlsray"
SSHD = "/usr/sbin/sshd"
LOCK = "/tmp/adls-ray-up-test.lock"  # one such test at a time per machine: they share SSH_USER
# Set by .ci/run where the test can run (root, sshd installed): a reason to skip there is a failure.
REQUIRED_ENV = "ADLS_RAY_UP_REQUIRED"


def cannot_run(reason: str) -> None:
    """Skip with `reason` (CI prints it: pytest -rs), or fail where CI says the test must run."""
    message = f"`ray up` test cannot run here: {reason}"
    if os.environ.get(REQUIRED_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRED_ENV}=1: this machine ran it before)", pytrace=False)
    pytest.skip(message)


def why_ray_up_cannot_run() -> str | None:
    """None when this machine can run the test, else exactly what is missing."""
    if os.geteuid() != 0:
        return "needs root: it creates the node user and runs sshd -i (run as root, as .ci/run does)"
    for tool, package in (
        (SSHD, "openssh-server"),
        ("ssh", "openssh-client"),
        ("ssh-keygen", "openssh-client"),
        ("rsync", "rsync"),
        ("useradd", "passwd"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} is missing: apt-get install {package} (.ci/run installs it)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    # A session of its own, so SSH control masters and tunnels it leaves behind can be found by sid.
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, start_new_session=True, **kwargs
    )


def ensure_node_user() -> pwd.struct_passwd:
    """The dedicated node user, created once."""
    try:
        user = pwd.getpwnam(SSH_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", SSH_USER], check=True)
        user = pwd.getpwnam(SSH_USER)
    # Key-only logins: '*' is "no password" without the "locked" mark that sshd (without PAM) refuses.
    subprocess.run(["usermod", "-p", "*", SSH_USER], check=True)
    return user


NODE_IMPORTS = ["-c", "import ray, torch"]  # what a node needs: the packages, not the project


def node_python(user: pwd.struct_passwd, work: Path) -> Path:
    """A bin folder with `python` and `ray` that the node user can run, holding this project's packages.

    That is this virtual environment when the node user may execute its interpreter. When the
    interpreter lives where only root may enter (pyenv under /root), it is a small environment on a
    system Python 3.11 that loads this environment's site-packages: the same packages, no download.
    """
    if _runs_as(user, [sys.executable, *NODE_IMPORTS]):
        return VENV_BIN
    system = next(
        (
            p
            for p in ("/usr/bin/python3.11", "/usr/local/bin/python3.11")
            if _runs_as(user, [p, "-c", "pass"])
        ),
        None,
    )
    if system is None:
        cannot_run(
            f"the node user cannot execute {sys.executable} and no "
            "Python 3.11 it can run exists (apt-get install python3.11)"
        )
    env = work / "node-env"
    subprocess.run([system, "-m", "venv", "--without-pip", str(env)], check=True)
    site_packages = next((Path(sys.prefix) / "lib").glob("python3.11/site-packages"))
    (env / "lib" / "python3.11" / "site-packages" / "adls_node_env.pth").write_text(
        f"import site; site.addsitedir({str(site_packages)!r})\n"
    )
    (env / "bin" / "ray").write_text(
        f"#!{env / 'bin' / 'python'}\nimport sys\nfrom ray.scripts.scripts import main\nsys.exit(main())\n"
    )
    (env / "bin" / "ray").chmod(0o755)
    if not _runs_as(user, [str(env / "bin" / "python"), *NODE_IMPORTS]):
        cannot_run(
            f"the node user cannot read this environment's packages in "
            f"{site_packages}; keep the checkout where other users may read it (not under /root)"
        )
    return env / "bin"


def _runs_as(user: pwd.struct_passwd, command: list[str]) -> bool:
    try:
        return (
            subprocess.run(
                command, user=user.pw_uid, group=user.pw_gid, capture_output=True, cwd="/", timeout=60
            ).returncode
            == 0
        )
    except OSError:
        return False


def write_login_env(user: pwd.struct_passwd, bin_dir: Path) -> None:
    """The node user's shell finds the project's Python and Ray first, as a node's admin would set it up."""
    bashrc = Path(user.pw_dir) / ".bashrc"
    bashrc.write_text(
        "# written by tests/cluster_tests/test_ray_up.py: this node's Python environment\n"
        f"export PATH={bin_dir}:$PATH\n"
        "export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false RAY_USAGE_STATS_ENABLED=0\n"
    )
    os.chown(bashrc, user.pw_uid, user.pw_gid)


def user_processes(uid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real == uid:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def kill_session(leader: int) -> None:
    for pid in psutil.pids():
        try:
            if os.getsid(pid) == leader:
                os.kill(pid, 9)
        except (ProcessLookupError, PermissionError):
            continue


def test_ray_up_submit_and_ray_down_on_this_machine_over_ssh(commands):
    reason = why_ray_up_cannot_run()
    if reason:
        cannot_run(reason)
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _ray_up_submit_down(commands)


def _ray_up_submit_down(commands) -> None:
    user = ensure_node_user()
    work = Path(tempfile.mkdtemp(prefix="adls-rayup-"))
    work.chmod(0o755)  # the node user reads its authorized key and writes results below
    write_login_env(user, node_python(user, work))
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(work / name)], check=True
        )
    shutil.copy(work / "client_key.pub", work / "authorized_keys")
    (work / "authorized_keys").chmod(0o644)
    (work / "sshd_config").write_text(
        f"HostKey {work / 'host_key'}\nAuthorizedKeysFile {work / 'authorized_keys'}\n"
        f"AllowUsers {SSH_USER}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\nPidFile none\nAllowTcpForwarding yes\nLogLevel ERROR\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    token = work / "auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    node_dirs = {name: work / name for name in ("ray", "results")}
    for path in node_dirs.values():
        path.mkdir()
        os.chown(path, user.pw_uid, user.pw_gid)

    ports = {"port": free_port(), "object-manager-port": free_port(), "dashboard-port": free_port()}
    config = ray_up_config(work, ports, node_dirs["ray"])
    config_file = work / "cluster.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    client = {key: value for key, value in os.environ.items() if not key.startswith(("RAY_", "PYTHONPATH"))}
    client["PATH"] = f"{VENV_BIN}{os.pathsep}{client.get('PATH', '')}"
    sessions: list[int] = []
    tunnel = None
    up = False
    try:
        started = run(commands.ray_up(str(config_file)), 400, env=client, cwd=PROJECT)
        up = True
        assert started.returncode == 0, started.stdout[-4000:] + started.stderr[-4000:]

        local_port = free_port()
        tunnel = subprocess.Popen(
            commands.ray_dashboard(str(config_file), local_port, ports["dashboard-port"]),
            env=client,
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        sessions.append(tunnel.pid)
        _wait_for_port(local_port, 60)

        client.update(RAY_ADDRESS=f"http://127.0.0.1:{local_port}", RAY_AUTH_TOKEN_PATH=str(token))
        submitted = run(
            commands.submit("base", str(node_dirs["results"]), "--follow"), 400, env=client, cwd=PROJECT
        )
        assert submitted.returncode == 0, submitted.stdout[-4000:] + submitted.stderr[-2000:]
        assert "[base] 1 trials in" in submitted.stdout
        assert (node_dirs["results"] / "base" / "trials.parquet").is_file()

        kill_session(tunnel.pid)  # the user's Ctrl-C on `ray dashboard`: its remote end goes too
        tunnel.wait(timeout=30)
        down = run(commands.ray_down(str(config_file)), 120, env=client, cwd=PROJECT)
        up = False
        assert down.returncode == 0, down.stdout[-3000:] + down.stderr[-3000:]
        deadline = time.monotonic() + 30
        while user_processes(user.pw_uid) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = [" ".join(p.cmdline())[:80] for p in user_processes(user.pw_uid)]
        assert left == [], f"`ray down` left processes of the node user running: {left}"
    finally:
        if tunnel is not None:
            tunnel.kill()
        if up:
            run(commands.ray_down(str(config_file)), 120, env=client, cwd=PROJECT)
        for leader in sessions:
            kill_session(leader)
        for proc in user_processes(user.pw_uid):  # every process of this user was started by this test
            proc.kill()
        for suffix in ("state", "lock"):  # the local provider's record of the cluster
            Path(tempfile.gettempdir(), "ray", f"cluster-{config['cluster_name']}.{suffix}").unlink(
                missing_ok=True
            )
        shutil.rmtree(work, ignore_errors=True)


def ray_up_config(work: Path, ports: dict[str, int], temp_dir: Path) -> dict:
    """ray_cluster.yaml's documented on-premise variant, with what a shared test machine needs on top.

    Changes: SSH through `sshd -i`; the test's token file instead of ~/.ray/auth_token; no pip
    install (the nodes share this machine's virtual environment; the setup step checks it instead);
    free ports instead of Ray's defaults, a private temp folder and one CPU for the head.
    """
    config = local_variant(load_cluster_config(), "127.0.0.1", [], SSH_USER, str(work / "client_key"))
    config["cluster_name"] = f"adls-test-{os.getpid()}-{secrets.token_hex(2)}"
    config["auth"]["ssh_proxy_command"] = f"{SSHD} -i -f {work / 'sshd_config'}"
    config["file_mounts"]["~/.ray/auth_token"] = str(work / "auth_token")
    config["setup_commands"] = [
        f"python -c 'import ray, torch; assert ray.__version__ == \"{ray.__version__}\"'"
    ]
    starts = []
    for command in config["head_start_ray_commands"]:
        for flag, port in ports.items():
            command = re.sub(rf"--{flag}=\d+", f"--{flag}={port}", command)
        if "ray start" in command:
            command += (
                f" --temp-dir={temp_dir} --dashboard-agent-listen-port={free_port()}"
                f" --ray-client-server-port={free_port()} --num-cpus=1"
            )
        starts.append(command)
    config["head_start_ray_commands"] = starts
    return config


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"`ray dashboard` did not open 127.0.0.1:{port} in {timeout} s") from None
            time.sleep(0.5)
