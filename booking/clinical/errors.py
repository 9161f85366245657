"""What a practitioner's action can run into; the messages are for the practitioner."""

from __future__ import annotations


class ClinicalError(Exception):
    """The action cannot be done as asked; the message is for the practitioner."""


class ReviewNotPending(ClinicalError):
    """The booking is no longer awaiting review (someone decided first, or it was cancelled)."""
