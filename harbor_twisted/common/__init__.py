"""Small helpers every layer may use: name grammar, cron, clock, secret files, the
runtime settings schema, client addresses and this installation's own URL."""
