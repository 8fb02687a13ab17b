"""Every table of the schema, in one MetaData (what Alembic compares against)."""

from harbor_twisted.db import artifact_models as artifact_models
from harbor_twisted.db import identity_models as identity_models
from harbor_twisted.db import job_models as job_models
from harbor_twisted.db import policy_models as policy_models
from harbor_twisted.db import replication_models as replication_models
from harbor_twisted.db import session_models as session_models
from harbor_twisted.db import webhook_models as webhook_models
from harbor_twisted.db.models import metadata

__all__ = ["artifact_models", "identity_models", "job_models", "metadata",
           "policy_models", "replication_models", "session_models", "webhook_models"]
