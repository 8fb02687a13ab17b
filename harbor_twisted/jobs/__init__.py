"""The job service: a durable queue in the database, workers, a cron scheduler, and the
jobs themselves (garbage collection first)."""
