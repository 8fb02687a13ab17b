"""Port of the OCI distribution-spec conformance suite (opencontainers/distribution-spec,
folder conformance/) to pytest, run against the `registry` fixture of tests/conftest.py."""
