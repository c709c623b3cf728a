"""``eidos-cli snapshot --deploy-agent``: run the agent as a Job in the cluster and fetch its snapshot.

``manifests`` builds the objects (pure), ``deploy`` creates, waits and cleans up (async, Kubernetes).
"""
