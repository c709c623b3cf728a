"""Server settings: every environment variable is read and validated here, once, at start-up.

A bad value raises :class:`SettingsError` whose message is the one line printed before exit 2.
Durations accept Go syntax (``30s``, ``1m30s``, ``500ms``) or plain seconds (``30``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from eidos_core import durations
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.criteria import AllowLists, parse_allowlists


class SettingsError(InvalidRequestError):
    """A bad environment variable; start-up stops with this one line."""


LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING,
              "error": logging.ERROR}  # fmt: skip


def parse_duration(name: str, raw: str) -> float:
    try:
        return durations.parse_duration(name, raw)
    except InvalidRequestError as exc:
        raise SettingsError(exc.message) from None


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed server settings. ``env`` names the variable each field comes from (tests and the
    Kubernetes manifests check against it)."""

    port: int = field(default=8080, metadata={"env": "PORT"})
    host: str = field(default="0.0.0.0", metadata={"env": "HOST"})
    log_level: str = field(default="info", metadata={"env": "LOG_LEVEL"})
    rate_limit: float = field(default=100.0, metadata={"env": "RATE_LIMIT"})
    rate_burst: int = field(default=200, metadata={"env": "RATE_BURST"})
    read_timeout: float = field(default=10.0, metadata={"env": "READ_TIMEOUT"})
    write_timeout: float = field(default=30.0, metadata={"env": "WRITE_TIMEOUT"})
    idle_timeout: float = field(default=120.0, metadata={"env": "IDLE_TIMEOUT"})
    shutdown_timeout: float = field(default=30.0, metadata={"env": "SHUTDOWN_TIMEOUT"})
    shutdown_delay: float = field(default=0.0, metadata={"env": "SHUTDOWN_DELAY"})
    recipe_data_path: str = field(default="", metadata={"env": "RECIPE_DATA_PATH"})
    recipe_configmap: str = field(default="", metadata={"env": "RECIPE_CONFIGMAP"})
    max_body_bytes: int = field(default=64 * 1024, metadata={"env": "MAX_BODY_BYTES"})
    allowlists: AllowLists = field(default_factory=AllowLists)

    @property
    def log_level_number(self) -> int:
        return LOG_LEVELS[self.log_level]


def env_names() -> tuple[str, ...]:
    """Every environment variable eidosd reads (allow-lists included)."""
    from eidos_core.recipe.criteria import ALLOWLIST_ENV

    own = tuple(f.metadata["env"] for f in fields(Settings) if "env" in f.metadata)
    return own + tuple(ALLOWLIST_ENV.values())


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"\d+", raw) or not low <= int(raw) <= high:
        raise SettingsError(f"{name}={raw!r}: must be an integer from {low} to {high}")
    return int(raw)


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: must be a number greater than 0") from None
    if not value > 0 or value != value or value == float("inf"):
        raise SettingsError(f"{name}={raw!r}: must be a number greater than 0")
    return value


def _duration(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    return parse_duration(name, raw) if raw else default


def _configmap(raw: str) -> str:
    raw = raw.strip()
    if raw and not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?", raw):
        raise SettingsError(f"RECIPE_CONFIGMAP={raw!r}: must be namespace/name")
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    level = env.get("LOG_LEVEL", "info").strip().lower() or "info"
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL={env.get('LOG_LEVEL')!r}: must be one of debug, info, warning, error")
    data_path = env.get("RECIPE_DATA_PATH", "").strip()
    configmap = _configmap(env.get("RECIPE_CONFIGMAP", ""))
    if data_path and configmap:
        raise SettingsError("RECIPE_DATA_PATH and RECIPE_CONFIGMAP are both set: choose one source of recipe data")
    try:
        allowlists = parse_allowlists(env)
    except InvalidRequestError as exc:
        raise SettingsError(exc.message) from None
    return Settings(
        port=_int(env, "PORT", 8080, 1, 65535),
        host=env.get("HOST", "").strip() or "0.0.0.0",
        log_level="warning" if level == "warn" else level,
        rate_limit=_positive_float(env, "RATE_LIMIT", 100.0),
        rate_burst=_int(env, "RATE_BURST", 200, 1, 1_000_000),
        read_timeout=_duration(env, "READ_TIMEOUT", 10.0),
        write_timeout=_duration(env, "WRITE_TIMEOUT", 30.0),
        idle_timeout=_duration(env, "IDLE_TIMEOUT", 120.0),
        shutdown_timeout=_duration(env, "SHUTDOWN_TIMEOUT", 30.0),
        shutdown_delay=_duration(env, "SHUTDOWN_DELAY", 0.0),
        recipe_data_path=data_path,
        recipe_configmap=configmap,
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
        allowlists=allowlists,
    )
