"""Nobody can block the calendar: live holds are capped per client address and per email.

Each browser here is its own test client (its own session cookie); the address it comes from
is REMOTE_ADDR. The caps are the defaults: 3 per address, 2 per email.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from booking.extensions import db
from booking.scheduling.hold_cap import client_digest, client_network, email_digest
from booking.scheduling.models import Appointment, AppointmentStatus, VisitKind
from tests.factories import make_practitioner, make_service

# Friday 20 November 2026, 9:00 in New York; Monday 23 November at 9:00 is 14:00 UTC.
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
MONDAY_9AM = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
HOLD_MINUTES = 10  # the clinic's default hold length
ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.9"
CONTACT = {
    "first_name": "Robin",
    "last_name": "Hale",
    "date_of_birth": "1980-05-17",
    "email": "robin@example.com",
    "phone": "555 010 2030",
}


def monday(n: int) -> datetime:
    """The n-th half-hour on Monday from 9:00 (all free)."""
    return MONDAY_9AM + timedelta(minutes=30 * n)


@pytest.fixture
def clinic(app):
    """A first-visit service anyone may hold and one practitioner free every weekday 9–17."""
    with time_machine.travel(NOW, tick=False), app.app_context():
        service = make_service(slug="first-visit", minutes=30, kind=VisitKind.FIRST_VISIT)
        make_practitioner([service])
        db.session.commit()
        return {"service_id": service.id, "slug": service.slug}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def browser(app, address: str = ATTACKER):
    """A new browser (its own cookies) at an address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def hold(client, clinic, start: datetime, service_id: int | None = None):
    return client.post("/book/hold", data={
        "service": service_id or clinic["service_id"], "practitioner": "any",
        "start": start.isoformat(),
    })


def api_hold(client, clinic, start: datetime):
    return client.post("/api/v1/holds", json={
        "service": clinic["service_id"], "practitioner_id": "any", "start": start.isoformat(),
    })


def live_holds(app) -> list[Appointment]:
    with app.app_context():
        return list(db.session.scalars(
            select(Appointment).where(Appointment.status == AppointmentStatus.HELD)
        ))


def fill_three_holds(app, clinic, address: str = ATTACKER) -> None:
    for n in range(3):
        assert hold(browser(app, address), clinic, monday(n)).status_code == 303


def test_the_fourth_hold_from_one_address_is_refused_while_others_still_hold(
    app, clinic, frozen
):
    fill_three_holds(app, clinic)
    refused = hold(browser(app), clinic, monday(3))
    assert refused.status_code == 429
    assert len(live_holds(app)) == 3
    # Someone else can still hold that very time.
    assert hold(browser(app, NEIGHBOUR), clinic, monday(3)).status_code == 303
    assert len(live_holds(app)) == 4


def test_the_refused_page_keeps_the_choice_and_says_what_to_do(app, clinic, frozen):
    fill_three_holds(app, clinic)
    page = hold(browser(app), clinic, monday(3)).get_data(as_text=True)
    text = html.unescape(page)
    assert "You already have times held" in text
    assert "Monday, November 23, 2026 at 10:30 AM" in text
    assert "Finish the booking you started in another window or tab" in text
    # The first hold, made at 9:00 for ten minutes, is let go at 9:10.
    assert "let go at 9:10 AM" in text
    # The time chosen is offered again, one press away, with the service and practitioner.
    assert re.search(rf'name="start" value="{re.escape(monday(3).isoformat())}"', page)
    assert f'name="service" value="{clinic["service_id"]}"' in page
    assert "/book/first-visit/times?practitioner=any" in page


def test_a_patient_changing_their_mind_never_meets_the_cap(app, clinic, frozen):
    patient = browser(app)
    for n in range(6):
        assert hold(patient, clinic, monday(n)).status_code == 303
    with app.app_context():
        other = make_service(slug="short-visit", minutes=30, kind=VisitKind.FIRST_VISIT)
        make_practitioner([other])
        db.session.commit()
        other_id = other.id
    # Another visit type in the same browser gives back the time held for the first.
    assert hold(patient, clinic, monday(8), service_id=other_id).status_code == 303
    [held] = live_holds(app)
    assert (held.service_id, held.starts_at) == (other_id, monday(8))


def test_holds_that_ran_out_do_not_count(app, clinic, frozen):
    fill_three_holds(app, clinic)
    assert hold(browser(app), clinic, monday(3)).status_code == 429
    frozen.shift(timedelta(minutes=HOLD_MINUTES, seconds=1))
    assert hold(browser(app), clinic, monday(3)).status_code == 303


def test_the_api_answers_429_with_its_error_shape(app, clinic, frozen):
    api = browser(app)
    for n in range(3):
        assert api_hold(api, clinic, monday(n)).status_code == 201
    refused = api_hold(api, clinic, monday(3))
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["error"] == "too_many_holds"
    assert "continue_url" in body["message"]
    assert body["retry_after"] == HOLD_MINUTES * 60 + 1
    assert refused.headers["Retry-After"] == str(HOLD_MINUTES * 60 + 1)
    assert api_hold(browser(app, NEIGHBOUR), clinic, monday(3)).status_code == 201


