from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def minilm():
    """The offline MiniLM the audit uses (loaded once)."""
    from ftlineage.audit import get_embedder

    return get_embedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def healthcare():
    from ftlineage import suites

    return suites.load("healthcare_v17")
