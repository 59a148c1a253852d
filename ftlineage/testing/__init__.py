"""Helpers for testing ftlineage and its adapters (no network, no GPU)."""
