"""Every table of the schema, in one MetaData (what Alembic compares against)."""

from harbor_twisted.db import identity_models as identity_models
from harbor_twisted.db.models import metadata

__all__ = ["identity_models", "metadata"]
