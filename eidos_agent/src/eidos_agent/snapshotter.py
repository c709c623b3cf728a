"""The one snapshot run of Eidos: collectors side by side, one snapshot, written.

Both programs that take a snapshot call :func:`run_snapshot`: ``python -m eidos_agent`` (inside
the agent Job) and ``eidos-cli snapshot`` on the local machine; ``eidos-cli snapshot
--deploy-agent`` runs the agent in a Job, so it ends up here too. The run lives in eidos-agent,
next to the collectors it drives, because eidos-cli already depends on eidos-agent (its
``setup.cfg``) while eidos-core, which both depend on, knows nothing of collectors; the flags
that configure a run are declared once as well (``eidos_agent.flags``).

A collector that cannot see its source (no GPU, no host mount, no systemd, not in a cluster)
says why; the snapshot records it under ``metadata`` (``collector.<name>: ok | partial: … |
skipped: …``) instead of failing as a whole.

Failure semantics, the same for both entry points (the exit code is the error's ``exit_code``):

* every chosen collector skipped: :class:`NothingCollectedError`, exit 1, nothing written (a
  snapshot of nothing but reasons would mislead a recipe query);
* otherwise the write decides: 0 when it worked; 6 when the Kubernetes API stays unavailable
  past ``api_deadline`` seconds of retries; 5 when its last try timed out; 4 when RBAC forbids
  the write; 3 when the namespace does not exist; 2 for a destination that cannot be written
  (a bad URI, an http(s) URL, a ConfigMap over 1 MiB, a 422 from the API server).

Every time limit comes from :class:`SnapshotOptions` (that is, from flags): each collector's
(``collector_timeout``), ``nvidia-smi``'s (``gpu_timeout``) and the Kubernetes retry deadline
(``api_deadline``, once for the K8s collector and once for the write).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from eidos_agent.collectors import NAMES, build_collectors
from eidos_agent.collectors.base import Collector, CollectorResult
from eidos_agent.flags import DEFAULT_API_DEADLINE, DEFAULT_COLLECTOR_TIMEOUT, DEFAULT_GPU_TIMEOUT
from eidos_core import API_VERSION, __version__
from eidos_core.errors import EidosError, InvalidRequestError
from eidos_core.io.documents import Format, write_document
from eidos_core.io.uri import Scheme, parse_uri
from eidos_core.kube.retry import RetryPolicy, use_policy
from eidos_core.snapshot.model import SNAPSHOT_KIND, Snapshot, snapshot_to_document

log = logging.getLogger("eidos_agent.snapshotter")

ORDER = ("K8s", "SystemD", "OS", "GPU")


class NothingCollectedError(EidosError):
    """Every collector was skipped: there is no snapshot to write (exit 1 from both programs)."""

    code = "NOTHING_COLLECTED"
    http_status = 503
    exit_code = 1
    retryable = False


@dataclass(frozen=True, slots=True)
class SnapshotOptions:
    """One snapshot run: where it goes, which collectors run, and every time limit it has."""

    output: str
    fmt: Format = "yaml"
    collectors: tuple[str, ...] = NAMES
    node_name: str = ""
    host_root: str = ""
    kubeconfig: str | None = None
    collector_timeout: float = DEFAULT_COLLECTOR_TIMEOUT
    gpu_timeout: float = DEFAULT_GPU_TIMEOUT
    api_deadline: float = DEFAULT_API_DEADLINE


def status_of(result: CollectorResult) -> str:
    if result.skipped_reason is not None or result.measurement is None:
        return f"skipped: {result.skipped_reason or 'nothing collected'}"
    return f"partial: {'; '.join(result.notes)}" if result.notes else "ok"


async def _guarded(collector: Collector, limit_s: float) -> CollectorResult:
    try:
        async with asyncio.timeout(limit_s):
            return await collector.collect()
    except TimeoutError:
        return CollectorResult(collector.name, None, skipped_reason=f"timed out after {limit_s:g}s")
    except Exception as exc:  # one broken collector must not sink the others
        return CollectorResult(collector.name, None, skipped_reason=f"{type(exc).__name__}: {exc}")


async def collect_all(collectors: Sequence[Collector], limit_s: float) -> list[CollectorResult]:
    return list(await asyncio.gather(*(_guarded(c, limit_s) for c in collectors)))


def assemble(results: Sequence[CollectorResult], *, node: str, version: str, now: datetime | None = None) -> Snapshot:
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata = {"timestamp": stamp, "version": version, "source-node": node}
    for result in sorted(results, key=lambda r: r.name):
        metadata[f"collector.{result.name}"] = status_of(result)
    found = [r.measurement for r in results if r.measurement is not None]
    found.sort(key=lambda m: ORDER.index(m.type) if m.type in ORDER else len(ORDER))
    return Snapshot(metadata=metadata, measurements=tuple(found), kind=SNAPSHOT_KIND, api_version=API_VERSION)


async def take_snapshot(options: SnapshotOptions) -> Snapshot:
    """Run the chosen collectors and assemble their snapshot; :class:`NothingCollectedError` when
    every one was skipped. Kubernetes calls retry under the current policy (see :func:`run_snapshot`)."""
    collectors = build_collectors(
        options.collectors,
        node_name=options.node_name,
        kubeconfig=options.kubeconfig,
        gpu_timeout=options.gpu_timeout,
        host_root=options.host_root,
    )
    results = await collect_all(collectors, options.collector_timeout)
    for result in results:
        log.info("collector %s: %s", result.name, status_of(result))
    if all(result.skipped for result in results):
        statuses = {result.name: status_of(result) for result in results}
        raise NothingCollectedError(
            "no collector succeeded; nothing written ("
            + "; ".join(f"{name}: {status}" for name, status in statuses.items())
            + ")",
            details={"collectors": statuses},
        )
    return assemble(results, node=options.node_name, version=__version__)


async def run_snapshot(options: SnapshotOptions) -> Snapshot:
    """Take a snapshot and write it to ``options.output``; the snapshot written is returned.

    Raises an ``EidosError`` whose ``exit_code`` is the program's exit status (module docstring).
    A destination that can never be written fails before any collector runs.
    """
    target = parse_uri(options.output)
    if target.scheme is Scheme.HTTP:
        raise InvalidRequestError(f"{target}: http(s) locations are read-only; write to a file, - or cm://")
    with use_policy(RetryPolicy(deadline=options.api_deadline)):
        snapshot = await take_snapshot(options)
        where = await write_document(
            options.output,
            snapshot_to_document(snapshot),
            component="snapshot",
            fmt=options.fmt,
            kubeconfig=options.kubeconfig,
        )
    log.info("snapshot written to %s", where)
    return snapshot
