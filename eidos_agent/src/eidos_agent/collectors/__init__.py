"""Node collectors of the eidos-agent: GPU (``nvidia-smi``), OS (``/etc/os-release``, ``/proc``) and
SystemD (``systemctl show``), each turning what the node reports into one snapshot ``Measurement``.

Every module keeps its parsing as pure functions over text or bytes and puts the I/O in one small
async collector class. A collector never raises because the node lacks something (no GPU, no host
mount, no systemd): it returns a ``CollectorResult`` that says what was skipped and why, so one
missing part does not sink the whole snapshot (design §3.8).
"""

from eidos_agent.collectors.base import Collector, CollectorResult

__all__ = ["Collector", "CollectorResult"]
