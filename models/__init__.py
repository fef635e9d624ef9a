"""Shipped designs, one per file; installed as ``mmspec.models`` (see pyproject.toml)."""
