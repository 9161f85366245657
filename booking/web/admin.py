"""Admin pages: services, practitioners and hours, closures, policy, staff, consent, audit log.

Views parse the form, call booking.admin.service or booking.accounts.service, and render.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_security import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from booking.accounts.models import User
from booking.accounts.service import (
    StaffUserError,
    create_staff_account,
    role_names,
    send_password_link,
    set_staff_active,
    staff_accounts,
    turn_off_two_factor,
    update_staff_account,
)
from booking.admin import service as admin
from booking.admin.audit_log import audit_page, subject_types
from booking.admin.forms import (
    AuditFilterForm,
    ClosureForm,
    ConfirmForm,
    ConsentForm,
    PolicyForm,
    PractitionerForm,
    ServiceForm,
    StaffCreateForm,
    StaffRolesForm,
    WeeklyHoursForm,
)
from booking.admin.hours import WEEKDAYS
from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import ConsentText
from booking.intake.service import current_consent, paragraphs
from booking.scheduling.models import ClinicClosure, Practitioner, Service
from booking.web.roles import ADMIN, staff_required

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")


def form_status(form: FlaskForm) -> int:
    """A form page shown again after a submission was refused answers 422, so nothing commits."""
    return 422 if form.is_submitted() else 200


def _confirmed() -> None:
    """A POST-only action: refuse it unless its (CSRF-only) form validates."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.get("/")
@staff_required(*ADMIN)
def index():
    return render_template("admin/index.html")


# --- services --------------------------------------------------------------------------------


@bp.get("/services")
@staff_required(*ADMIN)
def services():
    rows = db.session.scalars(select(Service).order_by(Service.active.desc(), Service.name))
    return render_template("admin/services.html", services=rows.all())


@bp.route("/services/new", methods=["GET", "POST"])
@staff_required(*ADMIN)
def service_new():
    return _service_page(None)


@bp.route("/services/<id:service_id>", methods=["GET", "POST"])
@staff_required(*ADMIN)
def service_edit(service_id: int):
    return _service_page(db.get_or_404(Service, service_id))


def _service_page(service: Service | None):
    form = ServiceForm(editing=service)
    if form.validate_on_submit():
        saved = admin.save_service(service, form.data, form.practitioners.data)
        flash(f"Saved the service “{saved.name}”.", "success")
        return redirect(url_for(".services"))
    return render_template(
        "admin/service_form.html", form=form, service=service
    ), form_status(form)


# --- practitioners and weekly hours ----------------------------------------------------------


@bp.get("/practitioners")
@staff_required(*ADMIN)
def practitioners():
    return render_template("admin/practitioners.html", rows=admin.practitioner_overview())


@bp.route("/practitioners/new", methods=["GET", "POST"])
@staff_required(*ADMIN)
def practitioner_new():
    return _practitioner_page(None)


@bp.route("/practitioners/<id:practitioner_id>", methods=["GET", "POST"])
@staff_required(*ADMIN)
def practitioner_edit(practitioner_id: int):
    return _practitioner_page(db.get_or_404(Practitioner, practitioner_id))


def _practitioner_page(practitioner: Practitioner | None):
    form = PractitionerForm(editing=practitioner)
    if form.validate_on_submit():
        saved = admin.save_practitioner(practitioner, form.data, form.services.data)
        flash(f"Saved {saved.name}.", "success")
        if practitioner is None:  # a new practitioner needs hours next
            return redirect(url_for(".practitioner_hours", practitioner_id=saved.id))
        return redirect(url_for(".practitioners"))
    return render_template(
        "admin/practitioner_form.html", form=form, practitioner=practitioner
    ), form_status(form)


@bp.route("/practitioners/<id:practitioner_id>/hours", methods=["GET", "POST"])
@staff_required(*ADMIN)
def practitioner_hours(practitioner_id: int):
    practitioner = db.get_or_404(Practitioner, practitioner_id)
    status = 200
    if request.method == "GET":
        form = WeeklyHoursForm.from_hours(practitioner.hours)
    else:
        form = WeeklyHoursForm()
        action = request.form.get("action", "save")
        if action == "save":
            if form.validate_on_submit():
                changed = admin.replace_weekly_hours(practitioner, form.week())
                flash(f"Saved {practitioner.name}'s weekly hours." if changed
                      else "The weekly hours were already as shown.", "success")
                return redirect(url_for(".practitioners"))
            status = 422
        form.change_rows(action)  # adding or removing a row is editing, not a refusal
    return render_template(
        "admin/hours.html", form=form, practitioner=practitioner, weekdays=WEEKDAYS
    ), status


# --- clinic closures -------------------------------------------------------------------------


@bp.route("/closures", methods=["GET", "POST"])
@staff_required(*ADMIN)
def closures():
    form = ClosureForm()
    if form.validate_on_submit():
        admin.add_closure(form.first_day.data, form.last_day.data, form.reason.data)
        flash("Added the closure.", "success")
        return redirect(url_for(".closures"))
    today = now_utc().astimezone(get_clinic().zone).date()
    upcoming, past = admin.closures_around(today)
    return render_template(
        "admin/closures.html", form=form, upcoming=upcoming, past=past
    ), form_status(form)


