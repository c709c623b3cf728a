"""``eidos-cli bundle -o oci://…`` and ``eidos-cli bundle pull`` against a real registry (the CNCF
distribution registry on 127.0.0.1, tests/registry.py), and the pushed charts with the real helm.

The CLI runs in process through ``main`` (exit codes as a user sees them); ``HOME`` is a
temporary folder so no Docker config of the machine is read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from eidos_cli.__main__ import main
from eidos_cli.bundle import oci
from eidos_core import __version__, yaml
from eidos_core.errors import ValidationFailedError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.result import recipe_to_document
from eidos_core.sources.embedded import embedded_store
from tests.registry import Registry, start_registry
from tests.support import free_port

EKS = Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("DOCKER_CONFIG", oci.USERNAME_ENV, oci.PASSWORD_ENV, "ORAS_USER", "ORAS_PASS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "recipe.yaml"
    path.write_text(yaml.dump(recipe_to_document(build_recipe(embedded_store(), EKS), "v1.2.3")))
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Relative path → (content, permission bits) of every file under ``root``."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def push(capsys: pytest.CaptureFixture[str], recipe: Path, ref: str, *flags: str) -> str:
    code, out, err = cli(capsys, "bundle", "-r", str(recipe), "-o", ref, "--plain-http", *flags)
    assert code == 0, err
    return out.splitlines()[0]


@pytest.mark.parametrize("deployer", ["helm", "argocd"])
def test_push_pull_round_trip_is_byte_identical(
    oci_registry: Registry,
    recipe: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    deployer: str,
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    local = tmp_path / "local"
    code, _, err = cli(capsys, "bundle", "-r", str(recipe), "-o", str(local), "-d", deployer)
    assert code == 0, err

    code, out, err = cli(
        capsys, "bundle", "-r", str(recipe), "-o", oci_registry.ref(f"rt/{deployer}", "v1"), "-d", deployer,
        "--plain-http",
    )  # fmt: skip
    assert code == 0, err
    pinned = out.strip()
    assert pinned.startswith(f"oci://{oci_registry.host}/rt/{deployer}@sha256:") and len(out.splitlines()) == 1
    assert not list(cwd.iterdir())  # nothing written locally (the reference leaves ./bundle behind)

    pulled = tmp_path / "pulled"
    code, out, err = cli(capsys, "bundle", "pull", pinned, str(pulled), "--plain-http")
    assert code == 0, err
    assert out == pinned + "\n"
    assert tree(pulled) == tree(local)  # contents and modes; .eidos-bundle too: as if written here
    check = subprocess.run(["sha256sum", "-c", "--strict", "checksums.txt"], cwd=pulled, capture_output=True)
    assert check.returncode == 0, check

    by_tag = tmp_path / "by-tag"
    code, out, err = cli(
        capsys, "bundle", "pull", oci_registry.ref(f"rt/{deployer}", "v1"), str(by_tag), "--plain-http"
    )
    assert code == 0, err
    assert out == pinned + "\n"
    assert tree(by_tag) == tree(local)


def test_artifact_layout_and_same_bundle_same_digest(
    oci_registry: Registry, recipe: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = push(capsys, recipe, oci_registry.ref("same/stack", "a"))
    again = push(capsys, recipe, oci_registry.ref("same/stack", "b"))
    other_repo = push(capsys, recipe, oci_registry.ref("same/other", "a"))
    digest = first.split("@")[1]
    assert again.split("@")[1] == digest == other_repo.split("@")[1]

    body, headers = oci_registry.manifest("same/stack", "a")
    assert hashlib.sha256(body).hexdigest() == digest.removeprefix("sha256:")
    assert headers["Docker-Content-Digest"] == digest
    manifest = json.loads(body)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["artifactType"] == "application/vnd.nvidia.eidos.artifact"
    assert manifest["config"] == {
        "mediaType": "application/vnd.oci.empty.v1+json",
        "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size": 2,
    }
    [layer] = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert layer["annotations"]["org.opencontainers.image.title"] == "."
    assert manifest["annotations"] == {
        "com.nvidia.eidos.bundle.deployer": "helm",
        "org.opencontainers.image.source": "https://github.com/NVIDIA/eidos",
        "org.opencontainers.image.title": "Eidos Bundle",
        "org.opencontainers.image.vendor": "NVIDIA",
        "org.opencontainers.image.version": __version__,
    }  # no creation time: it would change the digest on every push
    # Default tag: the eidos-cli version.
    code, _, err = cli(capsys, "bundle", "-r", str(recipe), "-o", oci_registry.ref("same/default-tag"), "--plain-http")
    assert code == 0, err
    assert oci_registry.manifest("same/default-tag", oci.tag_for(__version__))[1]["Docker-Content-Digest"] == digest


def test_layer_is_a_plain_reproducible_tar(
    oci_registry: Registry, recipe: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pinned = push(capsys, recipe, oci_registry.ref("tar/stack", "v1"))
    manifest = json.loads(oci_registry.manifest("tar/stack", pinned.split("@")[1])[0])
    layer = oci_registry.blob_file(manifest["layers"][0]["digest"]).read_bytes()
    listing = subprocess.run(["tar", "-tzvf", "-", "--numeric-owner"], input=layer, capture_output=True, check=True)
    lines = listing.stdout.decode().splitlines()
    names = [line.split()[-1] for line in lines]
    assert "deploy.sh" in names and "gpu-operator/values.yaml" in names and "gpu-operator/" in names
    assert not any(n.startswith(("./", "/", "oci-layout")) for n in names)
    assert all(" 0/0 " in line and " 1970-01-01 " in line for line in lines), lines[:3]


def test_missing_tag_and_unknown_digest_are_not_found(
    oci_registry: Registry, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    push(capsys, recipe, oci_registry.ref("nf/stack", "v1"))
    ref = oci_registry.ref("nf/stack", "nosuchtag")
    code, out, err = cli(capsys, "bundle", "pull", ref, str(tmp_path / "a"), "--plain-http")
    assert (code, out) == (3, "")
    assert f"{ref}: no tag 'nosuchtag' in {oci_registry.host}/nf/stack" in err
    unknown = f"oci://{oci_registry.host}/nf/stack@sha256:{'0' * 64}"
    code, out, err = cli(capsys, "bundle", "pull", unknown, str(tmp_path / "a"), "--plain-http")
    assert (code, out) == (3, "")
    assert f"{unknown}: no manifest sha256:{'0' * 64}" in err
    code, _, err = cli(
        capsys, "bundle", "pull", oci_registry.ref("nf/nosuchrepo", "v1"), str(tmp_path / "a"), "--plain-http"
    )
    assert code == 3
    assert not (tmp_path / "a").exists()


def test_content_that_does_not_match_its_digest_is_refused(
    recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = start_registry(tmp_path / "tamper-registry")  # its own: the damage stays here
    try:
        pinned = push(capsys, recipe, registry.ref("t/stack", "v1"))
        digest = pinned.split("@")[1]
        manifest = json.loads(registry.manifest("t/stack", digest)[0])
        layer_file = registry.blob_file(manifest["layers"][0]["digest"])
        original = layer_file.read_bytes()
        damaged = bytearray(original)
        damaged[len(damaged) // 2] ^= 0x01
        layer_file.write_bytes(bytes(damaged))
        target = tmp_path / "out"
        for ref in (pinned, registry.ref("t/stack", "v1")):
            code, out, err = cli(capsys, "bundle", "pull", ref, str(target), "--plain-http")
            assert (code, out) == (7, ""), err
            assert f"{ref}: blob {manifest['layers'][0]['digest']} does not match its digest" in err
            assert not target.exists()
        layer_file.write_bytes(original)

        manifest_file = registry.blob_file(digest)
        manifest_file.write_bytes(manifest_file.read_bytes().replace(b"Eidos Bundle", b"Eidos Bundl3"))
        for ref in (pinned, registry.ref("t/stack", "v1")):
            code, out, err = cli(capsys, "bundle", "pull", ref, str(target), "--plain-http")
            assert (code, out) == (7, ""), err
            assert f"{ref}: the manifest the registry served does not match its digest: expected {digest}" in err
            assert not target.exists()
    finally:
        registry.stop()


def test_a_file_that_does_not_match_checksums_is_refused() -> None:
    line = hashlib.sha256(b"a\n").hexdigest() + "  a.txt\n"
    files = {"a.txt": b"a\n", "checksums.txt": line.encode()}
    oci.verify_checksums(files, "x")
    with pytest.raises(ValidationFailedError, match=r"x: a.txt does not match its sha256 in checksums.txt"):
        oci.verify_checksums({**files, "a.txt": b"b\n"}, "x")
    with pytest.raises(ValidationFailedError, match=r"x: extra.txt is not listed in checksums.txt"):
        oci.verify_checksums({**files, "extra.txt": b""}, "x")
    with pytest.raises(ValidationFailedError, match=r"x: a.txt is listed in checksums.txt but missing"):
        oci.verify_checksums({"checksums.txt": files["checksums.txt"]}, "x")
    # The signed provenance envelope signs checksums.txt and is not listed in it (bundle verify checks it).
    oci.verify_checksums({**files, "provenance.intoto.jsonl": b"{}\n"}, "x")


def test_image_refs_file_holds_the_pushed_digest(
    oci_registry: Registry, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--image-refs FILE: the digest alone and a newline, mode 0600, as the reference writes it
    for a CI step; a file that cannot be written is refused before anything is pushed."""
    refs = tmp_path / "refs.txt"
    code, out, err = cli(
        capsys, "bundle", "-r", str(recipe), "-o", oci_registry.ref("refs/stack", "v1"), "--plain-http",
        "--image-refs", str(refs),
    )  # fmt: skip
    assert code == 0, err
    digest = out.strip().split("@")[1]
    assert refs.read_text() == digest + "\n" and digest.startswith("sha256:")
    assert stat.S_IMODE(refs.stat().st_mode) == 0o600
    nowhere = tmp_path / "missing" / "refs.txt"
    code, out, err = cli(
        capsys, "bundle", "-r", str(recipe), "-o", oci_registry.ref("refs/never", "v1"), "--plain-http",
        "--image-refs", str(nowhere),
    )  # fmt: skip
    assert (code, out) == (2, "") and "--image-refs" in err
    with pytest.raises(urllib.error.HTTPError):
        oci_registry.manifest("refs/never", "v1")  # nothing was pushed
    code, _, err = cli(capsys, "bundle", "-r", str(recipe), "-o", str(tmp_path / "dir"), "--image-refs", str(refs))
    assert code == 2 and "--image-refs is for OCI output" in err


