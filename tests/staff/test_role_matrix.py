"""Every staff route checks its role: each role against each page, anonymous included; and
every answer, page or refusal, is neither cached nor framed.

The routes are read from the app's URL map, so pages added later (front desk, clinician) are
covered without touching this file: every view under /staff/ must name its roles through
`staff_required` (booking/web/roles.py), which sets `.required_roles`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask import Flask, url_for
from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter, IntegerConverter

from booking import create_app
from booking.accounts.models import RoleName
from booking.extensions import db
from booking.intake.models import CallBack, Intake
from booking.intake.screening import screen
from booking.intake.service import current_consent
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, ClinicClosure, Practitioner, Service, TimeOff
from tests.helpers import BASE_TEST_CONFIG, DEMO_STAFF, csrf_token_in, make_staff_app, sign_in

ROLES: tuple[RoleName | None, ...] = (None, *RoleName)
READS = frozenset({"GET"})
# URL parameters whose name does not say their table.
TABLE_ALIASES = {"consent": "consent_text", "closure": "clinic_closure", "entry": "waitlist_entry"}
PLACEHOLDER_ID = 999_999  # role checks run before any lookup, so refusals need no real row


# An app built at collection time, only to read its routes (it touches no database).
_APP = create_app(dict(BASE_TEST_CONFIG))
RULES = sorted(_APP.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))
GUARDED = [r for r in RULES if hasattr(_APP.view_functions[r.endpoint], "required_roles")]


def _required(app: Flask, rule: Rule) -> frozenset[RoleName]:
    return app.view_functions[rule.endpoint].required_roles


def test_every_staff_route_names_its_roles():
    unguarded = [
        f"{rule.rule} ({rule.endpoint})"
        for rule in RULES
        if rule.rule.startswith("/staff")
        and not rule.endpoint.startswith("security.")  # sign-in pages: Flask-Security's own
        and not hasattr(_APP.view_functions[rule.endpoint], "required_roles")
    ]
    assert not unguarded, "staff routes without staff_required(...):\n" + "\n".join(unguarded)


def test_the_matrix_covers_pages_of_every_staff_area():
    endpoints = {rule.endpoint for rule in GUARDED}
    assert {"staff.home", "admin.index", "admin.practitioner_hours", "admin.audit_log"} <= endpoints
    # A first visit's questionnaire filled in by the desk with the patient on the phone.
    assert {"desk.questions", "desk.question_step", "desk.question_consent",
            "desk.questions_outcome"} <= endpoints


# --- URL values built from seeded rows -------------------------------------------------------


def seed_subjects() -> None:
    """Rows for the pages that show one thing: an intake, a call-back, time off, a closure."""
    patient = db.session.scalars(select(Patient).order_by(Patient.id)).first()
    appointment = db.session.scalars(
        select(Appointment).where(Appointment.patient_id == patient.id)
    ).first()
    today = datetime.now(UTC).date()
    screening = screen({"date_of_birth": "1971-04-02"}, today)
    intake = Intake(
        patient_id=patient.id,
        appointment_id=appointment.id if appointment else None,
        kind="first_visit",
        questionnaire_version="test",
        answers={"date_of_birth": "1971-04-02"},
        ruleset_version=screening.ruleset_version,
        tier=screening.tier.value,
        screening=screening.to_dict(),
    )
    db.session.add(intake)
    db.session.flush()
    db.session.add(CallBack(patient_id=patient.id, intake_id=intake.id))
    practitioner = db.session.scalars(select(Practitioner)).first()
    start = datetime.combine(today + timedelta(days=20), time(15), UTC)
    ends = start + timedelta(hours=2)
    db.session.add(TimeOff(practitioner_id=practitioner.id, starts_at=start, ends_at=ends))
    db.session.add(ClinicClosure(first_day=today + timedelta(days=40),
                                 last_day=today + timedelta(days=41), reason="Training"))
    _add_waitlist_entry(patient, db.session.scalars(select(Service)).first())
    current_consent()
    db.session.flush()


def _add_waitlist_entry(patient: Patient, service: Service) -> None:
    from booking.scheduling import models

    entry_model = getattr(models, "WaitlistEntry", None)
    if entry_model is not None:
        db.session.add(entry_model(patient_id=patient.id, service_id=service.id,
                                   earliest_start=time(8), latest_end=time(18)))


def url_values(rule: Rule) -> dict[str, object]:
    """A value for each of the rule's parameters: the first row of the table it names."""
    values: dict[str, object] = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = next(iter(converter.items))
        elif isinstance(converter, IntegerConverter) or name.endswith("_id"):
            values[name] = _first_id(name.removesuffix("_id"))
        elif name == "step_id":
            values[name] = "pain"  # the questionnaire's first step
        elif "day" in name or "date" in name or "week" in name:
            values[name] = date.today().isoformat()
        else:
            values[name] = "x"
    return values


