"""`retention analyze` (being written)."""
