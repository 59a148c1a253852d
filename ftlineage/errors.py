"""One exception root for ftlineage, with the process exit code each kind maps to.

Exit codes are part of the CLI contract:

* ``0`` the job passed (or the command succeeded);
* ``1`` an unexpected internal error (a bug: please report it);
* ``2`` bad input: a malformed recipe, suite, corpus or config, a name or run id that does not
  exist, or an address where nothing answers (a tracking server, an endpoint candidate);
* ``3`` the data audit blocked training;
* ``4`` the promotion gate blocked registration, or a promotion was refused;
* ``5`` a promotion lost a race: another one moved the alias first;
* ``6`` traces are still waiting on disk for their server (``ftlineage traces sync``);
* ``7`` a service of the development stack could not start or stop (``ftlineage stack``).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_AUDIT_BLOCKED = 3
EXIT_GATE_BLOCKED = 4
EXIT_CONFLICT = 5
EXIT_STACK = 7


class FtlineageError(Exception):
    """Root of every error ftlineage raises on purpose."""

    exit_code = EXIT_INTERNAL


class BadInputError(FtlineageError):
    """A user-supplied file or value is malformed; the message names file, row and fix."""

    exit_code = EXIT_BAD_INPUT


class RecipeError(BadInputError):
    """The recipe YAML is unreadable or fails validation."""


class SuiteError(BadInputError):
    """An eval suite is unknown, malformed, or its bytes no longer match its lock."""


class CorpusError(BadInputError):
    """A corpus file or row is malformed."""


class TrackingUnreachable(BadInputError):
    """Nothing answers at the tracking URI (``MLFLOW_TRACKING_URI``); found with one bounded probe."""


class AuditBlocked(FtlineageError):
    """The data audit blocked training (a command that trains without the main job's report)."""

    exit_code = EXIT_AUDIT_BLOCKED


class PromotionRefused(FtlineageError):
    """A promotion was refused: no passing decision, or evidence that does not verify."""

    exit_code = EXIT_GATE_BLOCKED


class PromotionConflict(FtlineageError):
    """Another promotion moved the alias between this one's read and its write."""

    exit_code = EXIT_CONFLICT


class StackError(FtlineageError):
    """A service of the development stack could not start or stop; the message says which and why."""

    exit_code = EXIT_STACK


class MissingDependencyError(FtlineageError):
    """An optional dependency a chosen feature needs is not installed."""

    exit_code = EXIT_BAD_INPUT


def missing_dependency(package: str, feature: str) -> MissingDependencyError:
    """The error to raise when ``feature`` needs ``package``, with the install hint."""
    return MissingDependencyError(
        f"{feature} needs {package!r}, which is not installed; pip install '{package}'"
    )
