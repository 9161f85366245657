"""Rate limits count per client across every worker: gunicorn with the project's gunicorn.conf.py.

With the default memory storage the config runs one worker (with threads), so its one counter
is the client's; with RATELIMIT_STORAGE_URI=redis://... it runs several workers that count in
Redis. Either way 5 sign-in attempts a minute means 5, not 5 per worker. In production, memory
storage with several workers refuses to start.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import requests

from booking.clinic.service import get_clinic
from booking.extensions import db
from tests.helpers import STAFF_LOGIN, csrf_token_in
from tests.servers import GUNICORN, HOST, ROOT, GunicornServer, app_environment, free_port

pytestmark = pytest.mark.slow

LIMIT = 5
ATTEMPTS = 10
BURSTS = 5  # tries at a burst that both workers answer
READY = "ready to serve"
REDIS = "redis://127.0.0.1:6379/0"
# The access log line of each request: the worker's pid, the status and the request line.
ACCESS_FORMAT = 'served-by=%(p)s status=%(s)s "%(r)s"'
SIGN_IN_LINE = re.compile(r'served-by=<(\d+)> status=(\d+) "POST /staff/login')
STARTUP_SECONDS = 120


def gunicorn_command(port: int, *options: str) -> list[str]:
    """The project's own command line (see the Makefile's run target), on a free port."""
    return [
        str(GUNICORN), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"{HOST}:{port}",
        "--access-logformat", ACCESS_FORMAT, "--no-control-socket", *options, "wsgi:app",
    ]


@contextmanager
def project_gunicorn(database_url: str, log_dir: Path, workers: int, **env: str
                     ) -> Iterator[GunicornServer]:
    """gunicorn configured by gunicorn.conf.py alone, once `workers` workers serve."""
    port = free_port()
    log_path = log_dir / f"gunicorn-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            gunicorn_command(port), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env=app_environment(database_url, RATELIMIT_ENABLED="true",
                                STAFF_LOGIN_RATE_LIMIT=f"{LIMIT} per minute", **env),
            start_new_session=True,
        )
    server = GunicornServer(f"http://{HOST}:{port}", process, log_path)
    try:
        wait_for_workers(server, workers)
        yield server
    finally:
        server.stop()


def wait_for_workers(server: GunicornServer, workers: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while server.log().count(READY) < workers or not answers(server):
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"gunicorn did not start:\n{server.log()}")
        time.sleep(0.1)


def answers(server: GunicornServer) -> bool:
    try:
        return requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def sign_in_attempts(server: GunicornServer, count: int) -> Counter[int]:
    """`count` wrong-password attempts from one address, all at once (so that busy workers
    leave some to the others), each through the real form with its CSRF token."""
    forms = [open_sign_in_form(server) for _ in range(count)]
    with ThreadPoolExecutor(count) as pool:
        return Counter(pool.map(lambda form: post_sign_in(server, *form), forms))


def open_sign_in_form(server: GunicornServer) -> tuple[requests.Session, dict[str, str]]:
    client = requests.Session()
    page = client.get(server.url + STAFF_LOGIN, timeout=30)
    data = {
        # Another address each time: only the per-client limit applies.
        "email": f"guess-{uuid.uuid4().hex[:8]}@clinic.example",
        "password": "not-the-password",
        "csrf_token": csrf_token_in(page.text),
    }
    return client, data


def post_sign_in(server: GunicornServer, client: requests.Session, data: dict[str, str]) -> int:
    return client.post(server.url + STAFF_LOGIN, data=data, timeout=60).status_code


def sign_ins_served(server: GunicornServer, at_least: int = 0) -> list[tuple[str, int]]:
    """(worker pid, status) of every sign-in POST, from the access log; waits a little for
    `at_least` lines (a worker logs a request just after answering it)."""
    deadline = time.monotonic() + 10
    while True:
        served = [(pid, int(status)) for pid, status in SIGN_IN_LINE.findall(server.log())]
        if len(served) >= at_least or time.monotonic() > deadline:
            return served
        time.sleep(0.05)


@pytest.fixture
def clinic_database(make_app, database_url: str) -> str:
    """The engine's test database, emptied, with the clinic row the pages show."""
    with make_app().app_context():
        get_clinic()
        db.session.commit()
    return database_url


def test_default_memory_storage_lets_one_client_sign_in_five_times_a_minute(
    clinic_database, tmp_path
):
    with project_gunicorn(clinic_database, tmp_path, workers=1,
                          RATELIMIT_STORAGE_URI="memory://") as server:
        statuses = sign_in_attempts(server, ATTEMPTS)
        served = sign_ins_served(server, ATTEMPTS)
        log = server.log()
    assert statuses == {200: LIMIT, 429: ATTEMPTS - LIMIT}
    # One worker, with threads, counts for everybody.
    assert log.count("Booting worker with pid") == 1
    assert len(served) == ATTEMPTS and len({pid for pid, _ in served}) == 1


def test_workers_sharing_redis_let_one_client_sign_in_five_times_a_minute(
    clinic_database, tmp_path
):
    prefix = f"test-{uuid.uuid4().hex}"  # this test's own counters in the shared Redis
    with project_gunicorn(clinic_database, tmp_path, workers=2, RATELIMIT_STORAGE_URI=REDIS,
                          RATELIMIT_KEY_PREFIX=prefix, WEB_CONCURRENCY="2") as server:
        # A burst may all land on one worker; try again, counts forgotten, until both answer.
        for _ in range(BURSTS):
            before = len(sign_ins_served(server))
            statuses = sign_in_attempts(server, ATTEMPTS)
            served = sign_ins_served(server, before + ATTEMPTS)[before:]
            if len({pid for pid, _ in served}) == 2:
                break
            forget_counts(prefix)
    # Both workers answered the burst, and together they let five through: the count is shared.
    assert len({pid for pid, _ in served}) == 2, served
    assert statuses == {200: LIMIT, 429: ATTEMPTS - LIMIT}


def forget_counts(prefix: str) -> None:
    """Empty this test's rate-limit counters in Redis."""
    storage = redis.Redis.from_url(REDIS)
    keys = list(storage.scan_iter(match=f"*{prefix}*"))
    if keys:
        storage.delete(*keys)


def test_production_refuses_several_workers_counting_in_memory(sqlite_url, tmp_path):
    port = free_port()
    env = app_environment(sqlite_url, APP_ENV="production", RATELIMIT_STORAGE_URI="memory://")
    finished = subprocess.run(
        gunicorn_command(port, "--workers", "2"), cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=STARTUP_SECONDS,
    )
    assert finished.returncode == 1
    assert "RATELIMIT_STORAGE_URI" in finished.stderr
    assert "Run one worker" in finished.stderr
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{HOST}:{port}/healthz", timeout=5)
