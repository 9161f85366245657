"""What happened to an appointment, for whoever must follow (emails, calendar feeds, audit).

Senders are the scheduling services, inside the request's transaction: a receiver that writes
(the outbox) commits or rolls back together with the change that caused it.
"""

from blinker import Namespace

_signals = Namespace()

# sender: the Appointment, now confirmed or awaiting review
booking_made = _signals.signal("booking-made")
# sender: the Appointment; kwargs: previous_start (datetime)
booking_moved = _signals.signal("booking-moved")
# sender: the Appointment, now cancelled; kwargs: by ("patient" | "clinic")
booking_cancelled = _signals.signal("booking-cancelled")
# sender: the Appointment a practitioner reviewed; kwargs: outcome ("approved" | "declined")
review_decided = _signals.signal("review-decided")
