"""Admin: the clinic's set-up (services, hours, closures, policy, consent) and the audit log."""