def _first_id(subject: str) -> int:
    table = db.metadata.tables.get(TABLE_ALIASES.get(subject, subject))
    if table is None:
        return PLACEHOLDER_ID
    return db.session.scalar(select(func.min(table.c.id))) or PLACEHOLDER_ID


# --- the matrix ------------------------------------------------------------------------------


@pytest.fixture
def urls(app: Flask) -> dict[str, str]:
    """Each guarded endpoint's URL, with parameters taken from seeded rows."""
    with app.test_request_context():
        seed_subjects()
        db.session.commit()
        return {rule.endpoint: url_for(rule.endpoint, **url_values(rule)) for rule in GUARDED}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_each_role_against_each_staff_page(app, client_for, urls, role):
    client = client_for(role)
    problems = []
    for rule in GUARDED:
        url = urls[rule.endpoint]
        allowed = role is not None and role in _required(app, rule)
        reads = bool(rule.methods & READS)
        if allowed and not reads:
            continue  # posting for real would change things; refusals are checked below
        response = client.get(url) if reads else client.post(url)
        status = response.status_code
        where = f"{'GET' if reads else 'POST'} {url} ({rule.endpoint}) as {role or 'anonymous'}"
        if url.startswith("/staff/") and not _not_stored_nor_framed(response):
            problems.append(f"{where}: may be cached or framed {dict(response.headers)}")
        if role is None:
            if status not in (302, 401) or (
                status == 302 and "/staff/login" not in response.location
            ):
                problems.append(f"{where}: {status} {response.location or ''}, not the login page")
        elif not allowed:
            if status != 403:
                problems.append(f"{where}: {status}, expected 403")
        elif status in (401, 403) or status >= 500 or "/staff/login" in (response.location or ""):
            problems.append(f"{where}: {status} {response.location or ''}, expected the page")
    assert not problems, "\n".join(problems)


def _not_stored_nor_framed(response) -> bool:
    return (
        response.headers.get("Cache-Control") == "no-store"
        and response.headers.get("X-Frame-Options") == "DENY"
        and "frame-ancestors 'none'" in response.headers.get("Content-Security-Policy", "")
    )


# --- CSRF on every form ----------------------------------------------------------------------

POSTS = [r for r in RULES if r.rule.startswith("/staff") and "POST" in r.methods]


def test_every_staff_form_refuses_a_post_without_its_csrf_token(make_app, app, urls):
    csrf_app = make_staff_app(make_app, WTF_CSRF_ENABLED=True)  # same database
    client = sign_in(csrf_app.test_client(), DEMO_STAFF[RoleName.ADMIN])  # with the form's token

    accepted = []
    for rule in POSTS:
        url = urls.get(rule.endpoint) or _security_url(csrf_app, rule)
        response = client.post(url, data={})
        if response.status_code != 400:
            accepted.append(f"POST {url} ({rule.endpoint}): {response.status_code}")
    assert not accepted, "accepted without a CSRF token:\n" + "\n".join(accepted)
    assert client.get("/staff/").status_code == 200  # still signed in: nothing went through

    # With the token the same kind of request goes through: the 400s were the CSRF check.
    page = client.get("/staff/admin/closures").get_data(as_text=True)
    added = client.post("/staff/admin/closures", data={
        "first_day": "2027-03-01", "reason": "Inventory", "csrf_token": csrf_token_in(page),
    })
    assert added.status_code == 302


def _security_url(app: Flask, rule: Rule) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **url_values(rule))