@bp.post("/closures/<id:closure_id>/remove")
@staff_required(*ADMIN)
def closure_remove(closure_id: int):
    _confirmed()
    admin.remove_closure(db.get_or_404(ClinicClosure, closure_id))
    flash("Removed the closure.", "success")
    return redirect(url_for(".closures"))


# --- booking policy --------------------------------------------------------------------------


@bp.route("/policy", methods=["GET", "POST"])
@staff_required(*ADMIN)
def policy():
    clinic = get_clinic()
    form = PolicyForm(obj=clinic)
    if form.validate_on_submit():
        changed = admin.update_policy(clinic, form.data)
        flash("Saved the clinic's details and booking policy." if changed
              else "Nothing had changed.", "success")
        return redirect(url_for(".policy"))
    return render_template("admin/policy.html", form=form), form_status(form)


# --- staff accounts --------------------------------------------------------------------------


@bp.get("/accounts")
@staff_required(*ADMIN)
def accounts():
    return render_template("admin/accounts.html", users=staff_accounts(), role_names=role_names)


@bp.route("/accounts/new", methods=["GET", "POST"])
@staff_required(*ADMIN)
def account_new():
    form = StaffCreateForm()
    if form.validate_on_submit():
        temporary = form.temporary_password.data if form.wants_temporary_password else None
        user = create_staff_account(form.email.data, form.name.data, form.roles.data, temporary)
        how = "Tell them their temporary password." if temporary else "We emailed them a link."
        flash(f"Added {user.email}. {how}", "success")
        return redirect(url_for(".accounts"))
    return render_template("admin/account_new.html", form=form), form_status(form)


@bp.route("/accounts/<id:user_id>", methods=["GET", "POST"])
@staff_required(*ADMIN)
def account_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = StaffRolesForm(name=user.name, roles=role_names(user))
    if form.validate_on_submit():
        try:
            update_staff_account(user, form.name.data, form.roles.data, current_user)
        except StaffUserError as error:
            form.roles.errors.append(str(error))
        else:
            flash(f"Saved {user.email}.", "success")
            return redirect(url_for(".accounts"))
    return render_template("admin/account_edit.html", form=form, user=user,
                           is_self=user.id == current_user.id), form_status(form)


ACCOUNT_ACTIONS = 'any(activate, deactivate, "password-link", "two-factor-off")'


@bp.post(f"/accounts/<id:user_id>/<{ACCOUNT_ACTIONS}:act>")
@staff_required(*ADMIN)
def account_action(user_id: int, act: str):
    _confirmed()
    user = db.get_or_404(User, user_id)
    try:
        if act in ("activate", "deactivate"):
            set_staff_active(user, act == "activate", current_user)
        elif act == "password-link":
            send_password_link(user)
        else:
            turn_off_two_factor(user)
    except StaffUserError as error:
        flash(str(error), "error")
    else:
        flash(ACCOUNT_ACTION_DONE[act].format(email=user.email), "success")
    return redirect(url_for(".account_edit", user_id=user.id))


ACCOUNT_ACTION_DONE = {
    "activate": "Reactivated {email}: they can sign in again.",
    "deactivate": "Deactivated {email}: they are signed out and cannot sign in.",
    "password-link": "Emailed {email} a link to choose a new password.",
    "two-factor-off": "Turned off two-factor sign-in for {email}.",
}


# --- consent text versions -------------------------------------------------------------------


@bp.route("/consent", methods=["GET", "POST"])
@staff_required(*ADMIN)
def consent():
    active = current_consent()
    form = ConsentForm(text=active.text)
    if form.validate_on_submit():
        added = admin.add_consent_version(form.version.data, form.text.data)
        flash(f"Version “{added.version}” is now the consent text patients agree to.", "success")
        return redirect(url_for(".consent"))
    return render_template(
        "admin/consent.html", form=form, versions=admin.consent_versions()
    ), form_status(form)


@bp.get("/consent/<id:consent_id>")
@staff_required(*ADMIN)
def consent_version(consent_id: int):
    version = db.get_or_404(ConsentText, consent_id)
    return render_template("admin/consent_version.html", version=version,
                           paragraphs=paragraphs(version.text))


# --- audit log (read only) -------------------------------------------------------------------


@bp.get("/audit")
@staff_required(*ADMIN)
def audit_log():
    form = AuditFilterForm(formdata=request.args)
    form.set_subject_types(subject_types())
    valid = form.validate()
    page = audit_page(
        get_clinic().zone,
        subject_type=form.subject_type.data or None if valid else None,
        subject_id=form.subject_id.data if valid else None,
        page=request.args.get("page", 1, type=int),
    )
    filters = {k: v for k, v in request.args.items() if k != "page" and v} if valid else {}
    status = 200 if valid else 422  # the log is still shown, unfiltered, under the errors
    return render_template("admin/audit.html", form=form, log=page, filters=filters), status
