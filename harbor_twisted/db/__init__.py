"""Metadata database: models, engine, thread-pool runner and migrations."""
