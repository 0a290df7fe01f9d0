"""The command lines README.md shows and the cluster tests run (tests/cli_tests/test_docs.py checks both)."""

# Loopback addresses, but not 127.0.0.1, which Ray swaps for the machine's network address.
HEAD_IP = "127.0.0.3"
WORKER_IPS = ("127.0.0.2", "127.0.0.4")


class Commands:
    """The command lines of README.md. Tests run them with free ports and private folders, because
    other Ray instances may share the machine; the document shows them with Ray's default ports."""

    @staticmethod
    def ray_head(
        port: int, dashboard_port: int, agent_port: int, client_port: int, temp_dir: str
    ) -> list[str]:
        return [
            "ray",
            "start",
            "--head",
            f"--node-ip-address={HEAD_IP}",
            f"--port={port}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard_port}",
            f"--dashboard-agent-listen-port={agent_port}",
            f"--ray-client-server-port={client_port}",
            # The head runs the job's driver only; trials go to the workers, as on a GPU cluster.
            "--num-cpus=0",
            f"--temp-dir={temp_dir}",
            "--disable-usage-stats",
        ]

    @staticmethod
    def ray_worker(
        port: int, ip: str, agent_port: int, temp_dir: str, cpus: int = 1, gpus: int = 0
    ) -> list[str]:
        # --num-gpus advertises GPUs as a resource: Ray schedules by it, no device needed (the scale bench).
        return [
            "ray",
            "start",
            f"--address={HEAD_IP}:{port}",
            f"--node-ip-address={ip}",
            f"--dashboard-agent-listen-port={agent_port}",
            f"--num-cpus={cpus}",
            *([f"--num-gpus={gpus}"] if gpus else []),
            f"--temp-dir={temp_dir}",
            "--disable-usage-stats",
        ]

    @staticmethod
    def submit(experiment: str, storage: str, *extra: str) -> list[str]:
        return [
            "adls",
            "submit",
            experiment,
            "--profile",
            "smoke",
            "--dataset",
            "synthetic",
            "--storage",
            storage,
            *extra,
        ]

    @staticmethod
    def logs(job: str, *extra: str) -> list[str]:
        return ["adls", "logs", job, *extra]

    @staticmethod
    def jobs() -> list[str]:
        return ["adls", "jobs"]

    @staticmethod
    def stop(job: str) -> list[str]:
        return ["adls", "stop", job]

    @staticmethod
    def fetch(experiment: str, storage: str, to: str) -> list[str]:
        return ["adls", "fetch", experiment, "--storage", storage, "--to", to]

    @staticmethod
    def ray_up(config: str) -> list[str]:
        return ["ray", "up", "-y", config]

    @staticmethod
    def ray_dashboard(config: str, local_port: int, remote_port: int) -> list[str]:
        return ["ray", "dashboard", "-p", str(local_port), "--remote-port", str(remote_port), config]

    @staticmethod
    def ray_down(config: str) -> list[str]:
        return ["ray", "down", "-y", config]


# What README.md shows: the commands above with Ray's default ports and the document's folders.
DOC_URI = "file:///tmp/adls-shared/results"  # the two-node example: a URI, as on a real cluster
DOC_FOLDER = "/tmp/adls-shared/results"  # the `ray up` smoke check: a folder on the only node
DOCUMENTED = [
    Commands.ray_head(6379, 8265, 52365, 10001, "/tmp/ray-head"),
    Commands.ray_worker(6379, WORKER_IPS[0], 52366, "/tmp/ray-worker-1"),
    Commands.ray_worker(6379, WORKER_IPS[1], 52367, "/tmp/ray-worker-2"),
    Commands.submit("lab1-qat", DOC_URI),
    Commands.logs("JOB_ID", "--follow"),
    Commands.logs("JOB_ID"),
    Commands.jobs(),
    Commands.fetch("lab1-qat", DOC_URI, "results"),
    Commands.stop("JOB_ID"),
    Commands.ray_up("ray_cluster.yaml"),
    Commands.ray_dashboard("ray_cluster.yaml", 8265, 8265),
    Commands.submit("base", DOC_FOLDER, "--follow"),
    Commands.ray_down("ray_cluster.yaml"),
]
