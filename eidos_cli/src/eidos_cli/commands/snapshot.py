"""``eidos-cli snapshot``: describe a node and its cluster, here or through an agent Job.

Locally it runs the agent's collectors in this process. With ``--deploy-agent`` it runs them
as a Job on a cluster node (see ``eidos_cli.agent``), then reads the snapshot ConfigMap and
writes it where ``--output`` says.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os

from eidos_cli.agent.manifests import DEFAULT_IMAGE
from eidos_cli.options import add_bool, add_kubeconfig, add_list, add_output
from eidos_core import __version__
from eidos_core.durations import parse_duration
from eidos_core.errors import InvalidRequestError, UnavailableError
from eidos_core.io.documents import read_document, write_document
from eidos_core.io.uri import Scheme, parse_uri
from eidos_core.snapshot.model import snapshot_to_document

log = logging.getLogger("eidos_cli.snapshot")

EXAMPLE = """examples:
  eidos-cli snapshot                                    # this machine, YAML on stdout
  eidos-cli snapshot --deploy-agent -o snapshot.yaml    # a GPU node, through an agent Job
  eidos-cli snapshot --deploy-agent --host --node-selector nvidia.com/gpu.present=true \\
      --toleration nvidia.com/gpu:NoSchedule -o cm://gpu-operator/eidos-snapshot"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    env = os.environ
    p = sub.add_parser(
        "snapshot",
        help="capture a snapshot of a node and its cluster",
        description=(
            "Collect Kubernetes, GPU, OS and SystemD facts. Without --deploy-agent the collectors run "
            "here; with it they run as a Job in the cluster (least-privilege RBAC is created and, with "
            "--cleanup, removed again)."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_output(p, what="the snapshot")
    add_kubeconfig(p)
    p.add_argument("--node-name", default=None, help="node to describe locally (default: env NODE_NAME)")
    p.add_argument("--host-root", default="", help="where the host's / is mounted, for local collection")
    agent = p.add_argument_group("agent Job (--deploy-agent)")
    add_bool(agent, "--deploy-agent", default=False, help="run the collectors as a Job on a cluster node")
    agent.add_argument(
        "--namespace", default=env.get("EIDOS_NAMESPACE") or "gpu-operator",
        help="namespace of the Job and its ConfigMap (env EIDOS_NAMESPACE; default gpu-operator)",
    )  # fmt: skip
    agent.add_argument(
        "--image", default=env.get("EIDOS_IMAGE") or DEFAULT_IMAGE,
        help=f"agent image (env EIDOS_IMAGE; default {DEFAULT_IMAGE})",
    )  # fmt: skip
    add_list(agent, "--image-pull-secret", metavar="NAME", help="image pull secret")
    agent.add_argument("--job-name", default="eidos", help="Job name (default eidos)")
    agent.add_argument(
        "--service-account-name", default="eidos", help="ServiceAccount, Role and RoleBinding name (default eidos)"
    )
    add_list(agent, "--node-selector", metavar="KEY=VALUE", help="node selector for the Job's pod")
    add_list(
        agent, "--toleration", metavar="KEY[=VALUE]:EFFECT",
        help="toleration for the Job's pod; none given tolerates every taint",
    )  # fmt: skip
    agent.add_argument("--timeout", default="5m", help="how long to wait for the Job (Go duration; default 5m)")
    add_bool(agent, "--cleanup", default=True, help="delete the Job and the RBAC objects this run created")
    add_bool(
        agent, "--host", default=False,
        help="host variant: also mount the node's /etc/os-release read-only (the node's OS, not the image's)",
    )  # fmt: skip
    add_bool(
        agent, "--all-gpus", default=False,
        help="see every GPU of the node through NVIDIA_VISIBLE_DEVICES=all instead of requesting one GPU from the "
        "device plugin (needs a device plugin that accepts the variable from unprivileged pods)",
    )  # fmt: skip
    p.set_defaults(run=run)


async def _local(args: argparse.Namespace) -> dict[str, object]:
    from eidos_agent.collectors import build_collectors
    from eidos_agent.collectors.k8s import node_name_from_env
    from eidos_agent.snapshotter import assemble, collect_all, status_of

    node = args.node_name or node_name_from_env()
    collectors = build_collectors(node_name=node, kubeconfig=args.kubeconfig, host_root=args.host_root)
    results = await collect_all(collectors, 120.0)
    for result in results:
        log.info("collector finished", extra={"collector": result.name, "status": status_of(result)})
    if all(result.skipped for result in results):
        raise UnavailableError("no collector succeeded; see the statuses above")
    return snapshot_to_document(assemble(results, node=node, version=__version__))


async def _agent(args: argparse.Namespace) -> object:
    from eidos_cli.agent.deploy import run_agent
    from eidos_cli.agent.manifests import AgentOptions, snapshot_configmap
    from eidos_cli.nodeflags import TOLERATE_ALL, parse_selectors, parse_tolerations

    target = parse_uri(args.output)
    # The Job always writes a ConfigMap; a file or stdout destination is served from it afterwards.
    job_output = str(target) if target.scheme is Scheme.CONFIGMAP else f"cm://{args.namespace}/eidos-snapshot"
    opts = AgentOptions(
        namespace=args.namespace,
        image=args.image,
        job_name=args.job_name,
        service_account=args.service_account_name,
        output=job_output,
        node_selector=parse_selectors(args.node_selector, flag="--node-selector"),
        # The agent must reach whichever GPU node it is sent to, however that node is tainted.
        tolerations=parse_tolerations(args.toleration, flag="--toleration") or TOLERATE_ALL,
        image_pull_secrets=tuple(args.image_pull_secret),
        host=args.host,
        all_gpus=args.all_gpus,
    )
    snapshot_configmap(opts)  # a destination the Job could not write fails before any API call
    timeout = parse_duration("--timeout", args.timeout) or 300.0
    if not math.isfinite(timeout):
        raise InvalidRequestError(f"--timeout={args.timeout!r}: must be a finite duration")
    await run_agent(opts, wait_s=timeout, cleanup=args.cleanup, kubeconfig=args.kubeconfig)
    return await read_document(job_output, kubeconfig=args.kubeconfig)


async def _run(args: argparse.Namespace) -> int:
    target = parse_uri(args.output)  # a bad destination fails before any work
    if args.deploy_agent:
        doc = await _agent(args)
        if target.scheme is Scheme.CONFIGMAP:
            log.info("snapshot saved to ConfigMap", extra={"output": str(target)})
            return 0
    else:
        doc = await _local(args)
    where = await write_document(args.output, doc, component="snapshot", fmt=args.format, kubeconfig=args.kubeconfig)
    log.info("snapshot written", extra={"output": str(where)})
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
