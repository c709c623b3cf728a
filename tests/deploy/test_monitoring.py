"""Monitoring: the Grafana dashboard and the PrometheusRule only ask for series that a running
eidosd exposes.

Metric names come from parsing PromQL with promql-parser (a real PromQL parser) and walking its
syntax tree; the exposed names come from parsing ``/metrics`` of eidosd started as in its pod
with prometheus_client's exposition parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import promql_parser
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.pod import PodProcess, http
from tests.deploy.support import DASHBOARD, K8S, find, render

# Grafana's built-in interval variables, replaced by a duration before parsing.
GRAFANA_INTERVALS = ("$__rate_interval", "$__interval", "$__range")
RATE_FUNCTIONS = {"rate", "irate", "increase"}
REQUIRED_ALERTS = {"EidosdHighErrorRate", "EidosdNoReadyReplicas", "EidosdRecipeReloadFailures"}


@dataclass(frozen=True)
class Query:
    where: str  # e.g. "dashboard panel 'Error rate' target B"
    promql: str


@dataclass(frozen=True)
class Exposed:
    samples: set[str]  # sample names as scraped: eidos_http_requests_total, ..._bucket, ...
    kind: dict[str, str]  # sample name -> family type (counter, gauge, histogram, ...)


@pytest.fixture(scope="module")
def exposed(eidosd_pod: PodProcess) -> Exposed:
    # Traffic first, so that every labelled family has samples: a recipe (miss, then hit), a
    # 400, a 404. Probes and /metrics are not counted.
    for path in ("/v1/recipe?service=eks", "/v1/recipe?service=eks", "/v1/recipe?os=windows", "/nope"):
        http(eidosd_pod.url + path)
    status, text, headers = http(eidosd_pod.url + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    samples: set[str] = set()
    kind: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.add(sample.name)
            kind[sample.name] = family.type
    return Exposed(samples, kind)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return doc


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def grafana_to_promql(expr: str, variables: set[str]) -> str:
    """Replace Grafana variables with values PromQL accepts; an undeclared variable fails."""
    for builtin in GRAFANA_INTERVALS:
        expr = expr.replace(builtin, "5m")

    def variable(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in variables, f"${name} is not a dashboard variable"
        return "x"  # used inside label matchers only (checked by parsing)

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", variable, expr)


def dashboard_queries(doc: dict[str, Any]) -> list[Query]:
    variables = {v["name"] for v in doc["templating"]["list"]}
    queries: list[Query] = []
    for var in doc["templating"]["list"]:
        if var["type"] != "query":
            continue
        raw = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", raw)  # Grafana's own function
        assert match, f"variable {var['name']}: unsupported query {raw!r}"
        queries.append(Query(f"dashboard variable {var['name']}", grafana_to_promql(match.group(1), variables)))
    for panel in all_panels(doc["panels"]):
        for target in panel.get("targets", []):
            where = f"dashboard panel {panel['title']!r} target {target['refId']}"
            queries.append(Query(where, grafana_to_promql(target["expr"], variables)))
    return queries


def rule_queries() -> list[Query]:
    rule = find(render(K8S / "overlays" / "with-monitoring"), "PrometheusRule")
    return [
        Query(f"rule {r.get('alert') or r.get('record')}", str(r["expr"]))
        for group in rule["spec"]["groups"]
        for r in group["rules"]
    ]


def selectors(expr: promql_parser.Expr) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(expr, visit)
    return found


def metric_name(selector: promql_parser.VectorSelector) -> str:
    if selector.name:
        return selector.name
    names = [m.value for m in selector.matchers.matchers if m.name == "__name__"]
    assert len(names) == 1 and not selector.matchers.or_matchers, f"{selector}: no single metric name"
    assert names[0] and re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", names[0]), f"{selector}: not a literal name"
    return names[0]


def rated_names(expr: promql_parser.Expr) -> list[str]:
    """Metric names inside rate()/irate()/increase()."""
    out: list[str] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.Call) and node.func.name in RATE_FUNCTIONS:
            out.extend(metric_name(s) for s in selectors(node.args[0]))
        return True

    promql_parser.walk(expr, visit)
    return out


def quantiles(expr: promql_parser.Expr) -> set[float]:
    out: set[float] = set()

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.Call) and node.func.name == "histogram_quantile":
            first = node.args[0]
            assert isinstance(first, promql_parser.NumberLiteral)
            out.add(first.val)
        return True

    promql_parser.walk(expr, visit)
    return out


def grouped_by(expr: promql_parser.Expr) -> set[str]:
    labels: set[str] = set()

    def visit(node: promql_parser.Expr) -> bool:
        modifier = node.modifier if isinstance(node, promql_parser.AggregateExpr) else None
        if modifier is not None and modifier.type == promql_parser.AggModifierType.By:
            labels.update(modifier.labels)
        return True

    promql_parser.walk(expr, visit)
    return labels


def names_in(query: Query) -> set[str]:
    try:
        expr = promql_parser.parse(query.promql)
    except Exception as exc:  # the parser raises ValueError subclasses with the position
        raise AssertionError(f"{query.where}: not valid PromQL: {exc}\n{query.promql}") from None
    names = {metric_name(s) for s in selectors(expr)}
    assert names, f"{query.where}: references no metric"
    return names


# -- the tests -------------------------------------------------------------------------------------


def test_the_parser_finds_every_selector() -> None:
    """promql-parser sees through aggregations, functions, ranges, subqueries and binary ops."""
    expr = promql_parser.parse(
        'sum by (le) (rate(a_bucket{x="1"}[5m])) / ignoring(y) b + absent(c) + {__name__="d"}'
        " + max_over_time(rate(e_total[1m])[10m:1m])"
    )
    assert {metric_name(s) for s in selectors(expr)} == {"a_bucket", "b", "c", "d", "e_total"}
    assert grafana_to_promql('rate(x{n=~"$namespace"}[$__rate_interval])', {"namespace"}) == 'rate(x{n=~"x"}[5m])'
    with pytest.raises(AssertionError, match="not a dashboard variable"):
        grafana_to_promql('x{n="$nope"}', {"namespace"})


def test_every_query_uses_only_exposed_metrics(exposed: Exposed, dashboard: dict[str, Any]) -> None:
    queries = dashboard_queries(dashboard) + rule_queries()
    assert len(queries) > 20
    missing = {f"{q.where}: {name}" for q in queries for name in names_in(q) if name not in exposed.samples}
    assert not missing, "queries ask for series eidosd does not expose:\n" + "\n".join(sorted(missing))


def test_rates_are_taken_of_counters_only(exposed: Exposed, dashboard: dict[str, Any]) -> None:
    for query in dashboard_queries(dashboard) + rule_queries():
        for name in rated_names(promql_parser.parse(query.promql)):
            assert exposed.kind[name] in ("counter", "histogram"), f"{query.where}: rate of {exposed.kind[name]} {name}"


def test_dashboard_is_importable(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    panels = list(all_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, f"{panel['title']} is wider than the grid"
        mine = {(pos["x"] + dx, pos["y"] + dy) for dx in range(pos["w"]) for dy in range(pos["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]


@pytest.mark.parametrize(
    ("title", "metric", "check"),
    [
        ("Request rate by status code", "eidos_http_requests_total", "by:status"),
        ("Request duration p50 / p95 / p99", "eidos_http_request_duration_seconds_bucket", "quantiles"),
        ("Error rate", "eidos_http_requests_total", "status-5xx"),
        ("Rate-limit rejections", "eidos_rate_limit_rejects_total", ""),
        ("Active connections (requests in flight)", "eidos_http_requests_in_flight", ""),
        ("Recipe reloads and reload errors", "eidos_recipe_reload_errors_total", "also:eidos_recipe_reload_total"),
        ("Cache hit ratio", "eidos_recipe_cache_hits_total", "also:eidos_recipe_cache_misses_total"),
    ],
)
def test_required_panels(dashboard: dict[str, Any], title: str, metric: str, check: str) -> None:
    (panel,) = [p for p in all_panels(dashboard["panels"]) if p["title"] == title]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    exprs = [promql_parser.parse(grafana_to_promql(t["expr"], variables)) for t in panel["targets"]]
    names = {metric_name(s) for e in exprs for s in selectors(e)}
    assert metric in names
    if check == "by:status":
        assert any("status" in grouped_by(e) for e in exprs)
    elif check == "quantiles":
        assert set().union(*(quantiles(e) for e in exprs)) == {0.5, 0.95, 0.99}
    elif check == "status-5xx":
        matchers = {
            (m.name, m.value) for e in exprs for s in selectors(e) for m in s.matchers.matchers if m.name == "status"
        }
        assert ("status", "5..") in matchers
    elif check.startswith("also:"):
        assert check.removeprefix("also:") in names


def test_alert_rules() -> None:
    rule = find(render(K8S / "overlays" / "with-monitoring"), "PrometheusRule")
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert set(alerts) >= REQUIRED_ALERTS
    for name, alert in alerts.items():
        assert alert["labels"]["severity"] in ("critical", "warning"), name
        assert alert["annotations"]["summary"] and alert["annotations"]["description"], name
    # "no ready replicas": nothing reports loaded recipe data, which is what /ready checks
    expr = promql_parser.parse(alerts["EidosdNoReadyReplicas"]["expr"])
    assert isinstance(expr, promql_parser.Call) and expr.func.name == "absent"
    assert {metric_name(s) for s in selectors(expr)} == {"eidos_recipe_store_info"}
    reload_names = {
        metric_name(s) for s in selectors(promql_parser.parse(alerts["EidosdRecipeReloadFailures"]["expr"]))
    }
    assert reload_names == {"eidos_recipe_reload_errors_total"}
    error_expr = promql_parser.parse(alerts["EidosdHighErrorRate"]["expr"])
    assert {metric_name(s) for s in selectors(error_expr)} == {"eidos_http_requests_total"}
    # the alerts select the job the ServiceMonitor produces
    for alert in alerts.values():
        for selector in selectors(promql_parser.parse(alert["expr"])):
            assert ("job", "eidosd") in {(m.name, m.value) for m in selector.matchers.matchers}, alert["alert"]
