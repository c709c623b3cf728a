"""Run the agent Job and bring back its snapshot.

Create the RBAC objects (an existing one is left as it is, and is not ours to delete),
replace any previous Job, wait for the new one to finish (progress on a terminal), read the
snapshot ConfigMap it wrote, and on ``cleanup`` delete exactly the objects this run created.
A failed Job shows the last lines of its pod's log.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from eidos_cli.agent.manifests import NAME_LABEL, AgentOptions, job_object, rbac_objects
from eidos_core.errors import EidosError, NotFoundError, TimeoutExceededError, UnavailableError
from eidos_core.kube.client import api_client, raw_json
from eidos_core.kube.errors import api_errors

log = logging.getLogger("eidos_cli.agent")

POLL_SECONDS = 0.5
DELETE_WAIT_SECONDS = 30.0
LOG_TAIL_LINES = 20

Call = Callable[..., Awaitable[Any]]


class JobFailedError(UnavailableError):
    """The agent Job ran and failed: the cluster could not produce a snapshot (exit 6)."""

    code = "JOB_FAILED"


@dataclass(frozen=True, slots=True)
class Kind:
    resource: str  # plural, for messages and RBAC hints
    namespaced: bool
    create: Call
    delete: Call


def _kinds(api: Any) -> dict[str, Kind]:
    core, rbac, batch = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api), client.BatchV1Api(api)
    return {
        "ServiceAccount": Kind(
            "serviceaccounts", True, core.create_namespaced_service_account, core.delete_namespaced_service_account
        ),
        "Role": Kind("roles", True, rbac.create_namespaced_role, rbac.delete_namespaced_role),
        "RoleBinding": Kind(
            "rolebindings", True, rbac.create_namespaced_role_binding, rbac.delete_namespaced_role_binding
        ),
        "ClusterRole": Kind("clusterroles", False, rbac.create_cluster_role, rbac.delete_cluster_role),
        "ClusterRoleBinding": Kind(
            "clusterrolebindings", False, rbac.create_cluster_role_binding, rbac.delete_cluster_role_binding
        ),
        "Job": Kind("jobs", True, batch.create_namespaced_job, batch.delete_namespaced_job),
    }


@dataclass
class Deployment:
    """What one run created, in creation order, so cleanup removes exactly that."""

    created: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, namespace, name)


async def _create(kinds: dict[str, Kind], obj: dict[str, Any], done: Deployment) -> None:
    kind, meta = kinds[obj["kind"]], obj["metadata"]
    ns = meta.get("namespace", "")
    args = (ns, obj) if kind.namespaced else (obj,)
    async with api_errors(verb="create", resource=kind.resource, namespace=ns, name=meta["name"]):
        try:
            await raw_json(kind.create(*args, _preload_content=False))
        except ApiException as exc:
            if exc.status != 409:  # 409 AlreadyExists: someone's object, used as it is and not ours to delete
                raise
            log.info("already exists; using it as it is", extra={"kind": obj["kind"], "object": meta["name"]})
            return
    done.created.append((obj["kind"], ns, meta["name"]))


async def _read_job(batch: Any, ns: str, name: str) -> dict[str, Any] | None:
    try:
        async with api_errors(verb="get", resource="jobs", namespace=ns, name=name):
            job: dict[str, Any] = await raw_json(batch.read_namespaced_job(name, ns, _preload_content=False))
            return job
    except NotFoundError:
        return None


async def _replace_previous_job(batch: Any, opts: AgentOptions) -> None:
    ns, name = opts.namespace, opts.job_name
    if await _read_job(batch, ns, name) is None:
        return
    log.info("deleting the previous agent Job", extra={"job": f"{ns}/{name}"})
    async with api_errors(verb="delete", resource="jobs", namespace=ns, name=name):
        try:
            await raw_json(
                batch.delete_namespaced_job(name, ns, propagation_policy="Foreground", _preload_content=False)
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + DELETE_WAIT_SECONDS
    while await _read_job(batch, ns, name) is not None:
        if time.monotonic() > deadline:
            raise TimeoutExceededError(f"the previous Job {ns}/{name} was not deleted within {DELETE_WAIT_SECONDS:g}s")
        await asyncio.sleep(POLL_SECONDS)


def _condition(job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return dict(cond)
    return None


class _Progress:
    """A one-line elapsed-time indicator on stderr, only when a person is watching."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()

    def tick(self, state: str) -> None:
        if self.tty:
            sys.stderr.write(f"\r{self.what}: {state} ({time.monotonic() - self.start:.0f}s)\033[K")
            sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


