"""The snapshot document (what the agent captures) and what can be derived from it."""
