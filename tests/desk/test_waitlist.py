"""The waitlist: freed times are offered by email to the patients they suit, first come first
served through the normal hold."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from booking.extensions import db
from booking.notify.models import OutboxMessage
from booking.patients.models import Patient
from booking.scheduling.availability import Slot
from booking.scheduling.models import Service, WaitlistEntry, WaitlistStatus
from booking.scheduling.waitlist import add_to_waitlist, offer_freed_time
from tests.clinician.helpers import add_intake
from tests.desk.helpers import NOW, add, local, visit
from tests.factories import make_patient
from tests.helpers import sign_in_returning_patient

TUESDAY = date(2026, 11, 24)
FRIDAY = date(2026, 11, 27)
MORNING = (time(0, 0), time(12, 0))
AFTERNOON = (time(12, 0), time(17, 0))


def entry(clinic, name, *, service=None, practitioner=None, weekdays=(), window=None,
          appointment_id=None, minutes=0, status=WaitlistStatus.WAITING):
    patient = make_patient(first_name=name, last_name="Waiting",
                           email=f"{name.lower()}@example.com")
    earliest, latest = window or (time(0, 0), time(23, 59))
    row = add_to_waitlist(
        patient, db.session.get(Service, service or clinic.follow_up),
        practitioner_id=practitioner, weekdays=weekdays, earliest_start=earliest,
        latest_end=latest, appointment_id=appointment_id,
    )
    row.created_at = NOW - timedelta(days=10) + timedelta(minutes=minutes)
    row.status = status
    db.session.flush()
    return name


@pytest.fixture
def waiting(app, clinic):
    """Ana's visit on Tuesday at 10:00 with Maya, and a waitlist with a few who it suits."""
    def setup():
        freed = visit(clinic, local(TUESDAY, 10))
        visit(clinic, local(TUESDAY, 10, 30), patient=clinic.ben)  # no room for an hour
        ben_later = visit(clinic, local(FRIDAY, 15), patient=clinic.ben)
        ben = db.session.get(Patient, clinic.ben)
        ben_entry = add_to_waitlist(ben, db.session.get(Service, clinic.follow_up),
                                    appointment_id=ben_later)
        ben_entry.created_at = NOW - timedelta(days=20)  # first in the queue
        entry(clinic, "Cara", practitioner=clinic.maya, window=MORNING, minutes=1)
        entry(clinic, "Dan", practitioner=clinic.sam, minutes=2)
        entry(clinic, "Eve", weekdays=[2], minutes=3)  # Wednesdays only
        entry(clinic, "Fay", service=clinic.first_visit, minutes=4)  # an hour does not fit
        entry(clinic, "Gus", window=AFTERNOON, minutes=5)
        hal_visit = visit(clinic, local(TUESDAY, 9), practitioner=clinic.sam,
                          patient=make_patient(first_name="Hal").id)
        hal = db.session.scalar(select(Patient).where(Patient.first_name == "Hal"))
        add_to_waitlist(hal, db.session.get(Service, clinic.follow_up),
                        appointment_id=hal_visit)  # already earlier than the freed time
        entry(clinic, "Ivy", minutes=6, status=WaitlistStatus.WITHDRAWN)
        return freed

    return add(app, setup)


def offers(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "waitlist_offer")
            .order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def statuses(app) -> dict[str, WaitlistStatus]:
    with app.app_context():
        return {e.patient.first_name: e.status for e in db.session.scalars(select(WaitlistEntry))}


