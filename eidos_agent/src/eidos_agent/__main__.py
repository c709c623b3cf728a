"""``python -m eidos_agent``: snapshot this node and its cluster, write the snapshot.

Runs as a Kubernetes Job (non-root, read-only root filesystem): collectors run side by side,
each tolerant of what it cannot see; the snapshot goes to ``--output`` (default
``cm://<namespace>/eidos-snapshot``). Exit 0 when at least one collector succeeded and the
write worked; 1 when no collector produced anything; otherwise the error's exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from eidos_agent.collectors import NAMES, build_collectors
from eidos_agent.collectors.k8s import node_name_from_env
from eidos_agent.snapshotter import assemble, collect_all, status_of
from eidos_core import __version__
from eidos_core.errors import EidosError
from eidos_core.io.documents import write_document
from eidos_core.kube.retry import RetryPolicy, use_policy
from eidos_core.snapshot.model import snapshot_to_document

log = logging.getLogger("eidos_agent")

COLLECTORS = NAMES
DEFAULT_NAMESPACE = "gpu-operator"
# The Job runs once (backoffLimit: 0), so an API hiccup must not lose the snapshot; but the CLI that
# deployed it waits 5 minutes: collectors (120 s) plus one deadline for the write stay within that.
DEFAULT_API_DEADLINE = 90.0


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):  # also refuses NaN
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds >= 0")
    return seconds


def _csv(value: str) -> tuple[str, ...]:
    names = tuple(n.strip().lower() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in COLLECTORS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown collector {unknown[0] if unknown else ''!r} (choose from {', '.join(COLLECTORS)})"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    p = argparse.ArgumentParser(
        prog="python -m eidos_agent",
        description="Snapshot this node (K8s, GPU, OS, SystemD) and write it to a ConfigMap or a file.",
        epilog="example:\n  NODE_NAME=gpu-node-1 python -m eidos_agent --output cm://gpu-operator/eidos-snapshot",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-o", "--output", help="where to write: cm://ns/name, a file, or - (default: cm://<namespace>/eidos-snapshot)"
    )
    p.add_argument(
        "--namespace",
        default=env.get("EIDOS_NAMESPACE") or env.get("POD_NAMESPACE") or DEFAULT_NAMESPACE,
        help="namespace of the default output ConfigMap (env EIDOS_NAMESPACE or POD_NAMESPACE; default gpu-operator)",
    )
    p.add_argument(
        "--node-name",
        default=node_name_from_env(),
        help="the node to describe (default: env NODE_NAME, set from the downward API)",
    )
    p.add_argument(
        "--host-root",
        default=env.get("EIDOS_HOST_ROOT", ""),
        help="where the host's root filesystem is mounted (e.g. /host); default: read the container's own",
    )
    p.add_argument(
        "--collectors", type=_csv, default=COLLECTORS, help=f"comma-separated subset of {','.join(COLLECTORS)}"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds each collector may take (default 120)")
    p.add_argument("--gpu-timeout", type=float, default=10.0, help="seconds nvidia-smi may take (default 10)")
    p.add_argument(
        "--api-deadline",
        type=_seconds,
        default=env.get("EIDOS_API_DEADLINE") or str(DEFAULT_API_DEADLINE),
        help="seconds to keep retrying transient Kubernetes API failures (429, 5xx, dropped connections, "
        f"timeouts), for the K8s collector and again for the write (env EIDOS_API_DEADLINE; default "
        f"{DEFAULT_API_DEADLINE:g}; 0: no retries)",
    )
    p.add_argument("--format", choices=("yaml", "json"), default="yaml", help="document format (default yaml)")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: in-cluster, else $KUBECONFIG)")
    p.add_argument("--version", action="version", version=f"eidos-agent {__version__}")
    return p


async def run(args: argparse.Namespace) -> int:
    with use_policy(RetryPolicy(deadline=args.api_deadline)):
        return await _run(args)


async def _run(args: argparse.Namespace) -> int:
    collectors = build_collectors(
        args.collectors,
        node_name=args.node_name,
        kubeconfig=args.kubeconfig,
        gpu_timeout=args.gpu_timeout,
        host_root=args.host_root,
    )
    results = await collect_all(collectors, args.timeout)
    for result in results:
        log.info("collector %s: %s", result.name, status_of(result))
    snapshot = assemble(results, node=args.node_name, version=__version__)
    if all(result.skipped for result in results):
        # A snapshot of nothing but reasons would mislead a recipe query: refuse, write nothing.
        print("eidos-agent: no collector succeeded; nothing written:", file=sys.stderr)
        for result in results:
            print(f"  {result.name}: {status_of(result)}", file=sys.stderr)
        return 1
    output = args.output or f"cm://{args.namespace}/eidos-snapshot"
    where = await write_document(output, snapshot_to_document(snapshot), component="snapshot", fmt=args.format,
                                 kubeconfig=args.kubeconfig)  # fmt: skip
    log.info("snapshot written to %s", where)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    try:
        return asyncio.run(run(args))
    except EidosError as exc:
        print(f"eidos-agent: {exc.message}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
