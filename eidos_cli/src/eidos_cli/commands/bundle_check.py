"""``eidos-cli bundle check DIR``: pre-flight check of a bundle against its real charts.

``bundle`` itself is a command with options only (``-r``, ``-o``, …); :func:`attach` adds
``check`` as an action under it without changing what ``eidos-cli bundle -r …`` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eidos_cli.commands.bundle_actions import bundle_actions
from eidos_cli.parser import Parser

FORMATS = ("table", "json", "yaml")
# 1.34: `helm template` offline advertises every API version client-go knows (resource.k8s.io/v1
# included), so charts pick versions a 1.34 cluster serves; an older target reports them.
DEFAULT_KUBERNETES_VERSION = "1.34"

EXAMPLE = """examples:
  eidos-cli bundle check ./bundle
  eidos-cli bundle check ./bundle --charts ../shared/upstream-charts
  eidos-cli bundle check ./bundle --charts http://127.0.0.1:8879/ --strict -t json

what is checked, per enabled step of install-plan.yaml (in install order):
  unknown-key   a value the bundle sets that the chart does not have (Helm ignores it silently);
                the chart's values.schema.json decides where it says additionalProperties,
                its default values.yaml elsewhere; empty/null defaults, *annotations, *labels
                and nodeSelector are open maps; subchart keys are checked against the subchart
  missing-crd   a custom resource whose CRD no earlier (or the same) step provides
  namespace     an object in a namespace no step creates by then
  reference     a ConfigMap, Secret or Service named in values that no step renders
  schema        a built-in object invalid for --kubernetes-version, or a custom resource
                invalid for its CRD's openAPIV3Schema
  order         dependsOn on a later or disabled step; render, missing-file: what could not be read

--cache DIR (or EIDOS_CHECK_CACHE=DIR) keeps each step's render and schema check, keyed by a
sha256 of everything they depend on (chart package, release, namespace, values bytes, Kubernetes
version, --api-versions set, helm version): a pipeline checking many bundles renders each
distinct step once.

charts come from --charts (a directory of .tgz packages or a chart repository URL), else the
bundle's charts/, else the Helm cache; helm on PATH renders them. A chart that cannot be had
leaves its component unchecked, with the reason (an error only with --strict).

exit status: 0 no findings, 7 findings (or unchecked components with --strict),
2 cannot run (no helm on PATH, no or invalid install-plan.yaml, bad flags)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="check a bundle against its real charts before installing it",
        description="Render every step of a bundle's install-plan.yaml with its real chart and report "
        "values the chart does not have, custom resources without CRDs, namespaces nothing creates, "
        "dangling ConfigMap/Secret/Service references and schema errors, by component, file and key.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="the bundle directory (with install-plan.yaml)")
    p.add_argument(
        "--charts", metavar="DIR|URL",
        help="chart packages: a directory of .tgz files (index.yaml optional) or a chart repository URL",
    )  # fmt: skip
    p.add_argument("--strict", action="store_true", help="a component whose chart cannot be had is a failure")
    p.add_argument(
        "--kubernetes-version", default=DEFAULT_KUBERNETES_VERSION, metavar="V",
        help=f"Kubernetes version to render for and validate against (default: {DEFAULT_KUBERNETES_VERSION})",
    )  # fmt: skip
    p.add_argument(
        "--cache", metavar="DIR",
        help="reuse renders and schema checks of identical steps across runs, stored in DIR "
        "(default: $EIDOS_CHECK_CACHE; no cache when neither is set)",
    )  # fmt: skip
    p.add_argument("-t", "--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.set_defaults(run=run)


def attach(bundle_parser: Parser) -> None:
    """Add ``check`` under ``bundle``; ``-r`` stays required for ``bundle`` itself."""
    if "check" not in bundle_parser.subcommands:
        register(bundle_actions(bundle_parser))


def run(args: argparse.Namespace) -> int:
    from eidos_cli.bundle.check.cache import from_option
    from eidos_cli.bundle.check.report import render
    from eidos_cli.bundle.check.run import CheckOptions, check_bundle
    from eidos_cli.bundle.check.schema import check_version

    options = CheckOptions(
        charts=args.charts,
        kubernetes_version=check_version(args.kubernetes_version),
        cache=from_option(args.cache),
    )
    report = check_bundle(Path(args.dir), options)
    sys.stdout.write(render(report, args.format))
    sys.stdout.flush()
    return report.exit_code(strict=args.strict)
