"""Error pages in the site's style (JSON under /api/)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from flask import Flask, current_app, has_request_context, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from booking.extensions import db

logger = logging.getLogger(__name__)

MESSAGES = {
    400: ("The request could not be understood", "Please go back and try again."),
    403: ("You do not have access to this page", "If you think you should, ask your admin."),
    404: ("We could not find that page", "The link may be old or mistyped."),
    405: ("That action is not allowed here", "Please go back and try again."),
    409: ("That changed while you were looking", "Someone changed it first. Please try again."),
    410: ("That is no longer available", "The link or time has run out."),
    413: ("That was more than we accept", "Please send less at once and try again."),
    415: ("That was sent in a form we do not read", "Please use the form on the page."),
    422: ("Some details need another look", "Please go back and check the form."),
    429: ("Too many requests", "Please wait a minute and try again."),
    500: ("Something went wrong on our side", "Nothing you did caused this. Please try again."),
    503: ("We are briefly unavailable", "Please try again in a few minutes."),
}
# The database is unreachable (down, restarting, a wrong address): a 503 the client may retry.
DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 60


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(code: int, detail: str | None = None):
    title, hint = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    if wants_json():
        extra = {"message": detail} if detail else {}
        return jsonify(error=title.lower(), status=code, **extra), code
    return render_template(error_template(), code=code, title=title, hint=detail or hint), code


def error_template() -> str:
    """Staff pages keep the staff layout (no public home link, no "call us")."""
    staff = has_request_context() and request.path.startswith("/staff/")
    return "errors/staff_error.html" if staff else "errors/error.html"


def render_invalid_field(field: str, problem: str, label: str | None = None):
    """422 naming the field: the API's {"error": "invalid", "fields": ...}, or the error page
    (`label` says what the field is to a person: "the page address")."""
    if wants_json():
        return jsonify(error="invalid", fields={field: f"This value {problem}."}), 422
    said = label or f"the field “{field}”"
    return render_error(422, f"{said[0].upper()}{said[1:]} {problem}. Please check it.")


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, "The form expired. Please go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        body, code = render_error(error.code or 500)
        # Our page replaces werkzeug's body, not its headers: a 405 must keep its Allow header.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return body, code, headers

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        db.session.rollback()
        return render_error(500)

    register_outage(app)


def register_outage(app: Flask) -> None:
    """Database down: a styled 503 with Retry-After, drawn without asking the database."""

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: Exception):
        return render_outage(error)


def render_outage(error: Exception):
    _forget_transaction()
    # The endpoint, not the path (paths can carry tokens); the class, not the message.
    logger.error("database unavailable on %s (%s)", request.endpoint, type(error).__name__)
    code = 503
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    title, hint = MESSAGES[code]
    if wants_json():
        return jsonify(error=title.lower(), status=code), code, headers
    # Rendered straight from the template: the context processors would read the clinic row.
    page = current_app.jinja_env.get_template("errors/error.html").render(
        code=code, title=title, hint=hint, clinic=clinic_from_config()
    )
    return page, code, headers


def clinic_from_config() -> SimpleNamespace:
    """The clinic's name, address and phone as configured, for pages drawn without the database."""
    config = current_app.config
    return SimpleNamespace(
        name=config["CLINIC_NAME"], address=config["CLINIC_ADDRESS"], phone=config["CLINIC_PHONE"]
    )


def _forget_transaction() -> None:
    """Drop the session's broken transaction; with the database gone even that can fail."""
    try:
        db.session.rollback()
    except DATABASE_DOWN:
        db.session.close()
