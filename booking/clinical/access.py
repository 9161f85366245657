"""Minimum-necessary access to a patient's answers.

A practitioner opens the intakes, progress and visit outcomes of their own patients: those who
have or had a visit with them. Another practitioner's patient opens after the practitioner
states why ("covering for a colleague"); the reason goes in the audit log and the access lasts
for the rest of that staff session (sign-out, a password change or the idle limit end it).
Admins keep the access their role gives.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from booking.accounts.models import RoleName, User
from booking.audit.service import record_audit
from booking.clinical.models import PatientAccess
from booking.extensions import db
from booking.scheduling.models import HOLD_STATUSES, Appointment, Practitioner

REASON_MAX = 200


def is_own_patient(user: User, patient_id: int) -> bool:
    """The patient has or had a visit (not a hold in progress) with this user as practitioner."""
    return bool(db.session.scalar(select(exists().where(
        Appointment.patient_id == patient_id,
        Appointment.status.not_in(HOLD_STATUSES),
        Appointment.practitioner_id.in_(
            select(Practitioner.id).where(Practitioner.user_id == user.id)
        ),
    ))))


def may_open_patient(user: User, patient_id: int | None, staff_session_id: str | None) -> bool:
    """Whether the user may see this patient's answers now (a visit with no patient: yes)."""
    if patient_id is None or user.has_role(RoleName.ADMIN.value):
        return True
    if is_own_patient(user, patient_id):
        return True
    return staff_session_id is not None and bool(db.session.scalar(select(exists().where(
        PatientAccess.staff_session_id == staff_session_id,
        PatientAccess.patient_id == patient_id,
    ))))


def open_patient_with_reason(patient_id: int, staff_session_id: str, reason: str) -> None:
    """Record why the signed-in practitioner opens another's patient, and let them in."""
    record_audit("patient.opened_with_reason", "patient", patient_id, reason=reason.strip())
    already = db.session.scalar(select(exists().where(
        PatientAccess.staff_session_id == staff_session_id,
        PatientAccess.patient_id == patient_id,
    )))
    if not already:
        db.session.add(PatientAccess(staff_session_id=staff_session_id, patient_id=patient_id))
        db.session.flush()
