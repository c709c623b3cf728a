"""``python -m eidos_agent`` (placeholder until the collectors exist: says so and fails)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eidos_agent",
        description="Snapshot a Kubernetes node (K8s, GPU, OS, SystemD) into a ConfigMap.",
    )
    parser.parse_args(argv)
    print("eidos-agent: the snapshot collectors are not implemented in this version", file=sys.stderr)
    return 8


if __name__ == "__main__":
    sys.exit(main())
