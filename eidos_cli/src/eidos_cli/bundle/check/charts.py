"""The edge: finding a step's chart package, reading its values, running ``helm template``.

Where a chart comes from, first match wins: ``--charts`` (a directory of ``.tgz`` packages,
with or without ``index.yaml``, or a chart repository URL), the bundle's own ``charts/``, the
Helm cache (``helm env HELM_CACHE_HOME``/repository). A chart version matches with or without
a leading ``v`` (``v25.4.0`` is ``25.4.0``), as Helm's constraint matching does.
"""

from __future__ import annotations

import functools
import io
import json
import os
import posixpath
import shutil
import subprocess
import tarfile
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eidos_cli.bundle.check.installplan import HelmChart
from eidos_cli.bundle.check.values_keys import ChartValues, template_paths
from eidos_core import yaml
from eidos_core.errors import InvalidRequestError

HELM_TIMEOUT_S = 300
FETCH_TIMEOUT_S = 60
MAX_CHART_BYTES = 64 * 1024 * 1024
# Rendered output and chart files are larger than any recipe document: kube-prometheus-stack's
# CRDs alone are megabytes. Same loader, wider size limits.
_BIG = yaml.DEFAULT_LIMITS.with_size(64 * 1024 * 1024)


class ChartUnavailable(Exception):
    """The chart cannot be had: the component is reported unchecked with this reason."""


class RenderError(Exception):
    """``helm template`` refused the chart with these values (a finding)."""


def find_helm() -> str:
    helm = shutil.which("helm")
    if helm is None:
        raise InvalidRequestError("no helm on PATH: bundle check renders charts with the real helm (v3 or v4)")
    return helm


@functools.cache
def helm_version(helm: str) -> str:
    """``helm version`` as printed (part of the render cache key: another helm may render differently)."""
    proc = subprocess.run([helm, "version"], capture_output=True, text=True, timeout=30)
    return proc.stdout.strip() if proc.returncode == 0 else f"unknown helm at {helm}"


def _same_version(a: str, b: str) -> bool:
    return a.strip().removeprefix("v") == b.strip().removeprefix("v")


def _from_index(index: Any, chart: HelmChart) -> str | None:
    entries = index.get("entries") if isinstance(index, Mapping) else None
    for entry in (entries or {}).get(chart.name) or []:
        if isinstance(entry, Mapping) and _same_version(str(entry.get("version", "")), chart.version):
            urls = entry.get("urls") or []
            if urls:
                return str(urls[0])
    return None


def _package_names(chart: HelmChart) -> list[str]:
    bare = chart.version.removeprefix("v")
    return [f"{chart.name}-{bare}.tgz", f"{chart.name}-v{bare}.tgz"]


