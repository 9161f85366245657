"""Admin pages, driven through the pages as an admin would, on both engines.

Each change must land in the database and in the audit log, and bad input must come back with
its message next to the field and what was typed still in the form.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from booking.accounts.models import RoleName, User
from booking.admin.hours import interval_problems
from booking.audit.models import AuditEvent
from booking.clinic.models import Clinic
from booking.extensions import db
from booking.intake.models import ConsentText
from booking.intake.service import current_consent
from booking.scheduling.models import ClinicClosure, Practitioner, Service, WorkingHours
from tests.helpers import DEMO_STAFF

ADMIN = "/staff/admin"
ADMIN_EMAIL = DEMO_STAFF[RoleName.ADMIN]


def text(response) -> str:
    return response.get_data(as_text=True)


def error_next_to(html: str, field_id: str, extra_class: str = "") -> str:
    """The error message rendered by the field (not only in the summary), linked by its id."""
    classes = f"error-message {extra_class}".strip()
    match = re.search(
        rf'<span class="{classes}" id="{re.escape(field_id)}-error">'
        rf'<span class="visually-hidden">Error:</span> ([^<]*)</span>',
        html,
    )
    assert match, f"no error message next to #{field_id}"
    return match.group(1)


def value_of(html: str, field_id: str) -> str | None:
    match = re.search(rf'<input[^>]*id="{re.escape(field_id)}"[^>]*>', html)
    assert match, f"no input #{field_id}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def audit_events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        events = db.session.scalars(query).all()
        db.session.expunge_all()
        return events


def admin_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL))


def practitioner_id(app, slug: str = "maya-chen") -> int:
    with app.app_context():
        return db.session.scalar(select(Practitioner.id).where(Practitioner.slug == slug))


# --- services --------------------------------------------------------------------------------


def service_form(**overrides) -> dict:
    data = {
        "name": "Manual therapy",
        "slug": "manual-therapy",
        "description": "Hands-on treatment for returning patients.",
        "kind": "follow_up",
        "minutes": "40",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "10",
        "active": "y",
    }
    data.update(overrides)
    return data


def test_admin_creates_a_service_with_its_practitioners(app, admin):
    maya, lena = practitioner_id(app), practitioner_id(app, "lena-fischer")
    form = service_form(practitioners=[str(maya), str(lena)])

    response = admin.post(f"{ADMIN}/services/new", data=form)

    assert response.status_code == 302
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.slug == "manual-therapy"))
        assert (service.minutes, service.buffer_after_minutes, service.kind) == (
            40, 10, "follow_up"
        )
        assert sorted(p.id for p in service.practitioners) == sorted([maya, lena])
        service_id = service.id
    [event] = audit_events(app, "service.created")
    assert (event.actor_id, event.subject_type, event.subject_id) == (
        admin_id(app), "service", service_id
    )
    assert "Manual therapy" in text(admin.get(f"{ADMIN}/services"))


def test_service_errors_show_next_to_fields_and_keep_what_was_typed(app, admin):
    response = admin.post(
        f"{ADMIN}/services/new",
        data=service_form(slug="Manual Therapy!", minutes="two", buffer_after_minutes="500"),
    )

    assert response.status_code == 422
    html = text(response)
    assert "lower-case letters" in error_next_to(html, "slug")
    assert error_next_to(html, "minutes") == "Enter a whole number, like 30."
    assert error_next_to(html, "buffer_after_minutes") == "Enter a number from 0 to 120."
    assert value_of(html, "slug") == "Manual Therapy!"
    assert value_of(html, "minutes") == "two"
    assert value_of(html, "name") == "Manual therapy"
    assert 'class="error-summary"' in html
    with app.app_context():
        assert db.session.scalar(select(Service).where(Service.name == "Manual therapy")) is None
    assert audit_events(app, "service.created") == []


def test_service_slug_must_be_unique(admin):
    response = admin.post(f"{ADMIN}/services/new", data=service_form(slug="follow-up"))
    assert response.status_code == 422
    assert "already uses" in error_next_to(text(response), "slug")


def test_editing_a_service_records_what_changed(app, admin):
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.slug == "follow-up"))
        service_id, offered = service.id, [str(p.id) for p in service.practitioners]
    page = text(admin.get(f"{ADMIN}/services/{service_id}"))
    assert value_of(page, "minutes") == "30"

    response = admin.post(
        f"{ADMIN}/services/{service_id}",
        data=service_form(name="Follow-up dry needling", slug="follow-up", minutes="35",
                          buffer_after_minutes="5", description="A treatment session for "
                          "returning patients.", practitioners=offered),
    )

    assert response.status_code == 302
    [event] = audit_events(app, "service.updated")
    assert event.subject_id == service_id
    assert event.details["changes"] == {"minutes": {"from": 30, "to": 35}}


def test_a_refused_edit_changes_nothing(app, admin):
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.slug == "follow-up"))
        service_id, name, offered = service.id, service.name, sorted(
            p.id for p in service.practitioners
        )
    response = admin.post(
        f"{ADMIN}/services/{service_id}",
        data=service_form(name="Renamed", slug="follow-up", minutes="two", practitioners=[]),
    )

    assert response.status_code == 422
    with app.app_context():
        service = db.session.get(Service, service_id)
        assert (service.name, service.minutes) == (name, 30)
        assert sorted(p.id for p in service.practitioners) == offered
    assert audit_events(app, "service.updated") == []


@pytest.mark.parametrize("editing", [False, True], ids=["new", "edit"])
def test_practitioner_errors_answer_422_and_save_nothing(app, admin, editing):
    pid = practitioner_id(app)
    with app.app_context():
        before = db.session.scalar(select(func.count(Practitioner.id)))
    path = f"{ADMIN}/practitioners/{pid}" if editing else f"{ADMIN}/practitioners/new"
    response = admin.post(path, data={
        "name": "Ola Berg", "slug": "Ola Berg!", "title": "Physiotherapist", "bio": "",
        "active": "y", "user_id": "0", "services": [],
    })

    assert response.status_code == 422
    assert "lower-case letters" in error_next_to(text(response), "slug")
    with app.app_context():
        assert db.session.scalar(select(func.count(Practitioner.id))) == before
        assert db.session.get(Practitioner, pid).name != "Ola Berg"
    assert [e for e in audit_events(app) if e.subject_type == "practitioner"] == []


# --- practitioners and weekly hours ----------------------------------------------------------


def hours_form(week: dict[int, list[tuple[str, str]]], action: str = "save") -> dict:
    data = {"action": action}
    for day in range(7):
        data[f"days-{day}-weekday"] = str(day)
        for n, (starts, ends) in enumerate(week.get(day, [])):
            data[f"days-{day}-intervals-{n}-starts"] = starts
            data[f"days-{day}-intervals-{n}-ends"] = ends
    return data


def stored_hours(app, pid: int) -> list[tuple[int, time, time]]:
    with app.app_context():
        rows = db.session.scalars(
            select(WorkingHours).where(WorkingHours.practitioner_id == pid)
            .order_by(WorkingHours.weekday, WorkingHours.starts)
        )
        return [(h.weekday, h.starts, h.ends) for h in rows]


def test_weekly_hours_with_two_intervals_a_day_are_saved_and_audited(app, admin):
    pid = practitioner_id(app, "sam-okafor")
    page = text(admin.get(f"{ADMIN}/practitioners/{pid}/hours"))
    assert value_of(page, "days-0-intervals-0-starts") == "10:00"

    week = {0: [("08:00", "12:00"), ("13:00", "17:30")], 2: [("09:00", "12:00")]}
    response = admin.post(f"{ADMIN}/practitioners/{pid}/hours", data=hours_form(week))

    assert response.status_code == 302
    assert stored_hours(app, pid) == [
        (0, time(8), time(12)), (0, time(13), time(17, 30)), (2, time(9), time(12)),
    ]
    [event] = audit_events(app, "practitioner.hours_changed")
    assert event.subject_id == pid and event.actor_id == admin_id(app)
    assert event.details["after"] == {"Monday": ["08:00–12:00", "13:00–17:30"],
                                      "Wednesday": ["09:00–12:00"]}
    assert "Saturday" in event.details["before"]


def test_overlapping_or_backwards_intervals_are_refused_next_to_the_field(app, admin):
    pid = practitioner_id(app, "sam-okafor")
    before = stored_hours(app, pid)
    week = {0: [("08:00", "12:00"), ("11:30", "15:00")], 1: [("14:00", "09:00")]}

    response = admin.post(f"{ADMIN}/practitioners/{pid}/hours", data=hours_form(week))

    assert response.status_code == 422
    html = text(response)
    overlap = error_next_to(html, "days-0-intervals-1-starts", "interval-error")
    assert "overlaps 08:00–12:00" in overlap
    assert error_next_to(html, "days-1-intervals-0-ends", "interval-error") == (
        "To: The end must be after the start."
    )
    assert value_of(html, "days-0-intervals-1-starts") == "11:30"
    assert value_of(html, "days-1-intervals-0-starts") == "14:00"
    assert "Monday, interval 2" in html  # the summary names the day and the row
    assert stored_hours(app, pid) == before
    assert audit_events(app, "practitioner.hours_changed") == []


def test_add_and_remove_interval_buttons_work_without_javascript(app, admin):
    pid = practitioner_id(app, "sam-okafor")
    before = stored_hours(app, pid)
    week = {0: [("08:00", "12:00")]}

    response = admin.post(f"{ADMIN}/practitioners/{pid}/hours",
                          data=hours_form(week, action="add-0"))
    assert response.status_code == 200  # a row added while editing is no error
    added = text(response)
    assert value_of(added, "days-0-intervals-0-starts") == "08:00"  # kept
    assert value_of(added, "days-0-intervals-1-starts") in (None, "")  # a new, empty row
    assert 'value="add-4"' in added  # every day offers its own button

    two = {0: [("08:00", "12:00"), ("13:00", "16:00")]}
    removed = text(admin.post(f"{ADMIN}/practitioners/{pid}/hours",
                              data=hours_form(two, action="remove-0-0")))
    assert value_of(removed, "days-0-intervals-1-starts") == "13:00"
    assert 'id="days-0-intervals-0-starts"' not in removed

    assert stored_hours(app, pid) == before  # nothing is saved until "Save"


@pytest.mark.parametrize(
    ("intervals", "expected"),
    [
        ([(time(8), time(12)), (time(12), time(13))], []),  # touching is fine
        ([(time(8), time(17)), (time(9), time(10)), (time(11), time(12))],
         [(1, "starts"), (2, "starts")]),  # both inside the long one
        ([(time(9), None)], [(0, "ends")]),
        ([(None, None)], []),  # an empty row is ignored
        ([(time(9), time(9))], [(0, "ends")]),
    ],
)
def test_interval_rules(intervals, expected):
    assert [(p.index, p.field) for p in interval_problems(intervals)] == expected


def test_admin_adds_a_practitioner_then_sets_their_hours(app, admin):
    with app.app_context():
        follow_up = db.session.scalar(select(Service.id).where(Service.slug == "follow-up"))
    response = admin.post(f"{ADMIN}/practitioners/new", data={
        "name": "Ola Berg", "slug": "ola-berg", "title": "Physiotherapist", "bio": "",
        "active": "y", "user_id": "0", "services": [str(follow_up)],
    })
    assert response.status_code == 302
    pid = practitioner_id(app, "ola-berg")
    assert response.location.endswith(f"/practitioners/{pid}/hours")
    assert [e.subject_id for e in audit_events(app, "practitioner.created")] == [pid]


# --- closures and policy ---------------------------------------------------------------------


def test_admin_adds_and_removes_a_closure(app, admin):
    first = date.today() + timedelta(days=30)
    response = admin.post(f"{ADMIN}/closures", data={
        "first_day": first.isoformat(), "last_day": (first + timedelta(days=1)).isoformat(),
        "reason": "Staff training",
    })
    assert response.status_code == 302
    with app.app_context():
        closure = db.session.scalar(select(ClinicClosure))
        assert (closure.first_day, closure.last_day, closure.reason) == (
            first, first + timedelta(days=1), "Staff training"
        )
        closure_id = closure.id
    assert "Staff training" in text(admin.get(f"{ADMIN}/closures"))

    assert admin.post(f"{ADMIN}/closures/{closure_id}/remove").status_code == 302
    with app.app_context():
        assert db.session.get(ClinicClosure, closure_id) is None
    assert [e.action for e in audit_events(app) if e.subject_type == "clinic_closure"] == [
        "closure.added", "closure.removed"
    ]


def test_a_closure_cannot_end_before_it_starts(app, admin):
    response = admin.post(f"{ADMIN}/closures", data={
        "first_day": "2027-01-10", "last_day": "2027-01-09", "reason": "Oops",
    })
    assert response.status_code == 422
    html = text(response)
    assert error_next_to(html, "last_day") == "The last day cannot be before the first day."
    assert value_of(html, "first_day") == "2027-01-10"
    with app.app_context():
        assert db.session.scalar(select(func.count(ClinicClosure.id))) == 0


def policy_form(**overrides) -> dict:
    data = {
        "name": "Riverside Back Pain Clinic", "address": "12 Riverside Avenue",
        "phone": "(555) 010-2030", "email": "hello@riverside-clinic.example",
        "timezone": "America/New_York", "min_notice_minutes": "120", "horizon_days": "60",
        "hold_minutes": "10", "cancellation_window_hours": "24", "slot_step_minutes": "30",
    }
    data.update(overrides)
    return data


def test_policy_errors_show_next_to_fields_and_nothing_is_saved(app, admin):
    response = admin.post(f"{ADMIN}/policy", data=policy_form(
        timezone="Mars/Olympus_Mons", hold_minutes="0", slot_step_minutes="3", horizon_days="",
        email="not an email",
    ))

    assert response.status_code == 422
    html = text(response)
    assert "IANA" in error_next_to(html, "timezone")
    assert error_next_to(html, "hold_minutes") == "Enter a number from 1 to 60."
    assert error_next_to(html, "slot_step_minutes") == "Enter a number from 5 to 120."
    assert error_next_to(html, "horizon_days") == "Enter a number."
    assert "email address" in error_next_to(html, "email")
    assert value_of(html, "timezone") == "Mars/Olympus_Mons"
    assert value_of(html, "hold_minutes") == "0"
    with app.app_context():
        clinic = db.session.get(Clinic, 1)
        assert (clinic.timezone, clinic.hold_minutes) == ("America/New_York", 10)
    assert audit_events(app, "clinic.policy_updated") == []


def test_policy_change_is_saved_and_audited(app, admin):
    response = admin.post(f"{ADMIN}/policy", data=policy_form(
        hold_minutes="15", cancellation_window_hours="48", timezone="America/Chicago",
    ))
    assert response.status_code == 302
    with app.app_context():
        clinic = db.session.get(Clinic, 1)
        assert (clinic.hold_minutes, clinic.cancellation_window_hours, clinic.timezone) == (
            15, 48, "America/Chicago"
        )
    [event] = audit_events(app, "clinic.policy_updated")
    assert event.details["changes"]["hold_minutes"] == {"from": 10, "to": 15}
    assert set(event.details["changes"]) == {
        "hold_minutes", "cancellation_window_hours", "timezone", "address"
    }


# --- consent text versions -------------------------------------------------------------------


def test_a_new_consent_version_becomes_the_active_one_and_old_ones_stay(app, admin):
    with app.app_context():
        first = current_consent()
        first_id, first_text = first.id, first.text
        db.session.commit()
    page = text(admin.get(f"{ADMIN}/consent"))
    assert first_text.split("\n")[0][:40] in page  # the form starts with the current text

    response = admin.post(f"{ADMIN}/consent", data={
        "version": "2027-01", "text": "New consent wording.\r\n\r\nSecond paragraph.",
    })

    assert response.status_code == 302
    with app.app_context():
        assert current_consent().version == "2027-01"
        old = db.session.get(ConsentText, first_id)
        assert (old.active, old.text) == (False, first_text)
    [event] = audit_events(app, "consent.version_added")
    assert event.details == {"version": "2027-01"}
    old_page = text(admin.get(f"{ADMIN}/consent/{first_id}"))
    assert "read only" in old_page and "<form" not in old_page.split("<main")[1]

    again = admin.post(f"{ADMIN}/consent", data={"version": "2027-01", "text": "Other."})
    assert again.status_code == 422
    assert "exists" in error_next_to(text(again), "version")
    with app.app_context():
        assert db.session.scalar(select(func.count(ConsentText.id))) == 2
        active = current_consent()
        assert (active.version, active.text.startswith("New consent wording.")) == (
            "2027-01", True
        )
    assert len(audit_events(app, "consent.version_added")) == 1


# --- the audit log ---------------------------------------------------------------------------


def test_audit_log_is_newest_first_filterable_and_paginated(app, admin):
    with app.app_context():
        for n in range(60):
            db.session.add(AuditEvent(action="intake.viewed", subject_type="intake",
                                      subject_id=n % 3 + 1, details={"n": n}))
        db.session.add(AuditEvent(action="appointment.moved", subject_type="appointment",
                                  subject_id=7, details={"from": "a", "to": "b"}))
        db.session.commit()

    first_page = text(admin.get(f"{ADMIN}/audit"))
    assert "61 entries, page 1 of 2" in first_page
    assert first_page.index("appointment.moved") < first_page.index("intake.viewed")
    assert "Older entries" in first_page

    only = text(admin.get(f"{ADMIN}/audit?subject_type=intake&subject_id=2"))
    assert "20 entries" in only and "appointment.moved" not in only
    second = text(admin.get(f"{ADMIN}/audit?subject_type=intake&page=2"))
    assert "page 2 of 2" in second

    refused = admin.get(f"{ADMIN}/audit?subject_type=intake&subject_id=0")
    assert refused.status_code == 422
    assert error_next_to(text(refused), "subject_id") == "Enter 1 or more."
    assert "61 entries" in text(refused)  # the filter is not applied


def test_no_route_edits_or_deletes_audit_events(app, admin):
    audit_rules = [r for r in app.url_map.iter_rules()
                   if "audit" in r.rule or "audit" in r.endpoint]
    assert audit_rules, "the audit log page is missing"
    for rule in audit_rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    for method in ("post", "put", "patch", "delete"):
        assert getattr(admin, method)(f"{ADMIN}/audit").status_code == 405
    # Nor does any admin action remove an event: the log only grows.
    admin.post(f"{ADMIN}/closures", data={"first_day": "2027-02-01", "reason": "x"})
    count = len(audit_events(app))
    closure_id = audit_events(app, "closure.added")[0].subject_id
    admin.post(f"{ADMIN}/closures/{closure_id}/remove")
    assert len(audit_events(app)) == count + 1
