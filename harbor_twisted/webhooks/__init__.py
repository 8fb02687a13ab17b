"""Project webhooks: policies, the dispatch of outbox events to them, and delivery by the
job service."""
