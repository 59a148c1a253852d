"""MLflow plugins shipped with ftlineage (registered as entry points in ``pyproject.toml``).

The run-context provider, the ``ftlineage`` model evaluator and the ``ftlineage-guard``
server app land with the promotion-gate work; this package is their home.
"""
