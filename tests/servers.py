"""Real app servers for tests: gunicorn subprocesses on free ports, as in production.

    with gunicorn(database_url, tmp_path) as server:
        requests.post(server.url + "/api/v1/holds", json={...})

The database must already be migrated (the `sqlite_url`/`postgresql_url` fixtures are) and hold
whatever the test needs, committed: the workers are other processes with their own connections.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")  # the test run's own virtualenv
HOST = "127.0.0.1"
READY = "worker ready"
# A gunicorn config file. With --preload the app is imported once and forked: each worker drops
# the connection pool it inherited (SQLAlchemy's advice for forking), then reports it can serve.
GUNICORN_HOOKS = f"""
import sys


def post_fork(server, worker):
    if "wsgi" in sys.modules:
        from booking.extensions import db
        from wsgi import app

        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)


def post_worker_init(worker):
    worker.log.info("{READY} %s", worker.pid)
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def app_environment(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a test server: the test database, no rate limits or caps on live
    holds (every test client comes from 127.0.0.1), no mail."""
    return {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "SECURITY_PASSWORD_SALT": "test-salt",
        "RATELIMIT_ENABLED": "false",
        "HOLDS_PER_CLIENT": "1000",
        "MAIL_SUPPRESS_SEND": "true",
        "CLINIC_TIMEZONE": "America/New_York",
        **overrides,
    }


@dataclass
class GunicornServer:
    """One gunicorn instance (master and workers in their own process group)."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> None:
        """Stop the master and its workers: SIGINT (quick shutdown), then SIGKILL if they linger."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)


def start_gunicorn(
    database_url: str,
    log_dir: Path,
    workers: int = 4,
    preload: bool = True,
    startup_seconds: float = 60,
    **env: str,
) -> GunicornServer:
    """Start `gunicorn --workers N wsgi:app` on a free port; return once every worker serves.

    `preload` imports the app once before forking: several times faster to start on a busy
    machine than every worker importing it, and the workers are just as separate.
    """
    port = free_port()
    config = log_dir / "gunicorn_hooks.py"
    config.write_text(GUNICORN_HOOKS)
    log_path = log_dir / f"gunicorn-{port}.log"
    command = [
        str(GUNICORN), "--config", str(config), "--workers", str(workers),
        "--bind", f"{HOST}:{port}", *(["--preload"] if preload else []),
        # gunicorn's control socket lives at one path in $HOME: instances would fight over it.
        "--no-control-socket", "wsgi:app",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=app_environment(database_url, **env), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = GunicornServer(f"http://{HOST}:{port}", process, log_path)
    try:
        wait_until_serving(server, workers, startup_seconds)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_serving(server: GunicornServer, workers: int, seconds: float) -> None:
    """Wait for every worker's ready line, then for the health check to answer."""
    deadline = time.monotonic() + seconds
    while server.log().count(READY) < workers or not _healthy(server):
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.log()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"gunicorn did not start within {seconds} s:\n{server.log()}")
        time.sleep(0.05)


def _healthy(server: GunicornServer) -> bool:
    try:
        return requests.get(f"{server.url}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@contextmanager
def gunicorn(database_url: str, log_dir: Path, **options) -> Iterator[GunicornServer]:
    """A gunicorn instance for the length of the block; stopped however the block ends."""
    server = start_gunicorn(database_url, log_dir, **options)
    try:
        yield server
    finally:
        server.stop()
