"""`make run` on an empty database migrates, seeds the demo clinic, serves the home page and
runs the outbox worker beside the server, stopping it with the server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180  # generous: a loaded two-core machine starts Python processes slowly


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def collect_output(process: subprocess.Popen) -> list[str]:
    """Read the process's output lines in the background, as they come."""
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.append(line.decode(errors="replace"))

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("make run did not start in time")
        time.sleep(0.3)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=15).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


@pytest.mark.slow
def test_make_run_serves_the_demo_clinic(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/run.sqlite3",
        "PYTHONUNBUFFERED": "1",
    }
    server = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output = collect_output(server)
    try:
        wait_until(
            lambda: answers(f"{base}/") and "Outbox worker running" in "".join(output),
            STARTUP_SECONDS,
        )
        home = requests.get(f"{base}/", timeout=15)
        assert "Riverside Back Pain Clinic" in home.text
        assert requests.get(f"{base}/healthz", timeout=15).json()["database"] == "ok"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    text = "".join(output)
    assert "Seeded Riverside Back Pain Clinic" in text
    # The worker stopped with the server, cleanly.
    wait_until(lambda: "Outbox worker stopped." in "".join(output), 10)