@functools.cache
def _helm_env_cache_home(helm: str) -> str:
    """``helm env HELM_CACHE_HOME``, asked once per process (a subprocess per step adds up over many bundles)."""
    proc = subprocess.run([helm, "env", "HELM_CACHE_HOME"], capture_output=True, text=True, timeout=30)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _local_index(path: Path) -> Any:
    """A chart folder's index.yaml, parsed once while the file is unchanged."""
    st = path.stat()
    return _parse_index(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _parse_index(path: str, mtime_ns: int, size: int) -> Any:  # mtime and size: the cache key
    return yaml.load(Path(path).read_bytes(), source=path, limits=_BIG)


@dataclass
class ChartFinder:
    """Looks charts up in ``--charts``, the bundle's ``charts/`` and the Helm cache."""

    bundle: Path
    charts: str | None
    helm: str
    download_dir: Path
    _index: Any = None
    _cache: Path | None = None

    def _remote_index(self) -> Any:
        if self._index is None:
            assert self.charts is not None
            url = self.charts.rstrip("/") + "/index.yaml"
            try:
                with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as resp:
                    self._index = yaml.load(resp.read(MAX_CHART_BYTES), source=url, limits=_BIG)
            except (OSError, ValueError) as exc:
                raise ChartUnavailable(f"cannot read {url}: {exc}") from None
        return self._index

    def _download(self, url: str, chart: HelmChart) -> Path:
        dest = self.download_dir / f"{chart.name}-{chart.version}.tgz"
        if not dest.exists():
            try:
                with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as resp:
                    dest.write_bytes(resp.read(MAX_CHART_BYTES))
            except (OSError, ValueError) as exc:
                raise ChartUnavailable(f"cannot download {url}: {exc}") from None
        return dest

    def _helm_cache(self) -> Path | None:
        if self._cache is None:
            env = os.environ.get("HELM_CACHE_HOME") or _helm_env_cache_home(self.helm)
            self._cache = Path(env) / "repository" if env else Path("/nonexistent")
        return self._cache if self._cache.is_dir() else None

    def find(self, chart: HelmChart) -> Path:
        tried = []
        if self.charts:
            if "://" in self.charts:
                url = _from_index(self._remote_index(), chart)
                if url is not None:
                    return self._download(urllib.parse.urljoin(self.charts.rstrip("/") + "/", url), chart)
                tried.append(self.charts)
            else:
                local = Path(self.charts)
                if not local.is_dir():
                    raise InvalidRequestError(f"invalid --charts value: {self.charts!r} is not a directory or URL")
                index_file = local / "index.yaml"
                if index_file.is_file():
                    url = _from_index(_local_index(index_file), chart)
                    if url is not None and "://" not in url and (local / url).is_file():
                        return local / url
                    if url is not None and "://" in url:
                        return self._download(url, chart)
                found = self._in_dir(local, chart)
                if found:
                    return found
                tried.append(str(local))
        found = self._in_dir(self.bundle / "charts", chart)
        if found:
            return found
        tried.append("the bundle's charts/")
        cache = self._helm_cache()
        if cache is not None:
            found = self._in_dir(cache, chart)
            if found:
                return found
        tried.append("the Helm cache")
        raise ChartUnavailable(f"chart {chart.name} {chart.version} not found in {', '.join(tried)}")

    @staticmethod
    def _in_dir(folder: Path, chart: HelmChart) -> Path | None:
        for name in _package_names(chart):
            if (folder / name).is_file():
                return folder / name
        unpacked = folder / chart.name / "Chart.yaml"
        if unpacked.is_file():
            meta = yaml.load(unpacked.read_bytes(), source=str(unpacked))
            if isinstance(meta, Mapping) and _same_version(str(meta.get("version", "")), chart.version):
                return unpacked.parent
        return None


# ---- reading a chart's values, schema and subcharts -------------------------------------------


def _files(package: Path) -> dict[str, bytes]:
    """path (with the chart's top directory stripped) → content, for the files that matter here."""
    wanted = ("Chart.yaml", "values.yaml", "values.schema.json")
    out: dict[str, bytes] = {}
    if package.is_dir():
        for path in package.rglob("*"):
            rel = path.relative_to(package).as_posix()
            if path.is_file() and (path.name in wanted or _wanted_extra(rel)):
                out[rel] = path.read_bytes()
        return out
    return _tar_files(package.read_bytes(), wanted)


def _wanted_extra(rel: str) -> bool:
    """Subchart packages, and templates (to see which values paths they read)."""
    return (rel.startswith("charts/") and rel.endswith(".tgz")) or "templates/" in rel


def _tar_files(data: bytes, wanted: tuple[str, ...]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
            base = posixpath.basename(rel)
            if base in wanted or _wanted_extra(rel):
                f = tar.extractfile(member)
                if f is not None:
                    out[rel] = f.read(MAX_CHART_BYTES)
    return out


def _chart_values(files: Mapping[str, bytes], prefix: str, where: str) -> ChartValues:
    def load(name: str) -> Any:
        data = files.get(prefix + name)
        if data is None:
            return None
        if name.endswith(".json"):
            return json.loads(data)
        return yaml.load(data, source=f"{where}/{prefix}{name}", limits=_BIG)

    meta = load("Chart.yaml") or {}
    defaults = load("values.yaml") or {}
    schema = load("values.schema.json")
    deps = {str(d.get("name")): d for d in meta.get("dependencies") or [] if isinstance(d, Mapping)}
    conditions: set[str] = set()
    subcharts: dict[str, ChartValues] = {}
    # Subcharts as directories (charts/<name>/) or packages (charts/<name>-<version>.tgz).
    rels = [p[len(prefix) :] for p in files if p.startswith(prefix + "charts/")]
    sub_dirs = {rel.split("/")[1] for rel in rels if rel.count("/") >= 2}
    for sub in sorted(sub_dirs):
        sub_prefix = f"{prefix}charts/{sub}/"
        if sub_prefix + "Chart.yaml" in files:
            _add_sub(_chart_values(files, sub_prefix, where), deps, subcharts)
    for path, data in files.items():
        if path.startswith(prefix + "charts/") and path.endswith(".tgz") and path.count("/") == prefix.count("/") + 1:
            nested = _tar_files(data, ("Chart.yaml", "values.yaml", "values.schema.json"))
            _add_sub(_chart_values(nested, "", f"{where}/{path}"), deps, subcharts)
    for dep in deps.values():
        for cond in str(dep.get("condition") or "").split(","):
            if cond.strip():
                conditions.add(cond.strip())
        if dep.get("tags"):
            conditions.add("tags")
    name = str(meta.get("name") or where)
    own_templates = [
        data.decode("utf-8", "replace") for path, data in files.items() if path.startswith(prefix + "templates/")
    ]
    return ChartValues(
        name=name,
        defaults=defaults if isinstance(defaults, Mapping) else {},
        schema=schema if isinstance(schema, Mapping) else None,
        subcharts=subcharts,
        conditions=frozenset(conditions),
        template_paths=template_paths(own_templates),
    )


def _add_sub(sub: ChartValues, deps: Mapping[str, Mapping[str, Any]], out: dict[str, ChartValues]) -> None:
    dep = deps.get(sub.name) or {}
    out[str(dep.get("alias") or sub.name)] = sub


def read_chart(package: Path) -> ChartValues:
    """The chart's values, schema and subcharts (keyed by alias or name) from a .tgz or directory."""
    return _chart_values(_files(package), "", package.name)


# ---- rendering ---------------------------------------------------------------------------------


# Built-in API versions a real cluster serves that `helm template`'s offline capability list
# lacks (charts gate APIService objects on it, e.g. prometheus-adapter).
EXTRA_API_VERSIONS = ("apiregistration.k8s.io/v1",)


def helm_api_versions(api_versions: tuple[str, ...]) -> tuple[str, ...]:
    """Exactly the ``--api-versions`` values :func:`helm_template` passes, in order."""
    return (*EXTRA_API_VERSIONS, *api_versions)


def helm_template(
    helm: str,
    package: Path,
    release: str,
    namespace: str,
    values: Path | None,
    kube_version: str,
    api_versions: tuple[str, ...] = (),
) -> str:
    """``helm template`` as ``helm install`` would render it on a cluster of ``kube_version`` where
    the earlier steps' CRDs are installed (``api_versions``: ``group/version`` and ``group/version/Kind``)."""
    cmd = [helm, "template", release, str(package), "-n", namespace, "--include-crds", "--kube-version", kube_version]
    for api in helm_api_versions(api_versions):
        cmd += ["--api-versions", api]
    if values is not None:
        cmd += ["-f", str(values)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=HELM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RenderError(f"helm template did not finish in {HELM_TIMEOUT_S}s") from None
    if proc.returncode != 0:
        raise RenderError(" ".join(proc.stderr.strip().splitlines()[-3:]) or f"helm exited {proc.returncode}")
    return proc.stdout


def split_documents(text: str, default_source: str) -> list[tuple[str, Any]]:
    """(source, object) per YAML document; helm's ``# Source: chart/templates/x.yaml`` names the source."""
    out = []
    lines = text.split("\n")
    chunk: list[str] = []

    def flush() -> None:
        body = "\n".join(chunk)
        source = default_source
        for line in chunk:
            if line.startswith("# Source: "):
                source = line.removeprefix("# Source: ").strip()
                break
        obj = yaml.load(body, source=source, limits=_BIG) if body.strip() else None
        if isinstance(obj, Mapping) and obj:
            out.append((source, obj))
        chunk.clear()

    for line in lines:
        if line.rstrip() == "---" or line.startswith("--- "):
            flush()
        else:
            chunk.append(line)
    flush()
    return out
