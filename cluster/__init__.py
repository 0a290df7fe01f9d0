"""Reaching a Ray cluster: job submission, status, logs, storage checks, ray_cluster.yaml helpers."""
