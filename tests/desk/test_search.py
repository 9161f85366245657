"""Patient search by name, phone, email or date of birth, and the patient page."""

from __future__ import annotations

from datetime import date

import pytest

from booking.patients.search import search_patients
from tests.desk.helpers import TODAY, add, local, visit
from tests.factories import make_patient


@pytest.fixture
def people(app, clinic):
    """Ana Silva and Ben Walker (from the clinic), plus a few more to tell apart."""
    def setup():
        make_patient(first_name="Anaïs", last_name="Jones-Smith", email="anais@example.org",
                     phone="+1 555 010 9999", date_of_birth=date(1990, 1, 30))
        make_patient(first_name="Bob", last_name="Silvano", email="bob_100%@example.com",
                     phone="5550101234", date_of_birth=date(1971, 4, 2))
    add(app, setup)


def names(app, query: str) -> list[str]:
    with app.app_context():
        return [p.full_name for p in search_patients(query)]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("silva", ["Ana Silva", "Bob Silvano"]),
        ("SILVA ana", ["Ana Silva"]),
        ("ana sil", ["Ana Silva"]),
        ("ana s", ["Anaïs Jones-Smith", "Ana Silva"]),  # by last name
        ("smith", ["Anaïs Jones-Smith"]),
        ("walker", ["Ben Walker"]),
        ("ben@example.com", ["Ben Walker"]),
        ("@example.org", ["Anaïs Jones-Smith"]),
        ("100%@", ["Bob Silvano"]),  # % is a character, not a wildcard
        ("555-010-4400", ["Ana Silva"]),  # stored as (555) 010-4400
        ("5557771234", ["Ben Walker"]),  # stored as 555.777.1234
        ("010 9999", ["Anaïs Jones-Smith"]),
        ("1971-04-02", ["Ana Silva", "Bob Silvano"]),
        ("04/02/1971", ["Ana Silva", "Bob Silvano"]),
        ("1/30/1990", ["Anaïs Jones-Smith"]),
        ("nobody", []),
        ("", []),
        ("55", []),  # too few digits to mean anything
        ("%", []),
    ],
)
def test_search(app, people, query, expected):
    assert names(app, query) == expected


def test_search_page_lists_matches_with_links(app, desk, people, clinic):
    page = desk.get("/staff/desk/patients?q=walker").get_data(as_text=True)
    assert "Ben Walker" in page and "September 14, 1985" in page
    assert f'href="/staff/desk/patients/{clinic.ben}"' in page
    assert f'href="/staff/desk/book?patient={clinic.ben}"' in page
    empty = desk.get("/staff/desk/patients?q=zzz").get_data(as_text=True)
    assert "Nobody matches" in empty


def test_patient_page_shows_contact_details_and_visits(app, desk, clinic):
    add(app, lambda: (visit(clinic, local(TODAY, 9)),
                      visit(clinic, local(date(2026, 11, 30), 10))))
    page = desk.get(f"/staff/desk/patients/{clinic.ana}").get_data(as_text=True)
    assert "Ana Silva" in page and "April 2, 1971" in page and "(555) 010-4400" in page
    assert "Monday, November 23, 2026, 9:00 AM" in page
    assert "Monday, November 30, 2026, 10:00 AM" in page
    assert desk.get("/staff/desk/patients/999").status_code == 404

