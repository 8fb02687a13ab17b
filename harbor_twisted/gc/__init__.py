"""Garbage collection: the job kind (job.py) and its API rules (control.py)."""
