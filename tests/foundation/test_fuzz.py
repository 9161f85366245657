"""Property-based fuzzing of every route: whatever arrives, the answer is never a 5xx.

The routes come from the app's URL map, so a route added later is fuzzed without touching this
file. Anonymous visitors get every route outside the staff pages (the booking flow, the API, the
patient's visit page, "Book a follow-up") plus the staff sign-in pages; each staff role (desk,
practitioner, admin) gets the staff routes it may use, signed in. Path values, query strings,
form bodies and JSON bodies are drawn from nasty text: NUL and other control characters, lone
surrogates, `²` and other non-ASCII digits, huge and negative numbers, odd and far-off dates,
deep JSON, and (to get past the first check) real ids, tokens, step ids and answer values.

The budget is bounded for `make test` (derandomized, so a run is reproducible). For a longer
local run: `HYPOTHESIS_PROFILE=long` multiplies every example count by 10. Each test prints
(and records as a user property) its request count and status mix.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.routing import AnyConverter, Rule
from wtforms.fields.core import UnboundField

from booking import create_app
from booking.accounts.models import RoleName, User
from booking.extensions import db
from booking.intake.questionnaire import CHECK_IN_STEPS, FIRST_VISIT_STEPS, all_questions
from booking.notify.links import manage_token
from booking.scheduling.models import Appointment, AppointmentStatus
from tests.helpers import BASE_TEST_CONFIG, DEMO_STAFF, make_demo_app, sign_in

SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1
# Requests per test; four tests per engine: 1,000 requests per engine in `make test`.
EXAMPLES = {None: 400, RoleName.FRONT_DESK: 200, RoleName.PRACTITIONER: 150, RoleName.ADMIN: 250}
# Routes whose effect would end the fuzzing itself rather than test input handling.
SKIPPED = {"security.logout", "static", "security.static"}
SELF_CHANGES = {"admin.account_edit", "admin.account_action", "security.change_password"}
READS = ("GET",)

# --- nasty values --------------------------------------------------------------------------

NASTY_TEXT = [
    "", " ", "\x00", "a\x00b", "\x1b[2J", "\x7f", "\t\r\n", "\ud800", "²", "١٢٣", "٣", "½",
    "-1", "0", "00", "1e3", "0x10", "2147483647", "2147483648", "-2147483649", str(10**30),
    "9" * 5000, "1.5", "NaN", "Infinity", "true", "null", "[]", "{}", "any", "ключ", "日本語" * 300,
    "' OR '1'='1", "<script>alert(1)</script>", "../../etc/passwd", "%00", "%", "&", "=", "#",
    "17/05/1980", "2026-02-30", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01",
    "+1980-01-01", "1980-05-17T25:00", "2026-11-23T09:00:00", "2026-11-23T09:00:00-05:00",
    "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "24:00", "23:59:60", "12:00 PM",
    "first-visit", "follow-up", "x" * 300,
]
ODD_DATES = st.dates().map(lambda d: d.isoformat()) | st.datetimes(
    timezones=st.timezones() | st.none()
).map(lambda d: d.isoformat())
CONTROL = st.text(st.characters(max_codepoint=0x1F) | st.sampled_from(["\x7f", "\ud800"]),
                  min_size=1, max_size=3)
PLAIN = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)
# Text a person might type, odd but free of control characters: it gets past the edge's check
# and reaches the views' own parsing.
CLEAN_TEXT = st.one_of(
    st.sampled_from([t for t in NASTY_TEXT if not any(c < " " or c == "\x7f" or
                                                      "\ud800" <= c <= "\udfff" for c in t)]),
    PLAIN,
    st.integers().map(str),
    ODD_DATES,
)
TEXT = st.one_of(
    CLEAN_TEXT,
    st.sampled_from(NASTY_TEXT),
    st.tuples(PLAIN, CONTROL, PLAIN).map("".join),
)
JSON_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


RAW_BODIES = st.sampled_from(["[" * 100_000, deep(30), deep(19), "{", '{"a":', "\x00", "", "[]"])


# --- what the app knows ------------------------------------------------------------------


def form_field_names() -> list[str]:
    """Every field name of every form in the app, and every question id of the intakes."""
    names: set[str] = set()
    forms = [FlaskForm]
    while forms:
        form = forms.pop()
        forms.extend(form.__subclasses__())
        names.update(n for n in dir(form) if isinstance(getattr(form, n, None), UnboundField))
    for question in all_questions((*FIRST_VISIT_STEPS, *CHECK_IN_STEPS)):
        names.add(question.id)
    return sorted(names)


QUERY_KEYS = ["date", "day", "start", "from", "days", "practitioner", "patient", "service", "q",
              "kind", "page", "action", "back", "next", "outcome", "when", "who", "event"]


def answer_values() -> list[str]:
    values = {"yes", "no", "not_sure", "any", "answered", "no_answer", "custom", "back", "save"}
    for question in all_questions((*FIRST_VISIT_STEPS, *CHECK_IN_STEPS)):
        values.update(str(value) for value in question.choice_values)
    return sorted(values)


class Known:
    """Real values from the seeded clinic, so that requests get past the first lookup."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.ids = list(range(1, 41))
            visits = db.session.scalars(
                select(Appointment)
                .where(Appointment.status == AppointmentStatus.CONFIRMED,
                       Appointment.starts_at > datetime.now(UTC))
                .limit(4)
            ).all()
            self.tokens = [manage_token(visit) for visit in visits]
            self.staff_ids = set(db.session.scalars(
                select(User.id).where(func.lower(User.email).in_(DEMO_STAFF.values()))
            ))
        self.steps = [step.id for step in (*FIRST_VISIT_STEPS, *CHECK_IN_STEPS)]
        self.fields = form_field_names()
        self.answers = answer_values()