async def _pod_log_tail(core: Any, opts: AgentOptions) -> str:
    try:
        pods = await raw_json(
            core.list_namespaced_pod(opts.namespace, label_selector=f"job-name={opts.job_name}", _preload_content=False)
        )
        items = pods.get("items") or []
        if not items:
            pods = await raw_json(
                core.list_namespaced_pod(opts.namespace, label_selector=f"{NAME_LABEL}=eidos", _preload_content=False)
            )
            items = pods.get("items") or []
        if not items:
            return "(no agent pod found)"
        name = items[0]["metadata"]["name"]
        text = await core.read_namespaced_pod_log(name, opts.namespace, tail_lines=LOG_TAIL_LINES)
        return str(text).rstrip() or "(the pod wrote no log)"
    except (ApiException, OSError, KeyError) as exc:
        return f"(pod log unavailable: {exc})"


# Waiting reasons that do not resolve by themselves: waiting out --timeout would only hide them.
STUCK = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
                   "CreateContainerError"})  # fmt: skip


async def _stuck_pod(core: Any, opts: AgentOptions) -> str | None:
    """Why the agent pod cannot start (an image that cannot be pulled, say), if it cannot."""
    try:
        pods = await raw_json(
            core.list_namespaced_pod(opts.namespace, label_selector=f"job-name={opts.job_name}", _preload_content=False)
        )
    except (ApiException, OSError):
        return None  # the Job's own status still decides
    for pod in pods.get("items") or []:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in STUCK:
                return f"{waiting['reason']}: {waiting.get('message') or 'no details'}"
    return None


async def _wait_for_job(api: Any, opts: AgentOptions, wait_s: float) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    progress = _Progress(f"agent Job {opts.namespace}/{opts.job_name}")
    deadline = time.monotonic() + wait_s
    failure = ""
    error: type[EidosError] = JobFailedError
    try:
        while True:
            job = await _read_job(batch, opts.namespace, opts.job_name)
            if job is None:
                failure = "the Job disappeared before it finished"
                break
            if _condition(job, "Complete"):
                return
            failed = _condition(job, "Failed")
            if failed:
                failure = f"the Job failed: {failed.get('reason') or ''} {failed.get('message') or ''}".rstrip()
                break
            stuck = await _stuck_pod(core, opts)
            if stuck:
                failure = f"the agent pod cannot start ({stuck})"
                break
            active = (job.get("status") or {}).get("active") or 0
            progress.tick("running" if active else "pending")
            if time.monotonic() > deadline:
                failure, error = f"the Job did not finish within {wait_s:g}s", TimeoutExceededError
                break
            await asyncio.sleep(POLL_SECONDS)
    finally:
        progress.done()
    tail = await _pod_log_tail(core, opts)
    sys.stderr.write(f"--- agent log (last {LOG_TAIL_LINES} lines) ---\n{tail}\n--- end of agent log ---\n")
    raise error(failure)


async def _cleanup(kinds: dict[str, Kind], done: Deployment) -> None:
    problems: list[str] = []
    for kind_name, ns, name in reversed(done.created):
        kind = kinds[kind_name]
        args = (name, ns) if kind.namespaced else (name,)
        extra = {"propagation_policy": "Foreground"} if kind_name == "Job" else {}
        try:
            async with api_errors(verb="delete", resource=kind.resource, namespace=ns, name=name):
                await raw_json(kind.delete(*args, _preload_content=False, **extra))
        except NotFoundError:
            continue
        except EidosError as exc:
            problems.append(f"{kind_name} {name}: {exc.message}")
    if problems:
        log.warning("cleanup incomplete; delete these by hand", extra={"left": "; ".join(problems)})


async def run_agent(opts: AgentOptions, *, wait_s: float, cleanup: bool, kubeconfig: str | None) -> None:
    """Deploy, wait for the snapshot to be written to ``opts.output``, clean up what we created."""
    async with api_client(kubeconfig) as api:
        kinds = _kinds(api)
        done = Deployment()
        try:
            for obj in rbac_objects(opts):
                await _create(kinds, obj, done)
            await _replace_previous_job(client.BatchV1Api(api), opts)
            await _create(kinds, job_object(opts), done)
            log.info("agent Job created; waiting for it", extra={"job": f"{opts.namespace}/{opts.job_name}"})
            await _wait_for_job(api, opts, wait_s)
        finally:
            if cleanup:
                # Shielded: an interrupted wait still removes what this run created.
                await asyncio.shield(_cleanup(kinds, done))
