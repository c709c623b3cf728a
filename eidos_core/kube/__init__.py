"""Kubernetes access through the real kubernetes_asyncio client: making a client
(``client``), turning API errors into Eidos errors (``errors``), ConfigMap reads and writes
(``configmaps``). Needs the ``eidos-core[k8s]`` extra."""
