"""What happened in screening, for whoever must follow (the staff alert email)."""

from blinker import Namespace

_signals = Namespace()

# sender: the CallBack raised for an emergency-tier screening (flushed, with an id)
call_back_raised = _signals.signal("call-back-raised")
