"""Blob storage: the interface the registry uses and its filesystem driver."""
