"""The agent's Kubernetes collector (``collector``): cluster facts read through the API."""
