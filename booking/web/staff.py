"""Staff home and the staff navigation shared by every staff page."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_security import current_user
from werkzeug.routing import BuildError

from booking.accounts.models import RoleName
from booking.web.roles import staff_required

bp = Blueprint("staff", __name__, url_prefix="/staff")

ALL_STAFF = tuple(RoleName)


@dataclass(frozen=True)
class NavItem:
    """A staff page in the navigation: `section` is the endpoint or blueprint it stands for."""

    endpoint: str
    label: str
    description: str
    section: str
    # Shown only to these roles (default: whoever the page itself lets in).
    only_for: tuple[RoleName, ...] = ()


# In navigation order. Pages whose blueprint is not registered yet are skipped.
STAFF_PAGES = (
    NavItem(
        "clinician.my_day",
        "My day",
        "Your visits today, with their intake badges; your week and calendar feed.",
        "clinician",
        only_for=(RoleName.PRACTITIONER,),
    ),
    NavItem("desk.day", "Day view", "Today for every practitioner.", "desk.day"),
    NavItem("desk.week", "Week", "A practitioner's week.", "desk.week"),
    NavItem("desk.patients", "Patients", "Find a patient and their visits.", "desk.patients"),
    NavItem("desk.attention", "Needs attention", "Call-backs and waitlist.", "desk.attention"),
    NavItem(
        "clinician.review_queue",
        "Review queue",
        "Held bookings waiting for a clinician's review.",
        "clinician.review_queue",
        only_for=(RoleName.PRACTITIONER, RoleName.ADMIN),
    ),
    NavItem("admin.index", "Admin", "Services, hours, policy, staff, audit log.", "admin"),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    description: str
    url: str
    current: bool


def staff_links() -> list[NavLink]:
    """The staff pages the signed-in user may open, for the navigation and the home page."""
    if not current_user.is_authenticated:
        return []
    # The page itself if it is in the menu, else its blueprint's entry (the clinician's pages
    # under My day, the admin's sections under Admin).
    exact = any(page.section == request.endpoint for page in STAFF_PAGES)
    links = []
    for page in STAFF_PAGES:
        view = current_app.view_functions.get(page.endpoint)
        if view is None:
            continue
        roles = page.only_for or getattr(view, "required_roles", ())
        if not current_user.has_any_role(*roles):
            continue
        try:
            url = url_for(page.endpoint)
        except BuildError:  # a page that needs arguments cannot be a menu entry
            continue
        current = page.section == (request.endpoint if exact else request.blueprint)
        links.append(NavLink(page.label, page.description, url, current))
    return links


@bp.get("/")
@staff_required(*ALL_STAFF)
def home():
    return render_template("staff/home.html", user=current_user, links=staff_links())


@bp.get("/start")
@staff_required(*ALL_STAFF)
def start():
    """Where signing in lands: a practitioner's day, the desk's day view, else the staff home."""
    if current_user.has_role(RoleName.PRACTITIONER):
        return redirect(url_for("clinician.my_day"))
    if current_user.has_role(RoleName.FRONT_DESK):
        return redirect(url_for("desk.day"))
    return redirect(url_for(".home"))
