"""Tag retention's job kind: runs a policy's rules (the rules live in core/retention.py)."""
