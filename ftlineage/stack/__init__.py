"""The production stack for development and tests: PostgreSQL, an S3 store, the guarded server.

``ftlineage stack up`` starts all three as real processes under one folder; the tests that
matter for production (promotion races, forged evidence, crashes, restarts, load) run on it.
``deploy/compose.yaml`` holds the same settings for a team's own machines.
"""

from ftlineage.errors import EXIT_STACK, StackError
from ftlineage.stack._stack import (
    BUCKET,
    Secrets,
    Stack,
    down,
    load,
    restart_database,
    start_server,
    status,
    up,
)

__all__ = [
    "BUCKET",
    "EXIT_STACK",
    "Secrets",
    "Stack",
    "StackError",
    "down",
    "load",
    "restart_database",
    "start_server",
    "status",
    "up",
]
