"""`retention simulate` (being written)."""
