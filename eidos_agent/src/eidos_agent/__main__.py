"""``python -m eidos_agent``: snapshot this node and its cluster, write the snapshot.

Runs as a Kubernetes Job (non-root, read-only root filesystem). The run itself is
:func:`eidos_agent.snapshotter.run_snapshot`, the same one ``eidos-cli snapshot`` calls, with the
same flags (``eidos_agent.flags``) and the same exit codes: 0 when the snapshot was written; 1 when
every collector was skipped (nothing is written); otherwise the failed write's code (6 when the
Kubernetes API stays unavailable past ``--api-deadline``, 5 when its last try timed out, 4 when
RBAC forbids it, 3 when the namespace does not exist, 2 for a bad flag or a destination that cannot
be written); 8 for a bug. The snapshot goes to ``--output`` (default ``cm://<namespace>/eidos-snapshot``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from eidos_agent.flags import add_collection_flags, add_node_flags, options_from_args, positive_seconds
from eidos_core import __version__
from eidos_core.errors import EidosError

log = logging.getLogger("eidos_agent")

DEFAULT_NAMESPACE = "gpu-operator"


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    p = argparse.ArgumentParser(
        prog="python -m eidos_agent",
        description="Snapshot this node (K8s, GPU, OS, SystemD) and write it to a ConfigMap, a file or stdout. "
        "Exit 0 when written; 1 when every collector was skipped (nothing is written); otherwise the failed "
        "write's code: 6 API unavailable past --api-deadline, 5 timed out, 4 forbidden, 3 namespace not found, "
        "2 bad flag or destination.",
        epilog="example:\n  NODE_NAME=gpu-node-1 python -m eidos_agent --output cm://gpu-operator/eidos-snapshot",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-o", "--output", metavar="URI",
        help="where to write: cm://namespace/name, a file, or - for stdout (default: cm://<namespace>/eidos-snapshot)",
    )  # fmt: skip
    p.add_argument(
        "--namespace",
        default=env.get("EIDOS_NAMESPACE") or env.get("POD_NAMESPACE") or DEFAULT_NAMESPACE,
        help="namespace of the default output ConfigMap (env EIDOS_NAMESPACE or POD_NAMESPACE; default gpu-operator)",
    )
    add_node_flags(p, env=env)
    add_collection_flags(p, env=env)
    # The collector limit's former name, kept for manifests written before it was renamed.
    p.add_argument(
        "--timeout", dest="collector_timeout", type=positive_seconds, default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    p.add_argument("--format", choices=("yaml", "json"), default="yaml", help="document format (default yaml)")
    p.add_argument(
        "--kubeconfig", metavar="FILE",
        help="kubeconfig file (default: the in-cluster service account, else $KUBECONFIG, else ~/.kube/config)",
    )  # fmt: skip
    p.add_argument("--version", action="version", version=f"eidos-agent {__version__}")
    return p


async def run(args: argparse.Namespace) -> int:
    from eidos_agent.snapshotter import run_snapshot

    output = args.output or f"cm://{args.namespace}/eidos-snapshot"
    await run_snapshot(options_from_args(args, output=output, kubeconfig=args.kubeconfig))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    try:
        return asyncio.run(run(args))
    except EidosError as exc:
        print(f"eidos-agent: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("eidos-agent: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: the trace for the Job's log, and the CLI's internal-error code
        log.error("internal error", exc_info=True)
        print(f"eidos-agent: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EidosError.exit_code


if __name__ == "__main__":
    sys.exit(main())