def path_value(known: Known, converter, name: str, text) -> st.SearchStrategy[str]:
    if isinstance(converter, AnyConverter):
        return st.sampled_from(sorted(converter.items)) | text
    if name.endswith("_id") and name != "step_id":
        return st.sampled_from(known.ids).map(str) | st.integers().map(str) | text
    if name == "step_id":
        return st.sampled_from([*known.steps, "consent", "outcome"]) | text
    if name == "token":
        return st.sampled_from(known.tokens or ["x"]) | text
    return text


def build_path(rule: Rule, values: dict[str, str]) -> str:
    parts = []
    for dynamic, data in rule._trace:
        parts.append(quote(as_bytes(values[data]), safe="") if dynamic else data)
    return "".join(parts).split("|", 1)[1]


@st.composite
def requests(draw, rules: list[Rule], known: Known) -> dict:
    """One request: a route and method, its path values, a query string and perhaps a body."""
    rule = draw(st.sampled_from(rules))
    method = draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    # Half the requests are free of control characters, so that they reach the views.
    text = CLEAN_TEXT if draw(st.booleans()) else TEXT
    values = {
        name: draw(path_value(known, conv, name, text)) for name, conv in rule._converters.items()
    }
    if rule.endpoint in SELF_CHANGES and int_or_none(values.get("user_id")) in known.staff_ids:
        values["user_id"] = "999999"  # the fuzzing staff keep their own accounts
    value = st.one_of(text, st.sampled_from(known.answers), st.sampled_from(known.ids).map(str))
    query = draw(st.lists(st.tuples(st.sampled_from(QUERY_KEYS) | text, value), max_size=4))
    request = {"method": method, "path": build_path(rule, values), "query": form_body(query)}
    if method == "POST":
        api = rule.rule.startswith("/api/")  # the API reads JSON, the pages forms
        kind = draw(st.sampled_from(["json", "json", "form", "raw"] if api else
                                    ["form", "form", "form", "json", "raw"]))
        keys = st.sampled_from(known.fields) | st.sampled_from(QUERY_KEYS) | text
        if kind == "form":
            request["data"] = draw(st.lists(st.tuples(keys, value), max_size=8))
        elif kind == "json":
            request["json"] = draw(st.dictionaries(keys, JSON_VALUE | value, max_size=6))
        else:
            request["raw"] = draw(RAW_BODIES)
    return request


def as_bytes(text: str) -> bytes:
    """UTF-8, lone surrogates included as the invalid bytes a broken client would send."""
    return text.encode("utf-8", "surrogatepass")


def form_body(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(as_bytes(k), safe='')}={quote(as_bytes(v), safe='')}"
                    for k, v in pairs)


