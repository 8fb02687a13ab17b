"""Authentication: token signing keys, JWTs, scopes, password hashing, authenticators."""