def test_a_cancelled_time_is_offered_to_everyone_it_suits_earliest_first(
    app, desk, clinic, waiting
):
    response = desk.post(f"/staff/desk/appointments/{waiting}/cancel",
                         data={"reason": "Called to cancel"})
    assert response.status_code == 303
    sent = offers(app)
    assert [m.recipient for m in sent] == ["ben@example.com", "cara@example.com"]
    body = sent[0].text_body
    assert "Tuesday, November 24, 2026 at 10:00 AM (New York time)" in body
    assert "Follow-up dry needling with Maya Chen" in body
    assert (f"http://127.0.0.1:5000/book/follow-up/times?practitioner={clinic.maya}"
            "&start=2026-11-24") in body
    assert "whoever books it first" in body
    # No health detail, nor why someone else cancelled.
    for word in ("tier", "screening", "review", "intake", "called to cancel"):
        assert word not in body.lower()
    now_waiting = statuses(app)
    assert now_waiting["Ben"] == now_waiting["Cara"] == WaitlistStatus.OFFERED
    assert {now_waiting[n] for n in ("Dan", "Eve", "Fay", "Gus", "Hal")} == {
        WaitlistStatus.WAITING}
    assert now_waiting["Ivy"] == WaitlistStatus.WITHDRAWN


def test_the_same_time_is_never_offered_twice(app, clinic, waiting):
    with app.app_context():
        first = offer_freed_time(clinic.maya, local(TUESDAY, 10), local(TUESDAY, 10, 30), NOW)
        again = offer_freed_time(clinic.maya, local(TUESDAY, 10), local(TUESDAY, 10, 30), NOW)
        db.session.commit()
    # The visit is still there, so nothing is free yet: no offers at all.
    assert first == again == []
    with app.app_context():
        from booking.scheduling.models import Appointment

        db.session.get(Appointment, waiting).status = "cancelled"
        db.session.flush()
        first = offer_freed_time(clinic.maya, local(TUESDAY, 10), local(TUESDAY, 10, 30), NOW)
        again = offer_freed_time(clinic.maya, local(TUESDAY, 10), local(TUESDAY, 10, 30), NOW)
        db.session.commit()
        assert len(first) == 2 and again == []


def test_a_moved_visit_offers_the_time_it_left(app, desk, clinic, waiting):
    response = desk.post(f"/staff/desk/appointments/{waiting}/move",
                         data={"day": "2026-11-24", "time": "14:00"})
    assert response.status_code == 303
    assert [m.recipient for m in offers(app)] == ["ben@example.com", "cara@example.com"]


def test_first_to_hold_the_offered_time_gets_it_the_other_is_shown_nearest_times(
    app, desk, clinic, waiting
):
    desk.post(f"/staff/desk/appointments/{waiting}/cancel", data={"reason": "Cancelled"})
    start = local(TUESDAY, 10).isoformat()
    form = {"service": clinic.follow_up, "practitioner": clinic.maya, "start": start}
    add(app, lambda: add_intake(db.session.scalar(
        select(Patient).where(Patient.first_name == "Cara"))).id)  # Cara had her first visit
    # A follow-up is booked through each patient's own link from "Book a follow-up".
    ben = sign_in_returning_patient(app.test_client(), "ben@example.com")
    cara = sign_in_returning_patient(app.test_client(), "cara@example.com")
    times_page = ben.get(f"/book/follow-up/times?practitioner={clinic.maya}&start=2026-11-24")
    assert f'value="{start}"' in times_page.get_data(as_text=True)
    assert ben.post("/book/hold", data=form).status_code == 303
    lost = cara.post("/book/hold", data=form)
    assert lost.status_code == 409
    page = lost.get_data(as_text=True)
    assert "that time is no longer free" in page
    assert "The nearest free times" in page


def test_booking_the_service_takes_a_patient_off_the_waitlist(app, desk, clinic, waiting):
    response = desk.post("/staff/desk/book", data={
        "patient": clinic.ben, "service": clinic.follow_up, "practitioner": clinic.sam,
        "day": "2026-11-24", "time": "11:00",
    })
    assert response.status_code == 303
    assert statuses(app)["Ben"] == WaitlistStatus.BOOKED


