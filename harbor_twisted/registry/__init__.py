"""The OCI Distribution API (v1.1): blobs, uploads, manifests, tags, referrers, catalog."""
