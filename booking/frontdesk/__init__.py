"""The front desk: the board, visit actions, phone booking, time off, needs attention, patients.

It reads the layers below it (scheduling, intake for the screening tier only, notify for failed
messages) and is read only by `web`. Every change is written to the audit log.
"""
