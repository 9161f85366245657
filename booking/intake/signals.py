"""What happened in screening, for whoever must follow (the staff alert email)."""

from blinker import Namespace

_signals = Namespace()

# sender: the CallBack raised for an emergency-tier screening (flushed, with an id)
call_back_raised = _signals.signal("call-back-raised")
# sender: the Intake just stored (flushed, with an id), perhaps for an appointment; sent in the
# storing transaction, so what follows (the emails' urgent wording) commits with it
intake_recorded = _signals.signal("intake-recorded")