def int_or_none(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else None


def send(client: FlaskClient, request: dict):
    url = request["path"] + ("?" + request["query"] if request["query"] else "")
    if "json" in request:
        body = json.dumps(request["json"], ensure_ascii=True)
        return client.open(url, method=request["method"], data=body,
                           content_type="application/json")
    if "raw" in request:
        return client.open(url, method=request["method"], data=request["raw"],
                           content_type="application/json")
    return client.open(url, method=request["method"], data=form_body(request.get("data", [])),
                       content_type="application/x-www-form-urlencoded")


# --- the tests ---------------------------------------------------------------------------


@pytest.fixture
def app(make_app) -> Flask:
    return make_demo_app(make_app, WTF_CSRF_ENABLED=False)


def rules_for(app: Flask, role: RoleName | None) -> list[Rule]:
    """Anonymous: everything outside the staff pages, and the sign-in pages. A role: the staff
    pages it may use."""
    chosen = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in SKIPPED:
            continue
        roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        if role is None and roles is None or role is not None and roles and role in roles:
            chosen.append(rule)
    return chosen


def client_for(app: Flask, role: RoleName | None) -> FlaskClient:
    client = app.test_client()
    if role is not None:
        return sign_in(client, DEMO_STAFF[role])
    # A patient part-way through booking: the intake steps have a flow to read.
    slots = client.get("/api/v1/availability?service=first-visit&days=31").get_json()["slots"]
    services = client.get("/api/v1/services").get_json()["services"]
    first = next(s["id"] for s in services if s["slug"] == "first-visit")
    client.post("/book/hold", data={"service": first, "start": slots[0]["start"]})
    client.post("/book/details", data={  # so the intake's steps open too
        "first_name": "Fuzz", "last_name": "Tester", "date_of_birth": "1980-05-17",
        "email": "fuzz@example.com", "phone": "555 010 2030",
    })
    return client


def fuzz(app: Flask, role: RoleName | None, record: Callable[[str, object], None]) -> None:
    client, known = client_for(app, role), Known(app)
    rules = rules_for(app, role)
    assert rules, "no routes to fuzz"
    statuses: Counter[int] = Counter()
    failures: dict[tuple[str, str, str], dict] = {}
    endpoint_of = endpoint_finder(app)

    @settings(max_examples=EXAMPLES[role] * SCALE, deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    @given(request=requests(rules, known))
    def one_request(request: dict) -> None:
        # Every failure is collected (not raised), so one run lists them all, each kind once.
        try:
            status = send(client, request).status_code
        except Exception as error:  # TESTING propagates what would be a 500
            status, why = 500, f"{type(error).__name__}: {error}"[:200]
        else:
            why = str(status)
        statuses[status] += 1
        if status >= 500:
            failures.setdefault((request["method"], endpoint_of(request), why), request)

    try:
        one_request()
    finally:
        who = role.value if role else "anonymous"
        mix = ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))
        summary = f"fuzz {who} on {db_name(app)}: {statuses.total()} requests ({mix})"
        print(summary)
        record("fuzz", summary)
    assert not failures, "\n".join(
        f"{method} {endpoint} -> {why}\n    {shown(request)}"
        for (method, endpoint, why), request in failures.items()
    )


def shown(request: dict) -> str:
    return repr({k: (v[:200] if isinstance(v, str) else v) for k, v in request.items()})[:600]


def endpoint_finder(app: Flask) -> Callable[[dict], str]:
    adapter = app.url_map.bind("localhost")

    def endpoint_of(request: dict) -> str:
        try:
            return adapter.match(request["path"], method=request["method"])[0]
        except Exception as error:
            return type(error).__name__

    return endpoint_of


def db_name(app: Flask) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0].split("+")[0]


@pytest.mark.parametrize("role", [None, RoleName.FRONT_DESK, RoleName.PRACTITIONER,
                                  RoleName.ADMIN], ids=lambda r: r.value if r else "anonymous")
def test_no_input_gets_a_server_error(app, role, record_property):
    fuzz(app, role, record_property)


def test_the_fuzzer_reaches_every_route():
    """Every rule is fuzzed by someone: anonymous visitors or at least one staff role."""
    app = create_app(dict(BASE_TEST_CONFIG))  # only its URL map is read: no database
    reached = {rule.endpoint for role in (None, *RoleName) for rule in rules_for(app, role)}
    missing = {r.endpoint for r in app.url_map.iter_rules()} - reached - SKIPPED
    assert not missing, missing