def test_pages_and_api_share_one_cap(app, clinic, frozen):
    for n in range(2):
        assert hold(browser(app), clinic, monday(n)).status_code == 303
    assert api_hold(browser(app), clinic, monday(2)).status_code == 201
    assert api_hold(browser(app), clinic, monday(3)).status_code == 429
    assert hold(browser(app), clinic, monday(3)).status_code == 429


def test_one_ipv6_client_is_its_whole_slash_64(app, clinic, frozen):
    for n, host in enumerate(("1", "2", "ab:cd")):
        assert hold(browser(app, f"2001:db8:1:2::{host}"), clinic, monday(n)).status_code == 303
    assert hold(browser(app, "2001:db8:1:2::99"), clinic, monday(3)).status_code == 429
    assert hold(browser(app, "2001:db8:1:3::1"), clinic, monday(3)).status_code == 303
    assert client_network("::ffff:203.0.113.7") == ATTACKER


def test_the_hold_stores_a_keyed_hash_never_the_address(app, clinic, frozen):
    patient = browser(app)
    assert hold(patient, clinic, monday(0)).status_code == 303
    [held] = live_holds(app)
    assert re.fullmatch(r"[0-9a-f]{32}", held.client_digest)
    with app.app_context():
        row = db.session.execute(select(Appointment.__table__).where(
            Appointment.id == held.id
        )).one()
    assert not any(ATTACKER in str(value) for value in row)
    # Choosing again gives the first hold back, and with it goes its hash.
    assert hold(patient, clinic, monday(1)).status_code == 303
    with app.app_context():
        given_back = db.session.get(Appointment, held.id)
        assert given_back.status == AppointmentStatus.EXPIRED
        assert given_back.client_digest is None
    # Without the key the hash cannot be matched to an address: another key, another hash.
    with app.test_request_context():
        assert client_digest(ATTACKER) == held.client_digest
        app.config["SECRET_KEY"] = "another-secret"
        assert client_digest(ATTACKER) != held.client_digest


# --- per email ----------------------------------------------------------------------------------


def details(client, email: str):
    return client.post("/book/details", data={**CONTACT, "email": email})


def test_one_email_keeps_at_most_two_live_holds(app, clinic, frozen):
    addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    patients = [browser(app, address) for address in addresses]
    for n, patient in enumerate(patients):
        assert hold(patient, clinic, monday(n)).status_code == 303
    assert details(patients[0], "Robin@Example.com").status_code == 303
    assert details(patients[1], "ROBIN@example.com").status_code == 303
    refused = details(patients[2], "robin@example.com")
    assert refused.status_code == 422
    text = html.unescape(refused.get_data(as_text=True))
    assert "This email address already has 2 times held" in text
    assert "Finish one of those bookings, or wait until 9:10 AM" in text
    assert 'value="Robin"' in refused.get_data(as_text=True)  # what was typed stays
    # Another address goes on; so does the same one once a hold carrying it ran out.
    assert details(patients[2], "sam@example.com").status_code == 303
    frozen.shift(timedelta(minutes=HOLD_MINUTES, seconds=1))
    assert hold(patients[0], clinic, monday(5)).status_code == 303
    assert details(patients[0], "robin@example.com").status_code == 303


def test_a_new_time_carries_the_email_given_for_the_one_before(app, clinic, frozen):
    patient = browser(app)
    assert hold(patient, clinic, monday(0)).status_code == 303
    assert details(patient, "robin@example.com").status_code == 303
    assert hold(patient, clinic, monday(1)).status_code == 303  # details kept, not asked again
    [held] = live_holds(app)
    with app.test_request_context():
        assert held.email_digest == email_digest("robin@example.com")
    second = browser(app, "192.0.2.3")
    assert hold(second, clinic, monday(3)).status_code == 303
    assert details(second, "robin@example.com").status_code == 303
    third = browser(app, "192.0.2.4")
    assert hold(third, clinic, monday(4)).status_code == 303
    assert details(third, "robin@example.com").status_code == 422


def test_sending_the_details_again_does_not_count_the_hold_twice(app, clinic, frozen):
    patient = browser(app)
    assert hold(patient, clinic, monday(0)).status_code == 303
    for _ in range(3):
        assert details(patient, "robin@example.com").status_code == 303


# --- the booking page's rate limit -------------------------------------------------------------


def test_choosing_times_is_rate_limited_per_client(make_app, frozen):
    app = make_app(RATELIMIT_ENABLED=True, BOOKING_HOLD_RATE_LIMIT="2 per minute")
    with app.app_context():
        service = make_service(slug="first-visit", minutes=30, kind=VisitKind.FIRST_VISIT)
        make_practitioner([service])
        db.session.commit()
        clinic = {"service_id": service.id}
    patient = browser(app, "192.0.2.77")
    assert [hold(patient, clinic, monday(n)).status_code for n in range(3)] == [303, 303, 429]
    assert hold(browser(app, "192.0.2.78"), clinic, monday(3)).status_code == 303
