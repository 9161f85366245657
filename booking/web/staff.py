"""Staff home (the calendar and queues arrive with their issues)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_security import auth_required, current_user

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@auth_required()
def home():
    return render_template("staff/home.html", user=current_user)
