"""Node collectors of the eidos-agent: K8s (the API server), GPU (``nvidia-smi``), OS
(``/etc/os-release``, ``/proc``) and SystemD (``systemctl show``), each turning what the node
reports into one snapshot ``Measurement``.

Every module keeps its parsing as pure functions over text or bytes and puts the I/O in one small
async collector class. A collector never raises because the node lacks something (no GPU, no host
mount, no systemd): it returns a ``CollectorResult`` that says what was skipped and why, so one
missing part does not sink the whole snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable

from eidos_agent.collectors.base import Collector, CollectorResult

NAMES = ("k8s", "gpu", "os", "systemd")

__all__ = ["NAMES", "Collector", "CollectorResult", "build_collectors"]


def build_collectors(
    names: Iterable[str] = NAMES,
    *,
    node_name: str = "",
    kubeconfig: str | None = None,
    gpu_timeout: float = 10.0,
    host_root: str = "",
) -> list[Collector]:
    """The named collectors, configured (the agent's and ``eidos-cli snapshot``'s one recipe)."""
    # Imported on demand: a node-only run never loads the Kubernetes client.
    chosen: list[Collector] = []
    for name in names:
        if name == "k8s":
            from eidos_agent.collectors.k8s import K8sCollector

            chosen.append(K8sCollector(node_name, kubeconfig))
        elif name == "gpu":
            from eidos_agent.collectors.gpu import GpuCollector

            chosen.append(GpuCollector(timeout=gpu_timeout))
        elif name == "os":
            from eidos_agent.collectors.os import OsCollector

            chosen.append(OsCollector(host_root=host_root or None))
        elif name == "systemd":
            from eidos_agent.collectors.systemd import SystemdCollector

            chosen.append(SystemdCollector())
        else:
            raise ValueError(f"unknown collector {name!r} (choose from {', '.join(NAMES)})")
    return chosen
