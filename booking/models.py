"""Every model, imported in one place so that migrations and the shell see the whole schema."""

from booking.accounts.models import Role, RoleName, User, roles_users
from booking.audit.models import AuditEvent
from booking.clinic.models import Clinic
from booking.intake.models import (
    CallBack,
    CallBackAttempt,
    ConsentText,
    Intake,
    QuestionnaireDraft,
)
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.patients.models import Patient
from booking.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    ClinicClosure,
    Practitioner,
    Service,
    TimeOff,
    VisitKind,
    WorkingHours,
    practitioner_services,
)

__all__ = [
    "ACTIVE_STATUSES",
    "Appointment",
    "AppointmentStatus",
    "AuditEvent",
    "CallBack",
    "CallBackAttempt",
    "Clinic",
    "ClinicClosure",
    "ConsentText",
    "Intake",
    "OutboxMessage",
    "OutboxStatus",
    "QuestionnaireDraft",
    "Patient",
    "Practitioner",
    "Role",
    "RoleName",
    "Service",
    "TimeOff",
    "User",
    "VisitKind",
    "WorkingHours",
    "practitioner_services",
    "roles_users",
]

# Practitioners' records (booking/clinical).
from booking.clinical.models import (  # noqa: E402
    FeedToken,
    NeedlingClearance,
    ReviewDecision,
    VisitOutcome,
)

__all__ += ["FeedToken", "NeedlingClearance", "ReviewDecision", "VisitOutcome"]

# Returning patients' one-time sign-in links (booking/patients/links.py).
from booking.patients.links import PatientSignInLink  # noqa: E402

__all__ += ["PatientSignInLink"]

# Online bookings in progress (booking/intake/drafts.py).
from booking.intake.drafts import BookingDraft  # noqa: E402

__all__ += ["BookingDraft"]