def test_unreachable_registry_fails_fast(recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = f"oci://127.0.0.1:{free_port()}/x/stack:v1"
    started = time.monotonic()
    code, out, err = cli(capsys, "bundle", "-r", str(recipe), "-o", ref, "--plain-http")
    assert (code, out) == (6, "")
    assert f"{ref}: cannot reach the registry at http://127.0.0.1:" in err and "Connection refused" in err
    code, out, err = cli(capsys, "bundle", "pull", ref, str(tmp_path / "p"), "--plain-http")
    assert (code, out) == (6, "")
    assert time.monotonic() - started < 10


def test_pull_refuses_a_non_empty_directory_unless_force(
    oci_registry: Registry,
    recipe: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pinned = push(capsys, recipe, oci_registry.ref("force/stack", "v1"))
    target = tmp_path / "target"
    target.mkdir()
    code, _, err = cli(capsys, "bundle", "pull", pinned, str(target), "--plain-http")
    assert code == 0, err  # an empty directory is fine
    (target / "mine.txt").write_text("keep?")
    code, out, err = cli(capsys, "bundle", "pull", pinned, str(target), "--plain-http")
    assert (code, out) == (2, "")
    assert f"{target} is not empty" in err and "--force" in err
    assert (target / "mine.txt").read_text() == "keep?"
    code, out, err = cli(capsys, "bundle", "pull", pinned, str(target), "--plain-http", "--force")
    assert code == 0, err
    assert not (target / "mine.txt").exists() and (target / "deploy.sh").is_file()
    assert not [p for p in tmp_path.iterdir() if ".eidos-pull-" in p.name]  # no staging left behind
    with monkeypatch.context() as m:
        m.chdir(target / "gpu-operator")
        code, _, err = cli(capsys, "bundle", "pull", pinned, "..", "--plain-http", "--force")
        assert code == 2 and "is the current directory or holds it" in err
    (tmp_path / "file").write_text("x")
    code, _, err = cli(capsys, "bundle", "pull", pinned, str(tmp_path / "file"), "--plain-http", "--force")
    assert code == 2 and "exists and is not a directory" in err


def docker_config(folder: Path, host: str, user: str, password: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return folder


def test_credentials(
    auth_registry: Registry,
    recipe: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert auth_registry.credentials is not None
    user, password = auth_registry.credentials
    ref = auth_registry.ref("auth/stack", "v1")
    code, out, err = cli(capsys, "bundle", "-r", str(recipe), "-o", ref, "--plain-http")
    assert (code, out) == (4, "")
    assert f"{ref}: the registry refused access (HTTP 401" in err and oci.USERNAME_ENV in err

    monkeypatch.setenv(oci.USERNAME_ENV, user)
    monkeypatch.setenv(oci.PASSWORD_ENV, "wrong")
    code, _, err = cli(capsys, "bundle", "-r", str(recipe), "-o", ref, "--plain-http")
    assert code == 4, err

    monkeypatch.setenv(oci.PASSWORD_ENV, password)
    pinned = push(capsys, recipe, ref)
    code, _, err = cli(capsys, "bundle", "pull", pinned, str(tmp_path / "env"), "--plain-http")
    assert code == 0, err

    # The Docker config: $DOCKER_CONFIG/config.json, then ~/.docker/config.json.
    monkeypatch.delenv(oci.USERNAME_ENV)
    monkeypatch.delenv(oci.PASSWORD_ENV)
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config(tmp_path / "dc", auth_registry.host, user, password)))
    code, _, err = cli(capsys, "bundle", "pull", pinned, str(tmp_path / "dc-pull"), "--plain-http")
    assert code == 0, err
    monkeypatch.delenv("DOCKER_CONFIG")
    docker_config(Path(os.environ["HOME"]) / ".docker", auth_registry.host, user, password)
    code, _, err = cli(capsys, "bundle", "pull", pinned, str(tmp_path / "home-pull"), "--plain-http")
    assert code == 0, err
    assert tree(tmp_path / "env") == tree(tmp_path / "dc-pull") == tree(tmp_path / "home-pull")


def test_tls_with_a_self_signed_certificate(
    tls_registry: Registry, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = tls_registry.ref("tls/stack", "v1")
    code, out, err = cli(capsys, "bundle", "-r", str(recipe), "-o", ref)
    assert (code, out) == (6, "")
    assert f"{ref}: TLS with {tls_registry.host} failed: certificate verify failed" in err and "--insecure" in err
    code, out, err = cli(capsys, "bundle", "-r", str(recipe), "-o", ref, "--insecure")
    assert code == 0, err
    code, _, err = cli(capsys, "bundle", "pull", out.strip(), str(tmp_path / "p"), "--insecure-tls")
    assert code == 0, err
    code, _, err = cli(capsys, "bundle", "pull", out.strip(), str(tmp_path / "q"), "--plain-http")
    assert code == 6, err  # plain HTTP to an HTTPS registry: it answers 400


def helm_env(tmp: Path) -> dict[str, str]:
    home = tmp / "helm-home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "HELM_CACHE_HOME": str(home / "cache")}


def run_helm(helm: Path, tmp: Path, *args: str) -> str:
    proc = subprocess.run([str(helm), *args], capture_output=True, text=True, env=helm_env(tmp), timeout=120)
    assert proc.returncode == 0, f"helm {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_pushed_charts_work_with_the_real_helm(
    oci_registry: Registry,
    helm: Path,
    upstream_charts: Path,
    recipe: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = cli(
        capsys, "bundle", "-r", str(recipe), "-o", oci_registry.ref("charts/stack", "v1"), "--plain-http",
        "--push-charts", "--charts", str(upstream_charts), "--disable", "nvsentinel",
    )  # fmt: skip
    assert code == 0, err
    bundle_ref, *chart_lines = out.splitlines()
    pulled = tmp_path / "bundle"
    assert cli(capsys, "bundle", "pull", bundle_ref, str(pulled), "--plain-http")[0] == 0
    plan = yaml.load((pulled / "install-plan.yaml").read_bytes())
    steps = [s for s in plan["steps"] if s.get("chart")]
    assert len(chart_lines) == len({(s["chart"]["name"], s["chart"]["version"]) for s in steps}) > 3
    pushed: dict[str, str] = {}
    for line in chart_lines:
        name = line.rsplit("@", 1)[0].rsplit(":", 1)[0]
        assert name.startswith(f"oci://{oci_registry.host}/charts/stack/charts/")
        pushed[name.rsplit("/", 1)[1]] = line

    gpu = next(s for s in steps if s["component"] == "gpu-operator")
    chart, version, namespace = gpu["chart"]["name"], gpu["chart"]["version"], gpu["namespace"]
    base = f"oci://{oci_registry.host}/charts/stack/charts/{chart}"
    # helm pull by --version: the package, byte for byte as upstream ships it.
    (tmp_path / "pulled-charts").mkdir()
    run_helm(helm, tmp_path, "pull", base, "--version", version, "--plain-http", "-d", str(tmp_path / "pulled-charts"))
    [package] = (tmp_path / "pulled-charts").iterdir()
    assert package.read_bytes() == (upstream_charts / package.name).read_bytes()
    # helm template by digest, with the bundle's values and namespace: the install deploy.sh would do.
    digest = pushed[chart].rsplit("@", 1)[1]
    rendered = run_helm(
        helm, tmp_path, "template", "gpu-operator", f"{base}@{digest}", "--plain-http",
        "-n", namespace, "-f", str(pulled / gpu["values"]),
    )  # fmt: skip
    docs = [d for d in (yaml.load(part) for part in ("\n" + rendered).split("\n---\n") if part.strip()) if d]
    assert any(d["kind"] == "Deployment" for d in docs)
    assert {d["metadata"].get("namespace") for d in docs if d.get("kind") == "Deployment"} == {namespace}

    # A chart whose own repository is an OCI registry is copied from there (same artifact, same digest).
    doc: dict[str, Any] = yaml.load(recipe.read_bytes())
    ref = next(r for r in doc["componentRefs"] if r["name"] == "gpu-operator")
    ref["source"] = f"oci://{oci_registry.host}/charts/stack/charts"
    ref.pop("dependencyRefs", None)
    doc["componentRefs"] = [ref]
    one = tmp_path / "one.yaml"
    one.write_text(yaml.dump(doc))
    code, out, err = cli(
        capsys, "bundle", "-r", str(one), "-o", oci_registry.ref("charts/copy", "v1"), "--plain-http", "--push-charts"
    )
    assert code == 0, err
    [copied] = out.splitlines()[1:]
    assert copied.rsplit("@", 1)[1] == digest
    assert copied.startswith(f"oci://{oci_registry.host}/charts/copy/charts/{chart}:")


def test_pull_of_something_else_is_not_a_bundle(
    oci_registry: Registry, upstream_charts: Path, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc: dict[str, Any] = yaml.load(recipe.read_bytes())
    ref = next(r for r in doc["componentRefs"] if r["name"] == "cert-manager")
    doc["componentRefs"] = [ref]
    one = tmp_path / "one.yaml"
    one.write_text(yaml.dump(doc))
    code, out, err = cli(
        capsys, "bundle", "-r", str(one), "-o", oci_registry.ref("other/stack", "v1"), "--plain-http",
        "--push-charts", "--charts", str(upstream_charts),
    )  # fmt: skip
    assert code == 0, err
    chart_ref = out.splitlines()[1]
    code, out, err = cli(capsys, "bundle", "pull", chart_ref, str(tmp_path / "x"), "--plain-http")
    assert (code, out) == (2, "")
    assert "not an Eidos bundle" in err and "application/vnd.cncf.helm.config.v1+json" in err


def test_a_chart_that_cannot_be_found_stops_the_push(
    oci_registry: Registry, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc: dict[str, Any] = yaml.load(recipe.read_bytes())
    ref = next(r for r in doc["componentRefs"] if r["name"] == "cert-manager")
    ref["source"], ref["version"] = f"http://127.0.0.1:{free_port()}/charts", "v0.0.1"
    doc["componentRefs"] = [ref]
    one = tmp_path / "one.yaml"
    one.write_text(yaml.dump(doc))
    empty = tmp_path / "empty"
    empty.mkdir()
    target = oci_registry.ref("missing/stack", "v1")
    code, out, err = cli(
        capsys, "bundle", "-r", str(one), "-o", target, "--plain-http", "--push-charts", "--charts", str(empty)
    )
    assert (code, out) == (3, "")
    assert "chart cert-manager v0.0.1: not found" in err and "--charts" in err
    with pytest.raises(urllib.error.HTTPError, match="404"):  # nothing pushed: the bundle waits for its charts
        oci_registry.manifest("missing/stack", "v1")
