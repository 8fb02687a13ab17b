"""Replication: registry endpoints, policies, the copier and the event consumer."""
