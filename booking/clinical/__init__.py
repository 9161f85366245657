"""Practitioners' clinical work: intake review, held-booking decisions, visit outcomes, progress.

Services flush; the request commits. Every read of clinical detail and every decision is written
to the audit log by these services, so that no view can show a chart without leaving a trace.
Audit details hold identifiers only.
"""
