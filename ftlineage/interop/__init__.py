"""Interop with other eval tools (deepeval)."""
