"""Practitioners' clinical work: intake review, held-booking decisions, visit outcomes, progress."""
