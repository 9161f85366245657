"""One staff navigation by role: each role lands on its own home, every staff page carries the
same header with sign-out, and staff errors keep the staff layout."""

from __future__ import annotations

import re

import pytest

from booking.accounts.models import RoleName
from tests.helpers import DEMO_STAFF, sign_in

HOMES = {
    RoleName.PRACTITIONER: "/staff/clinician/day",
    RoleName.FRONT_DESK: "/staff/desk/day",
    RoleName.ADMIN: "/staff/",
}
# A page of each kind, and the roles that may open it.
PAGES = {
    "/staff/": tuple(RoleName),
    "/staff/clinician/day": (RoleName.PRACTITIONER, RoleName.ADMIN),
    "/staff/clinician/reviews": (RoleName.PRACTITIONER, RoleName.ADMIN),
    "/staff/clinician/feed": (RoleName.PRACTITIONER, RoleName.ADMIN),
    "/staff/desk/day": tuple(RoleName),
    "/staff/desk/attention": tuple(RoleName),
    "/staff/admin/": (RoleName.ADMIN,),
}


def menu(html: str) -> list[str]:
    """The labels of the main navigation's links."""
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    labels = re.findall(r"<a [^>]*>(.*?)</a>", nav, re.S)
    return [re.sub(r"<[^>]+>", "", label).strip() for label in labels]


@pytest.mark.parametrize("role", list(RoleName))
def test_signing_in_lands_on_the_roles_home(app, role):
    client = sign_in(app.test_client(), DEMO_STAFF[role])  # signing in sends them to /staff/start
    response = client.get("/staff/start")
    assert (response.status_code, response.location) == (302, HOMES[role])


@pytest.mark.parametrize("role", list(RoleName))
def test_every_staff_page_has_the_same_menu_and_sign_out(client_for, role):
    client = client_for(role)
    menus = set()
    for path, roles in PAGES.items():
        if role not in roles:
            continue
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert 'type="submit">Sign out</button>' in html, path
        menus.add(tuple(menu(html)))
    assert len(menus) == 1, menus  # the same header everywhere
    (labels,) = menus
    assert ("My day" in labels) == (role == RoleName.PRACTITIONER)
    assert ("Admin" in labels) == (role == RoleName.ADMIN)
    assert "Account" in labels


def test_a_practitioner_finds_their_pages_from_the_menu(client_for):
    html = client_for(RoleName.PRACTITIONER).get("/staff/clinician/day").get_data(as_text=True)
    assert '<a href="/staff/clinician/day" aria-current="page">My day</a>' in html
    for page in ("My week", "Review queue", "Calendar feed"):
        assert f">{page}</a>" in html


def test_staff_errors_keep_the_staff_layout(client_for):
    response = client_for(RoleName.FRONT_DESK).get("/staff/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Go to the staff home" in html and "Sign out" in html
    assert "call us" not in html
