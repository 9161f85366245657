"""Public pages: home, the site's icon and health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory, url_for
from sqlalchemy import select, text

from booking.extensions import db
from booking.scheduling.models import Service, VisitKind

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    return render_template("public/home.html", first_visit_url=first_visit_url())


def first_visit_url() -> str:
    """Straight to the practitioners when the clinic offers one kind of first visit (a tap
    saved); else the first-visit kinds to choose from."""
    slugs = db.session.scalars(
        select(Service.slug)
        .where(Service.active.is_(True), Service.kind == VisitKind.FIRST_VISIT)
        .limit(2)
    ).all()
    if len(slugs) == 1:
        return url_for("booking.choose_practitioner", slug=slugs[0])
    return url_for("booking.choose_service", kind=VisitKind.FIRST_VISIT.value)


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it at the root whatever the page says."""
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
        max_age=86400,
    )


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not healthy"
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
