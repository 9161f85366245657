"""What happened to an appointment or the waitlist, for whoever must follow (emails, offers).

Senders are the scheduling services, inside the request's transaction: a receiver that writes
(the outbox) commits or rolls back together with the change that caused it.
"""

from blinker import Namespace

_signals = Namespace()

# sender: the Appointment, now confirmed or awaiting review
booking_made = _signals.signal("booking-made")
# sender: a booked Appointment (a desk-booked first visit) that its questionnaire's screening
# now holds for a clinician's review: confirmed before, awaiting review now
booking_held_for_review = _signals.signal("booking-held-for-review")
# sender: the Appointment; kwargs: previous_start (datetime)
booking_moved = _signals.signal("booking-moved")
# sender: the Appointment, now cancelled; kwargs: by ("patient" | "clinic")
booking_cancelled = _signals.signal("booking-cancelled")
# sender: the Appointment a practitioner reviewed; kwargs: outcome ("approved" | "declined")
review_decided = _signals.signal("review-decided")
# sender: the WaitlistEntry offered a freed time; kwargs: slot (availability.Slot). A receiver
# returns True when it sent the offer, False when this time was already offered to the entry.
waitlist_time_offered = _signals.signal("waitlist-time-offered")
# sender: the VisitSeries just booked; kwargs: visits (its Appointments, confirmed, by start).
# Its visits send no booking_made each: the patient gets one email listing them all.
series_booked = _signals.signal("series-booked")
