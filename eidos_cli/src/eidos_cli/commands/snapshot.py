"""``eidos-cli snapshot``: describe a node and its cluster, here or through an agent Job.

Locally it runs the agent's own snapshot run, :func:`eidos_agent.snapshotter.run_snapshot`, in
this process: the same collectors, flags (``eidos_agent.flags``), time limits and exit codes as
``python -m eidos_agent`` (1 when every collector was skipped and nothing was written, otherwise
the write's code: 6 when the API stays unavailable past ``--api-deadline``, 4 when RBAC forbids
it, …). With ``--deploy-agent`` that run happens in a Job on a cluster node (see
``eidos_cli.agent``), with the collection flags that differ from their defaults passed on to it;
the CLI then reads the snapshot ConfigMap and writes it where ``--output`` says.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os

from eidos_agent.flags import add_collection_flags, add_node_flags, job_args, options_from_args
from eidos_cli.agent.manifests import DEFAULT_IMAGE
from eidos_cli.options import add_bool, add_list, add_output
from eidos_core.durations import parse_duration
from eidos_core.errors import InvalidRequestError
from eidos_core.io.documents import read_document, write_document
from eidos_core.io.uri import Scheme, parse_uri

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
    p.add_argument(
        "-k", "--kubeconfig", metavar="FILE",
        help="kubeconfig of the cluster: the K8s collector's and a cm:// output's here, the Job's with "
        "--deploy-agent (default: the in-cluster service account, else $KUBECONFIG, else ~/.kube/config)",
    )  # fmt: skip
    collection = p.add_argument_group(
        "collection",
        "Here, or with --deploy-agent in the agent Job, which gets every one of these that differs from its "
        "default except --node-name and --host-root. Exit 1 when every collector was skipped (nothing is "
        "written); otherwise the write's code (6 API unavailable past --api-deadline, 4 forbidden).",
    )
    add_node_flags(collection, env=env, note="; not passed to the Job, which describes the node it runs on")
    add_collection_flags(collection, env=env)
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
    agent.add_argument(
        "--timeout", default="5m",
        help="how long to wait for the Job (Go duration; default 5m; 0 means 5m): exit 5 when it has not finished "
        "by then, 6 when it fails",
    )  # fmt: skip
    add_bool(agent, "--cleanup", default=True, help="delete the Job and the RBAC objects this run created")
    add_bool(
        agent, "--host", default=False,
        help="host variant: also mount the node's /etc/os-release read-only at /host/etc/os-release (the node's OS, "
        "not the image's); nothing else of the host, still non-root (the namespace's Pod Security must admit a "
        "hostPath)",
    )  # fmt: skip
    add_bool(
        agent, "--all-gpus", default=False,
        help="see every GPU of the node through NVIDIA_VISIBLE_DEVICES=all instead of requesting one GPU from the "
        "device plugin (needs a device plugin that accepts the variable from unprivileged pods)",
    )  # fmt: skip
    p.set_defaults(run=run)


async def _agent(args: argparse.Namespace) -> object:
    from eidos_cli.agent.deploy import run_agent
    from eidos_cli.agent.manifests import AgentOptions, snapshot_configmap
    from eidos_cli.nodeflags import TOLERATE_ALL, parse_selectors, parse_tolerations

    target = parse_uri(args.output)
    # The Job always writes a ConfigMap; a file or stdout destination is served from it afterwards.
    job_output = str(target) if target.scheme is Scheme.CONFIGMAP else f"cm://{args.namespace}/eidos-snapshot"
    extra = job_args(args)
    if target.scheme is Scheme.CONFIGMAP and args.format != "yaml":
        if args.format not in ("yaml", "json"):
            raise InvalidRequestError(f"--format={args.format}: the agent Job writes a ConfigMap as yaml or json")
        extra += ["--format", args.format]
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
        agent_args=tuple(extra),
    )
    snapshot_configmap(opts)  # a destination the Job could not write fails before any API call
    timeout = parse_duration("--timeout", args.timeout) or 300.0
    if not math.isfinite(timeout):
        raise InvalidRequestError(f"--timeout={args.timeout!r}: must be a finite duration")
    if timeout <= args.collector_timeout + args.api_deadline:
        log.warning(
            "--timeout may end the wait before the agent has written its snapshot",
            extra={"timeout": f"{timeout:g}s", "collector_timeout": f"{args.collector_timeout:g}s",
                   "api_deadline": f"{args.api_deadline:g}s"},
        )  # fmt: skip
    await run_agent(opts, wait_s=timeout, cleanup=args.cleanup, kubeconfig=args.kubeconfig)
    return await read_document(job_output, kubeconfig=args.kubeconfig)


async def _run(args: argparse.Namespace) -> int:
    if not args.deploy_agent:
        from eidos_agent.snapshotter import run_snapshot

        await run_snapshot(options_from_args(args, output=args.output, kubeconfig=args.kubeconfig))
        return 0
    target = parse_uri(args.output)  # a bad destination fails before any work
    doc = await _agent(args)
    if target.scheme is Scheme.CONFIGMAP:
        log.info("snapshot saved to ConfigMap", extra={"output": str(target)})
        return 0
    where = await write_document(args.output, doc, component="snapshot", fmt=args.format, kubeconfig=args.kubeconfig)
    log.info("snapshot written", extra={"output": str(where)})
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
