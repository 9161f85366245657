"""A pytest plugin: no log line of the whole run may hold a health answer or contact detail.

Every log record of the app and its libraries (the root logger at DEBUG, SQLAlchemy's
statements at INFO, as `echo` would show them) is checked against the distinctive contact
details and answers the tests submit (SENTINELS). A test during which such a line is logged
fails, naming the logger and the line; a line logged after the last test fails the run.

Loaded from tests/conftest.py. Works in every xdist worker: a worker's late leaks travel to the
controller in `workeroutput`.
"""

from __future__ import annotations

import logging
import re

import pytest

# What the tests type in as patients, in one place (tests/factories.py, tests/clinician/helpers,
# tests/intake/test_intake_flow.py, tests/notify/test_safety_netting.py, test_messages.py ...).
SENTINELS = (
    # Patients' (and test staff's) addresses: every test address is at example.com.
    r"[\w.+-]+@example\.com",
    # Phones.
    r"555-0100", r"555 010 2030", r"555 010 9999",
    # Dates of birth, as text and as a bound parameter's repr.
    r"1980-05-17", r"1988-03-14", r"1990-01-30", r"1971-04-02",
    r"datetime\.date\((?:1980, 5, 17|1988, 3, 14|1990, 1, 30|1971, 4, 2)\)",
    # Names.
    r"Quixotelby", r"\bIent\d+\b",
    # Free-text answers.
    r"vegetable beds", r"xylophone marching", r"walk the dog", r"Sitting through a film",
)
SENTINEL = re.compile("|".join(f"(?:{pattern})" for pattern in SENTINELS), re.IGNORECASE)
# Test tools, not the app: the test SMTP server, the tests' HTTP client, the browser driver,
# and the Flask development server (not used in production).
IGNORED_LOGGERS = ("mail.log", "urllib3", "asyncio", "playwright", "werkzeug")
SQL_LOGGER = "sqlalchemy.engine"
EXCERPT = 160


class LogGuard(logging.Handler):
    """Collects every log line that holds a sentinel."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s [%(name)s] %(message)s"))
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(IGNORED_LOGGERS):
            return
        try:
            line = self.format(record)
        except Exception:  # a broken record is the logging call's problem, not ours
            return
        match = SENTINEL.search(line)
        if match:
            start = max(match.start() - EXCERPT // 2, 0)
            self.leaks.append(f"{record.name} {record.levelname}: ...{line[start:start + EXCERPT]}")

    def take_leaks(self) -> list[str]:
        """Return the leaks found since the last call, and forget them."""
        leaks, self.leaks = self.leaks, []
        return leaks

    def install(self) -> None:
        """(Re)attach the guard: Alembic's fileConfig, run by the migrating fixtures, replaces
        the root's handlers and disables the loggers that exist, as production never does."""
        root = logging.getLogger()
        if self not in root.handlers:
            for handler in root.handlers:
                _keep_quiet(handler)
            root.addHandler(self)
        root.setLevel(logging.DEBUG)
        for name in IGNORED_LOGGERS:  # their DEBUG chatter would fill every captured log
            logging.getLogger(name).setLevel(logging.WARNING)
        sql = logging.getLogger(SQL_LOGGER)
        sql.setLevel(logging.INFO)
        # SQL goes to the guard only, not into every failing test's captured log.
        sql.propagate = False
        if self not in sql.handlers:
            sql.addHandler(self)
        for logger in logging.root.manager.loggerDict.values():
            if isinstance(logger, logging.Logger):
                logger.disabled = False


def _keep_quiet(handler: logging.Handler) -> None:
    """A console handler someone else set up keeps printing warnings only, not our DEBUG."""
    if handler.level == logging.NOTSET and not type(handler).__module__.startswith("_pytest"):
        handler.setLevel(logging.WARNING)


GUARD = LogGuard()
_late_leaks = pytest.StashKey[list]()


def pytest_configure(config: pytest.Config) -> None:
    GUARD.install()
    config.stash[_late_leaks] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    GUARD.install()
    yield
    GUARD.install()  # the session's migrating fixtures may have just run fileConfig


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    leaks = GUARD.take_leaks()
    if not leaks:
        return
    found = "Health or contact details in the log:\n" + "\n".join(leaks)
    if report.failed:
        report.sections.append(("log guard", found))
    else:
        report.outcome = "failed"
        report.longrepr = found


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """On the xdist controller: collect what a worker found after its last test."""
    leaks = getattr(node, "workeroutput", {}).get("log_leaks", [])
    node.config.stash[_late_leaks].extend(leaks)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    leaks = config.stash[_late_leaks] + GUARD.take_leaks()
    if hasattr(config, "workeroutput"):  # an xdist worker: the controller decides
        config.workeroutput["log_leaks"] = leaks
        return
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "health or contact details in the log", red=True)
            for leak in leaks:
                reporter.write_line(leak)
