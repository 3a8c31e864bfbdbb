"""Bulk import of licence lists: reading files safely, validating rows, writing the register."""
