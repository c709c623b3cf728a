"""An eidosd process for hostile tests: started as its console script on a free port, driven
over HTTP with the standard library, and checked for being alive after every blow."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

EIDOSD = shutil.which("eidosd", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Eidosd:
    def __init__(self, workdir: Path, **env: str) -> None:
        assert EIDOSD, "eidosd console script is not installed"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"eidosd-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [EIDOSD],
            env={**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1", "RATE_LIMIT": "100000",
                 "RATE_BURST": "100000", **env},
            stdout=self._log,
            stderr=self._log,
            cwd=workdir,
        )  # fmt: skip

    def wait_ready(self, within: float = 20) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            self.assert_alive()
            try:
                urllib.request.urlopen(self.base + "/ready", timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"eidosd did not become ready: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_alive(self) -> None:
        code = self.proc.poll()
        assert code is None, f"eidosd died with exit code {code}: {self.log()[-2000:]}"

    def request(
        self, path: str, body: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, path: str) -> tuple[int, Any]:
        status, _, body = self.request(path)
        return status, json.loads(body)

    def metric(self, name: str) -> float:
        _, _, body = self.request("/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self) -> int:
        self.proc.terminate()
        try:
            code = self.proc.wait(30)
        finally:
            self._log.close()
        return code
