"""Corpus readers and deterministic generators for the bundled data."""

from ftlineage.data._corpus import read_corpus

__all__ = ["read_corpus"]
