"""eidos-agent: runs as a Kubernetes Job and snapshots the cluster and its node.

Only the package exists so far; the collectors and the Job entry point are the subject of
the Kubernetes issue and are not written yet.
"""
