"""Pydantic models of the stack language: the one source of truth for its schema and docs."""
