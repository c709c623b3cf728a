"""eidos-agent: snapshots a node and its cluster, as a Kubernetes Job (``python -m eidos_agent``).

``collectors`` read the node (K8s, GPU, OS, SystemD), ``snapshotter`` runs them and writes the
snapshot (the one run that ``eidos-cli snapshot`` uses too), ``flags`` declares the run's flags for
both programs.
"""
