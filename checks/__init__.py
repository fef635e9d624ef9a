"""Shipped checks, one theme per file; installed as ``mmspec.checks`` (see pyproject.toml)."""
