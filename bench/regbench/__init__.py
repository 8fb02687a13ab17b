"""Helpers for bench/run.py: side-by-side benchmark of two OCI registries."""
