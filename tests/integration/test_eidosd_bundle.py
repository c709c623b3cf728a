"""``POST /v1/bundle`` over HTTP against real eidosd processes: the archive holds exactly what
``eidos-cli bundle`` writes for the same recipe and options; bad input is a 4xx envelope; the
rate limit, the body limit and WRITE_TIMEOUT apply; concurrent requests get their own bundles;
server-signed bundles verify with ``eidos-cli bundle verify``; a generated client downloads one."""

from __future__ import annotations

import concurrent.futures
import gzip
import importlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pytest

from eidos_cli.bundle.writer import RECORD_FILE
from tests.conftest import REPO
from tests.signing_keys import make_key
from tests.support import NO_RATE_LIMIT, EidosdProcess, RunEidosd, launch_eidosd

BIN = Path(sys.executable).parent
CLI = BIN / "eidos-cli"
LARGEST = "service=oke&accelerator=gb300&intent=training&os=ubuntu"
# Options as (query parameter, value) pairs and the same as eidos-cli flags.
CASES = {
    "helm": [
        ("set", "gpuoperator:driver.version=580.82.07"),
        ("set", "certmanager:replicaCount=2,gpuoperator:a.b=true"),
        ("accelerated-node-toleration", "nvidia.com/gpu=present:NoSchedule"),
        ("system-node-selector", "nodeGroup=system"),
        ("system-node-toleration", "dedicated=system:NoSchedule"),
    ],
    "argocd": [
        ("deployer", "argocd"),
        ("repo", "https://git.example/gitops.git"),
        ("disable", "nvsentinel"),
        ("accelerated-node-selector", "nodeGroup=gpu"),
        ("accelerated-node-toleration", ":"),
    ],
}


@pytest.fixture(scope="module")
def server(module_eidosd: EidosdProcess) -> EidosdProcess:
    return module_eidosd


