"""Agent-facing tools: the text a model sees, built on the operations."""
