"""Values in MLflow search filters, quoted so that a name can never change the query."""

from __future__ import annotations

from ftlineage.errors import BadInputError
from ftlineage.readers import shown


def literal(value: str) -> str:
    """``value`` as a string literal of an MLflow search filter (``name = <literal>``).

    MLflow's filter parser (sqlparse) reads a value as the text between two matching quotes and
    MLflow never unescapes it; inside, a backslash before the closing quote escapes it. So a
    value without ``'`` is single-quoted and one with ``'`` but no ``"`` double-quoted, and
    ``x' OR '1'='1`` stays one value. A value holding both quote characters, or ending in a
    backslash, cannot be written in a filter and is refused
    (:class:`~ftlineage.errors.BadInputError`) rather than guessed at.
    """
    if not value.endswith("\\"):
        if "'" not in value:
            return f"'{value}'"
        if '"' not in value:
            return f'"{value}"'
    raise BadInputError(
        f"{shown(value)}: a name holding both ' and \" or ending in a backslash cannot be looked up "
        "in MLflow; use another name"
    )
