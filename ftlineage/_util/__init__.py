"""Shared internals of the command line and the stages (not public API)."""

from ftlineage._util._locks import file_lock
from ftlineage._util._staging import staged_folder

__all__ = ["file_lock", "staged_folder"]
