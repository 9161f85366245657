"""Back-pain clinic booking and intake service."""

from __future__ import annotations

from typing import Any

from flask import Flask

from booking import config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: settings, extensions, blueprints, error pages, commands."""
    app = Flask(
        __name__,
        template_folder=str(config.ROOT / "templates"),
        static_folder=str(config.ROOT / "static"),
        instance_path=str(config.ROOT / "instance"),
    )
    app.config.from_mapping(config.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    register_extensions(app)
    register_transaction_boundary(app)
    register_edge(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_filters(app)
    register_commands(app)
    register_signal_receivers(app)
    register_lookups(app)
    return app


def register_extensions(app: Flask) -> None:
    import booking.models  # noqa: F401  (every model registered before migrations look)
    from booking.accounts.security import init_security
    from booking.extensions import csrf, db, limiter, mail, migrate
    from booking.notify.staff_mail import OutboxMailUtil

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    init_security(app, OutboxMailUtil)  # staff sign-in; its emails go through the outbox


def register_transaction_boundary(app: Flask) -> None:
    """One transaction per request: services flush, the request commits or rolls back."""
    from booking.audit.service import keep_views_after_rollback
    from booking.extensions import db
    from booking.web.transaction import redo_kept_writes

    @app.after_request
    def finish_transaction(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
            keep_views_after_rollback()  # whoever saw health data saw it, refused or not
            redo_kept_writes()  # e.g. what a patient typed on a page that refused it
        return response


def register_edge(app: Flask) -> None:
    """One validation layer before every view: the `id` converter (before any route uses it),
    control characters refused, bodies and JSON bounded."""
    from booking.web.edge import register

    register(app)


def register_blueprints(app: Flask) -> None:
    from booking.extensions import csrf
    from booking.web.admin import bp as admin_bp
    from booking.web.api import bp as api_bp
    from booking.web.booking import bp as booking_bp
    from booking.web.clinician import bp as clinician_bp
    from booking.web.desk import bp as desk_bp
    from booking.web.intake import bp as intake_bp
    from booking.web.manage import bp as manage_bp
    from booking.web.public import bp as public_bp
    from booking.web.returning import bp as returning_bp
    from booking.web.series import bp as series_bp
    from booking.web.staff import bp as staff_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(intake_bp)
    app.register_blueprint(returning_bp)
    app.register_blueprint(series_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(desk_bp)
    app.register_blueprint(clinician_bp)
    app.register_blueprint(api_bp)
    # The JSON API reads no cookies and signs nobody in, so a forged cross-site request carries
    # no authority that CSRF tokens would protect; its callers are other sites and apps.
    csrf.exempt(api_bp)


def register_errorhandlers(app: Flask) -> None:
    from booking.web.errors import register

    register(app)


def register_template_filters(app: Flask) -> None:
    from booking.web.filters import register

    register(app)


def register_commands(app: Flask) -> None:
    from booking.cli import register

    register(app)


def register_signal_receivers(app: Flask) -> None:
    """What follows a booking change: the emails (notify) and the waitlist's offers."""
    from booking.notify.receivers import register_notifications
    from booking.scheduling.waitlist import connect_waitlist

    register_notifications(app)
    connect_waitlist()


def register_lookups(app: Flask) -> None:
    """Questions a lower layer asks and a higher one answers: which flags a practitioner already
    approved (intake asks, clinical answers from its review decisions)."""
    from booking.clinical.approvals import register_approval_lookup

    register_approval_lookup(app)