@pytest.fixture(scope="module")
def recipe(server: EidosdProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    status, _, body = server.request(f"/v1/recipe?{LARGEST}")
    assert status == 200
    path = tmp_path_factory.mktemp("recipe") / "recipe.json"
    path.write_bytes(body)
    return path


def cli_bundle(recipe: Path, out: Path, params: list[tuple[str, str]]) -> dict[str, tuple[bytes, int]]:
    """``eidos-cli bundle`` (the console script) with the flags these parameters stand for:
    path → (bytes, permission bits)."""
    flags = [arg for name, value in params for arg in (f"--{name}", value)]
    run = subprocess.run([CLI, "bundle", "-r", recipe, "-o", out, *flags], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return {
        p.relative_to(out).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != RECORD_FILE
    }


def unzip(data: bytes) -> dict[str, tuple[bytes, int]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        return {i.filename: (zf.read(i), stat.S_IMODE(i.external_attr >> 16)) for i in infos}


def untar(data: bytes) -> dict[str, tuple[bytes, int]]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            assert member.mtime == 0 and member.uid == 0 and member.uname == ""
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                out[member.name] = (extracted.read(), member.mode)
    return out


def post_bundle(
    server: EidosdProcess, body: bytes, params: list[tuple[str, str]], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return server.request("/v1/bundle?" + urlencode(params), body, headers, "POST")


@pytest.mark.parametrize("case", sorted(CASES))
def test_archive_is_the_cli_bundle_file_by_file(server: EidosdProcess, recipe: Path, tmp_path: Path, case: str) -> None:
    params = CASES[case]
    expected = cli_bundle(recipe, tmp_path / "cli", params)
    status, headers, body = post_bundle(server, recipe.read_bytes(), params)
    assert status == 200, body[:500]
    assert headers["Content-Type"] == "application/zip"
    deployer = "argocd" if case == "argocd" else "helm"
    assert headers["Content-Disposition"] == f'attachment; filename="eidos-bundle-{deployer}.zip"'
    assert headers["X-Eidos-Bundle-Files"] == headers["X-Bundle-Files"] == str(len(expected))
    assert headers["X-Bundle-Size"] == str(sum(len(data) for data, _ in expected.values()))  # before zipping
    assert re.fullmatch(r"\d+(\.\d+)?(ms|s)", headers["X-Bundle-Duration"]), headers["X-Bundle-Duration"]
    assert headers["X-Eidos-Bundle-Signed"] == "false"
    assert headers["X-Request-Id"] and headers["X-RateLimit-Limit"]
    got = unzip(body)
    assert sorted(got) == sorted(expected)
    for path, (data, mode) in expected.items():
        assert got[path] == (data, mode), path  # bytes and modes (deploy.sh 0700)
    if case == "helm":
        assert got["deploy.sh"][1] == 0o700
    # tar.gz, by parameter or by Accept: the same files; and the same request twice, the same archive
    status, headers, tgz = post_bundle(server, recipe.read_bytes(), params, {"Accept": "application/gzip"})
    assert status == 200 and headers["Content-Type"] == "application/gzip"
    assert headers["Content-Disposition"].endswith('.tar.gz"')
    assert untar(tgz) == expected
    assert post_bundle(server, recipe.read_bytes(), [*params, ("format", "tar.gz")])[2] == tgz
    assert gzip.decompress(tgz)  # plain gzip
    status, _, again = post_bundle(server, recipe.read_bytes(), params)
    assert again == body


def error_of(response: tuple[int, dict[str, str], bytes]) -> tuple[int, str, str]:
    status, headers, body = response
    assert headers["Content-Type"].startswith("application/json")
    doc = json.loads(body)
    return status, doc["code"], doc["message"]


def test_bad_requests_are_4xx_envelopes(server: EidosdProcess, recipe: Path) -> None:
    good = recipe.read_bytes()
    doc = json.loads(good)
    for body, params, status, needle in [
        (b"kind: recipeResult\n", [], 400, "at least one component"),
        (b"kind: snapshot\n", [], 400, "request body"),
        (b"", [], 400, "empty document"),
        (b"{not json", [], 400, "request body"),
        (good, [("deployer", "kustomize")], 400, "invalid deployer type 'kustomize'"),
        (good, [("set", "no-colon")], 400, "invalid format 'no-colon'"),
        (good, [("set", "nosuchcomponent:a=1")], 400, "nosuchcomponent"),
        (good, [("accelerated-node-toleration", "a=b:Sometimes")], 400, "Sometimes"),
        (good, [("output", "x")], 400, "unknown query parameter 'output'"),
        (good, [("format", "rar")], 400, "invalid format 'rar'"),
        (good, [("repo", "a"), ("repo", "b")], 400, "'repo' given more than once"),
        (json.dumps({**doc, "componentRefs": []}).encode(), [], 400, "at least one component"),
        (
            json.dumps(
                {**doc, "componentRefs": [{**doc["componentRefs"][0], "valuesFile": "components/x/no.yaml"}]}
            ).encode(),
            [],
            400,
            "components/x/no.yaml",
        ),
    ]:
        got = error_of(post_bundle(server, body, params))
        assert got[:2] == (status, "INVALID_REQUEST"), (params, got)
        assert needle in got[2], (needle, got)
    # the body limits of POST /v1/recipe: 413 raw or after decoding, 415 for unknown codings
    big = good + b" " * (64 * 1024)
    assert error_of(post_bundle(server, big, []))[0] == 413
    assert error_of(post_bundle(server, gzip.compress(big), [], {"Content-Encoding": "gzip"}))[0] == 413
    assert error_of(post_bundle(server, good, [], {"Content-Encoding": "br"}))[0] == 415
    # gzip-encoded good body is fine
    status, _, body = post_bundle(server, gzip.compress(good), [], {"Content-Encoding": "gzip"})
    assert status == 200 and body.startswith(b"PK")


def test_concurrent_requests_get_their_own_bundles(server: EidosdProcess, recipe: Path) -> None:
    body = recipe.read_bytes()

    def one(i: int) -> tuple[int, dict[str, tuple[bytes, int]]]:
        params = [("set", f"gpuoperator:driver.version=580.{i}.0")]
        if i % 2:
            params += [("deployer", "argocd"), ("repo", f"https://git.example/{i}.git")]
        if i % 3 == 0:
            params.append(("format", "tar.gz"))
        status, _, data = post_bundle(server, body, params)
        assert status == 200, data[:300]
        return i, untar(data) if i % 3 == 0 else unzip(data)

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = dict(pool.map(one, range(20)))
    for i, files in results.items():
        values = files["gpu-operator/values.yaml"][0].decode()
        assert f"580.{i}.0" in values, i
        assert not any(f"580.{j}.0" in values for j in range(20) if j != i)
        assert ("app-of-apps.yaml" in files) == bool(i % 2), i
        if i % 2:
            assert any(f"https://git.example/{i}.git".encode() in data for data, _ in files.values())
        # each archive is internally consistent: checksums.txt lists exactly its files
        listed = {line.split("  ", 1)[1] for line in files["checksums.txt"][0].decode().splitlines()}
        assert listed == set(files) - {"checksums.txt"}


def test_rate_limit_429(run_eidosd: RunEidosd, recipe: Path) -> None:
    server = run_eidosd(LOG_LEVEL="error", RATE_LIMIT="0.001", RATE_BURST="1")
    assert post_bundle(server, recipe.read_bytes(), [])[0] == 200
    status, headers, body = post_bundle(server, recipe.read_bytes(), [])
    assert (status, json.loads(body)["code"]) == (429, "RATE_LIMIT_EXCEEDED")
    assert int(headers["Retry-After"]) >= 1


def test_allow_lists_apply_to_the_posted_recipe(run_eidosd: RunEidosd, recipe: Path) -> None:
    """A recipe whose criteria GET /v1/recipe would refuse is refused by POST /v1/bundle too: the
    allow-lists cannot be bypassed by posting the document. A recipe without criteria names no
    value to refuse."""
    server = run_eidosd(LOG_LEVEL="error", EIDOS_ALLOWED_ACCELERATORS="h100,l40", **NO_RATE_LIMIT)
    refused = server.request("/v1/recipe?accelerator=gb300")
    assert refused[0] == 400
    status, _, body = post_bundle(server, recipe.read_bytes(), [])  # criteria: oke, gb300, training, ubuntu
    assert status == 400, (status, body[:200])
    error = json.loads(body)
    assert error["code"] == "INVALID_REQUEST"
    assert error["details"]["requested"] == "gb300" and error["details"]["allowed"] == ["h100", "l40"]
    assert error["message"] == json.loads(refused[2])["message"]  # the same refusal as GET's
    allowed = server.request("/v1/recipe?service=oke&accelerator=h100&intent=training&os=ubuntu")
    assert allowed[0] == 200
    assert post_bundle(server, allowed[2], [])[0] == 200
    document = json.loads(recipe.read_bytes())
    del document["criteria"]
    assert post_bundle(server, json.dumps(document).encode(), [])[0] == 200


def slow_data(root: Path) -> Path:
    """The embedded recipe data with one values file made large (every component's values are
    rendered into the bundle, so this one takes seconds to render: parsed, merged and dumped)."""
    data = root / "data"
    shutil.copytree(REPO / "recipe_data", data, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    values = data / "components" / "cert-manager" / "values.yaml"
    extra = "".join(f"  key{i}: {{a: value-{i}, b: [{i}, {i + 1}]}}\n" for i in range(60_000))
    values.write_text(values.read_text() + "\nbulk:\n" + extra)
    return data


def test_render_past_write_timeout_is_504(run_eidosd: RunEidosd, recipe: Path, tmp_path: Path) -> None:
    data = slow_data(tmp_path)
    server = run_eidosd(LOG_LEVEL="error", RECIPE_DATA_PATH=str(data), WRITE_TIMEOUT="300ms", **NO_RATE_LIMIT)
    assert server.request(f"/v1/recipe?{LARGEST}")[0] == 200  # fast paths still answer in time
    status, _, body = post_bundle(server, recipe.read_bytes(), [])
    assert status == 504, body[:300]
    doc = json.loads(body)
    assert doc["code"] == "TIMEOUT" and doc["retryable"] is True
    # the server goes on serving while the abandoned render finishes in its thread
    assert server.request("/health")[0] == 200


def test_signed_bundles_verify_with_the_public_key(run_eidosd: RunEidosd, recipe: Path, tmp_path: Path) -> None:
    key, pub = make_key(tmp_path, "ed25519")
    server = run_eidosd(LOG_LEVEL="error", BUNDLE_SIGNING_KEY=str(key), **NO_RATE_LIMIT)
    params = CASES["helm"]
    status, headers, body = post_bundle(server, recipe.read_bytes(), params, {"X-Request-Id": "req-1"})
    assert status == 200 and headers["X-Eidos-Bundle-Signed"] == "true"
    files = unzip(body)
    envelope = json.loads(files["provenance.intoto.jsonl"][0])
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    # every other file is the CLI's unsigned bundle, unchanged
    expected = cli_bundle(recipe, tmp_path / "cli", params)
    assert {p: v for p, v in files.items() if p != "provenance.intoto.jsonl"} == expected
    out = tmp_path / "bundle"
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        zf.extractall(out)
    run = subprocess.run([CLI, "bundle", "verify", out, "--key", pub], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "verified" in run.stdout
    _, other_pub = make_key(tmp_path, "ecdsa")
    run = subprocess.run([CLI, "bundle", "verify", out, "--key", other_pub], capture_output=True, text=True)
    assert run.returncode == 7


def test_bad_signing_key_stops_start_up(tmp_path: Path) -> None:
    key = tmp_path / "bad.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n-----END PRIVATE KEY-----\n")
    proc = launch_eidosd(tmp_path, BUNDLE_SIGNING_KEY=str(key))
    assert proc.proc.wait(timeout=30) == 2
    lines = proc.log().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"eidosd: BUNDLE_SIGNING_KEY='{key}': "), lines
    assert "c2VjcmV0" not in proc.log()


@pytest.mark.slow
def test_generated_python_client_downloads_a_bundle(server: EidosdProcess, recipe: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", REPO / "api" / "openapi.yaml",
         "--output-path", tmp_path / "eidos_client", "--meta", "none"],
        check=True, capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    sys.path.insert(0, str(tmp_path))
    try:
        client_mod = importlib.import_module("eidos_client.client")
        post = importlib.import_module("eidos_client.api.bundles.post_v1_bundle")
        models = importlib.import_module("eidos_client.models")
        client = client_mod.Client(base_url=server.url)
        body = models.RecipeResult.from_dict(json.loads(recipe.read_bytes()))
        response = post.sync_detailed(
            client=client,
            body=body,
            set_=["gpuoperator:driver.version=580.82.07"],
            accelerated_node_toleration=["nvidia.com/gpu=present:NoSchedule"],
        )
        assert response.status_code == 200, response.content[:300]
        files = unzip(response.content)
        expected = cli_bundle(
            recipe,
            tmp_path / "cli",
            [("set", "gpuoperator:driver.version=580.82.07"),
             ("accelerated-node-toleration", "nvidia.com/gpu=present:NoSchedule")],
        )  # fmt: skip
        assert files == expected
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("eidos_client")]:
            del sys.modules[name]
