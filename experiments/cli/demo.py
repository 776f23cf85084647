"""`retention demo` (being written)."""
