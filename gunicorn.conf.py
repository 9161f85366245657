"""gunicorn settings for `make run` and deployments: `gunicorn -c gunicorn.conf.py wsgi:app`.

Rate limits (sign-in, holds, returning patients' links) are counted in RATELIMIT_STORAGE_URI.
The default, memory://, lives inside one process: two workers would each count on their own and
let twice the limit through. So with memory storage the app runs as ONE worker with threads;
with a shared storage (redis://...) it runs WEB_CONCURRENCY worker processes (default 2).
In production, memory storage with more than one worker refuses to start.
"""

import os

from booking.config import rate_limit_storage, rate_limits_shared

SHARED_WORKERS = 2
THREADS = 8

# --bind on the command line wins (make run passes its HOST and PORT).
bind = "127.0.0.1:5000"
accesslog = "-"
# The access log masks the secrets in links (visit, calendar feed, sign-in, resume, reset).
logger_class = "booking.access_log.MaskedAccessLogger"

if rate_limits_shared(rate_limit_storage()):
    workers = int(os.environ.get("WEB_CONCURRENCY", SHARED_WORKERS))
else:
    workers = 1
    threads = THREADS


def on_starting(server):
    """Check the final worker count (a --workers on the command line overrides this file)."""
    storage = rate_limit_storage()
    if server.cfg.workers <= 1 or rate_limits_shared(storage):
        return
    message = (
        f"{server.cfg.workers} workers with RATELIMIT_STORAGE_URI={storage}: each worker would "
        "count rate limits on its own. Run one worker (with threads), or set "
        "RATELIMIT_STORAGE_URI to a shared storage such as redis://host:6379."
    )
    if os.environ.get("APP_ENV", "development") == "production":
        raise RuntimeError(message)  # gunicorn prints "Error: ..." and exits with status 1
    server.log.warning("Rate limits are per worker: %s", message)


def post_worker_init(worker):
    worker.log.info("Worker %s ready to serve", worker.pid)
