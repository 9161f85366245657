"""The desk books a series from the patient page: plan, preview, "Book the series" (CSRF),
all visits or none; follow-ups only for a patient with a completed first-visit questionnaire."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import select

from booking.clinical.models import VisitOutcome
from booking.extensions import db
from booking.notify.models import OutboxMessage
from booking.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    VisitSeries,
)
from tests.desk.helpers import DESK_EMAIL, TODAY, add, local, visit
from tests.factories import make_patient
from tests.helpers import STAFF_PASSWORD, csrf_token_in, make_staff_app, sign_in

FIRST_DAY = date(2026, 11, 30)  # the Monday after the frozen one


def plan(clinic, **changes) -> dict[str, str]:
    return {"service": str(clinic.follow_up), "practitioner": str(clinic.maya),
            "first_day": FIRST_DAY.isoformat(), "time": "10:00", "every_weeks": "2",
            "count": "3", **changes}


def visits_of(app: Flask, patient_id: int) -> list[Appointment]:
    with app.app_context():
        found = list(db.session.scalars(
            select(Appointment).where(Appointment.patient_id == patient_id,
                                      Appointment.status.in_(ACTIVE_STATUSES))
            .order_by(Appointment.starts_at)))
        db.session.expunge_all()
        return found


def test_the_patient_page_offers_a_series(desk, clinic):
    page = desk.get(f"/staff/desk/patients/{clinic.ana}").get_data(as_text=True)
    assert f'href="/staff/desk/patients/{clinic.ana}/series"' in page
    form = desk.get(f"/staff/desk/patients/{clinic.ana}/series")
    assert form.status_code == 200
    assert "series-visits" not in form.get_data(as_text=True)  # no preview before a plan


def test_the_desk_previews_then_books_the_whole_series(app, desk, clinic):
    url = f"/staff/desk/patients/{clinic.ana}/series"
    preview = desk.get(url, query_string=plan(clinic))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and html.count(">Free<") == 3
    assert "Book the series" in html and visits_of(app, clinic.ana) == []

    starts = [local(FIRST_DAY + timedelta(weeks=2 * n), 10) for n in range(3)]
    data = {**plan(clinic), **{f"visit-{n}": s.isoformat() for n, s in enumerate(starts, 1)}}
    booked = desk.post(url, data=data)
    assert booked.status_code == 303 and booked.location.endswith(f"/patients/{clinic.ana}")
    assert [v.starts_at for v in visits_of(app, clinic.ana)] == starts
    shown = desk.get(booked.location).get_data(as_text=True)
    assert "Booked 3 visits for Ana Silva with Maya Chen" in shown
    with app.app_context():
        series = db.session.scalars(select(VisitSeries)).one()
        assert (series.source, series.every_weeks, series.visit_count) == ("desk", 2, 3)
        kinds = list(db.session.scalars(select(OutboxMessage.kind)))
        assert kinds.count("series_booked") == 1


def test_a_left_out_week_books_the_rest(app, desk, clinic):
    url = f"/staff/desk/patients/{clinic.ana}/series"
    first = local(FIRST_DAY, 10)
    booked = desk.post(url, data={**plan(clinic, count="2"), "visit-1": first.isoformat(),
                                  "visit-2": ""})
    assert booked.status_code == 303
    assert [v.starts_at for v in visits_of(app, clinic.ana)] == [first]


def test_a_follow_up_series_needs_a_first_visit_questionnaire(app, desk, clinic):
    cleo = add(app, lambda: make_patient(first_name="Cleo", last_name="Novak").id)
    url = f"/staff/desk/patients/{cleo}/series"
    data = {**plan(clinic), "visit-1": local(FIRST_DAY, 10).isoformat()}
    refused = desk.post(url, data=data)
    assert refused.status_code == 422
    assert "no completed first-visit questionnaire" in refused.get_data(as_text=True)
    assert visits_of(app, cleo) == []


def test_bad_input_gets_a_clear_4xx(app, desk, clinic):
    url = f"/staff/desk/patients/{clinic.ana}/series"
    page = desk.get(url, query_string=plan(clinic, first_day="2026-02-30", time="25:00",
                                           count="99", practitioner="²"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "series-visits" not in html
    assert "Number of visits" in html and "Not a valid choice" in html
    garbled = desk.post(url, data={**plan(clinic), "visit-1": "next tuesday"})
    assert garbled.status_code == 422
    assert "could not be read" in garbled.get_data(as_text=True)
    overlapping = desk.post(url, data={**plan(clinic), "visit-1": local(FIRST_DAY, 10).isoformat(),
                                       "visit-2": local(FIRST_DAY, 10, 15).isoformat()})
    assert overlapping.status_code == 422
    assert desk.get("/staff/desk/patients/99999/series").status_code == 404
    assert visits_of(app, clinic.ana) == []


def test_book_the_series_needs_the_forms_csrf_token(make_app, clinic):
    app = make_staff_app(make_app, WTF_CSRF_ENABLED=True, STAFF_IDLE_MINUTES=10**6)
    client = sign_in(app.test_client(), DESK_EMAIL, STAFF_PASSWORD)
    url = f"/staff/desk/patients/{clinic.ana}/series"
    data = {**plan(clinic, count="2"), "visit-1": local(FIRST_DAY, 10).isoformat()}
    assert client.post(url, data=data).status_code == 400  # refused before the view
    assert visits_of(app, clinic.ana) == []
    token = csrf_token_in(client.get(url, query_string=plan(clinic, count="2")).get_data(
        as_text=True))
    assert client.post(url, data={**data, "csrf_token": token}).status_code == 303
    assert len(visits_of(app, clinic.ana)) == 1


# --- The series a practitioner planned on a visit outcome --------------------------------------


def planned_by_maya(app: Flask, clinic, when, weeks: int, visits: int) -> int:
    """Ana's first visit with Maya at `when`, its outcome planning a series; the visit's id."""

    def record():
        visit_id = visit(clinic, when, status=AppointmentStatus.COMPLETED,
                         service=clinic.first_visit)
        db.session.add(VisitOutcome(
            appointment_id=visit_id, pain_now=4, bad_days_week=2,
            response="Twitch responses in quadratus lumborum", plan="Weekly, home stretches",
            series_every_weeks=weeks, series_visits=visits,
        ))
        return visit_id

    return add(app, record)


def suggestion_link(page: str) -> str:
    found = re.search(r'<a class="button" href="([^"]+)">Book this series</a>', page)
    assert found, page
    return html.unescape(found.group(1))


def test_the_patient_page_offers_the_series_the_practitioner_planned(app, desk, clinic):
    planned_by_maya(app, clinic, local(date(2026, 11, 18), 14, 30), weeks=1, visits=4)
    page = desk.get(f"/staff/desk/patients/{clinic.ana}").get_data(as_text=True)
    assert "Maya Chen suggests a follow-up every week × 4 visits" in page
    assert "Twitch" not in page and "stretches" not in page  # the plan's words stay clinical

    link = suggestion_link(page)
    assert link.startswith(f"/staff/desk/patients/{clinic.ana}/series?")
    preview = desk.get(link)
    shown = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert f'<option selected value="{clinic.follow_up}">' in shown
    assert f'<option selected value="{clinic.maya}">' in shown
    assert re.search(r'name="first_day"[^>]*value="2026-11-25"', shown)  # a week after
    assert re.search(r'name="time"[^>]*value="14:30"', shown)  # the visit's local time
    assert '<option selected value="1">Every week</option>' in shown
    assert '<option selected value="4">4</option>' in shown
    assert shown.count(">Free<") == 4


def test_a_planned_series_whose_week_has_passed_starts_tomorrow(app, desk, clinic):
    planned_by_maya(app, clinic, local(date(2026, 11, 2), 9, 0), weeks=2, visits=3)
    page = desk.get(f"/staff/desk/patients/{clinic.ana}").get_data(as_text=True)
    assert "Maya Chen suggests a follow-up every 2 weeks × 3 visits" in page
    query = parse_qs(urlsplit(suggestion_link(page)).query)
    assert query["first_day"] == [(TODAY + timedelta(days=1)).isoformat()]
    assert (query["time"], query["every_weeks"], query["count"]) == (["09:00"], ["2"], ["3"])


def test_no_plan_no_suggestion_and_only_the_latest_outcome_counts(app, desk, clinic):
    planned_by_maya(app, clinic, local(date(2026, 11, 2), 9, 0), weeks=1, visits=4)
    planned_by_maya(app, clinic, local(date(2026, 11, 16), 9, 0), weeks=None, visits=None)
    page = desk.get(f"/staff/desk/patients/{clinic.ana}").get_data(as_text=True)
    assert "suggests a follow-up" not in page and "Book this series" not in page
    bens = desk.get(f"/staff/desk/patients/{clinic.ben}").get_data(as_text=True)
    assert "suggests a follow-up" not in bens