def test_add_to_the_waitlist_from_the_patient_page_and_take_off_again(app, desk, clinic):
    url = f"/staff/desk/patients/{clinic.ana}/waitlist"
    bad = desk.post(url, data={"service": clinic.follow_up, "practitioner": "any",
                               "window": "custom", "earliest": "12:00", "latest": "09:00"})
    assert bad.status_code == 422
    assert "The end must be after the start." in bad.get_data(as_text=True)
    good = desk.post(url, data={"service": clinic.follow_up, "practitioner": str(clinic.maya),
                                "weekdays": ["1", "3"], "window": "custom",
                                "earliest": "09:00", "latest": "12:00", "appointment": ""})
    assert good.status_code == 303
    with app.app_context():
        row = db.session.scalar(select(WaitlistEntry))
        assert (row.weekdays, row.earliest_start, row.latest_end) == (
            0b1010, time(9), time(12))
        assert (row.practitioner_id, row.status) == (clinic.maya, WaitlistStatus.WAITING)
        entry_id = row.id
    listing = desk.get("/staff/desk/waitlist").get_data(as_text=True)
    assert "Ana Silva" in listing and "Tue, Thu, 9:00 AM to 12:00 PM" in listing
    assert desk.post(f"/staff/desk/waitlist/{entry_id}/withdraw").status_code == 303
    assert "Nobody is waiting." in desk.get("/staff/desk/waitlist").get_data(as_text=True)


def test_a_slot_outside_the_window_or_days_does_not_suit(app, clinic):
    from booking.scheduling.waitlist import suits

    with app.app_context():
        mornings = add_to_waitlist(
            db.session.get(Patient, clinic.ana), db.session.get(Service, clinic.follow_up),
            weekdays=[1], earliest_start=time(9), latest_end=time(12))  # Tuesday mornings
        slot = Slot(local(TUESDAY, 11, 30), local(TUESDAY, 12), clinic.maya)
        assert suits(mornings, slot)
        assert not suits(mornings, Slot(local(TUESDAY, 11, 45), local(TUESDAY, 12, 15), 1))
        assert not suits(mornings, Slot(local(TUESDAY, 8, 30), local(TUESDAY, 9), 1))
        assert not suits(mornings, Slot(local(date(2026, 11, 25), 10), local(
            date(2026, 11, 25), 10, 30), 1))
        db.session.rollback()


def move_to_sam_on_tuesday_afternoon(desk, clinic, appointment_id):
    return desk.post(f"/staff/desk/appointments/{appointment_id}/move", data={
        "day": "2026-11-24", "time": "14:00", "practitioner": str(clinic.sam)})


def test_a_move_to_another_practitioner_offers_the_freed_time_once(app, desk, clinic, waiting):
    from booking.scheduling.signals import waitlist_time_offered

    offered_to: list[int] = []

    def count(entry, **_kwargs):
        offered_to.append(entry.id)

    with waitlist_time_offered.connected_to(count):
        response = move_to_sam_on_tuesday_afternoon(desk, clinic, waiting)
    assert response.status_code == 303
    assert len(offered_to) == len(set(offered_to)) == 2  # Ben and Cara, each asked once
    assert [m.recipient for m in offers(app)] == ["ben@example.com", "cara@example.com"]


def test_an_offer_that_fails_does_not_undo_the_move(app, desk, clinic, waiting):
    from booking.scheduling.models import Appointment
    from booking.scheduling.signals import waitlist_time_offered

    def broken(entry, **_kwargs):
        raise RuntimeError("the offer could not be written")

    with waitlist_time_offered.connected_to(broken):
        response = move_to_sam_on_tuesday_afternoon(desk, clinic, waiting)
    assert response.status_code == 303
    with app.app_context():
        moved = db.session.get(Appointment, waiting)
        assert (moved.starts_at, moved.practitioner_id) == (local(TUESDAY, 14), clinic.sam)
    assert offers(app) == []  # the failed offers were rolled back to their savepoint
