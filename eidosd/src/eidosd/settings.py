"""Server settings: every environment variable is read and validated here, once, at start-up.

Each setting is declared once, as a field of :class:`Settings`: its variable, how its value is
parsed (and the bounds it must be in), its default and one line of help. Parsing
(:func:`load_settings`), the list of variables (:func:`env_names`) and ``eidosd --help``
(:func:`help_text`) are all derived from those declarations (:func:`declared`); so will be a
command-line flag per setting (:attr:`Setting.flag`, :attr:`Kind.metavar`, ``Kind.parse`` as the
argparse ``type``).

A bad value raises :class:`SettingsError` whose message is the one line printed before exit 2,
always ``NAME='value': what is wrong``. Durations accept Go syntax (``30s``, ``1m30s``,
``500ms``) or plain seconds (``30``). An empty (or blank) variable is the same as an unset one.
"""

from __future__ import annotations

import logging
import math
import os
import re
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, Generic, TypeVar

from eidos_core import durations
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.criteria import ALLOWLIST_ENV, AllowLists, parse_allowlists

T = TypeVar("T")


class SettingsError(InvalidRequestError):
    """A bad environment variable; start-up stops with this one line."""


LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING,
              "error": logging.ERROR}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Kind(Generic[T]):
    """What a variable holds: ``parse(name, raw)`` turns its (stripped, non-empty) text into a
    value or raises :class:`SettingsError`; ``accepts`` says what is accepted, for help."""

    parse: Callable[[str, str], T]
    accepts: str
    metavar: str
    show: Callable[[T], str] = str  # a value as a user would write it (defaults in help)


def integer(low: int, high: int) -> Kind[int]:
    def parse(name: str, raw: str) -> int:
        if not re.fullmatch(r"\d+", raw) or not low <= int(raw) <= high:
            raise SettingsError(f"{name}={raw!r}: must be an integer from {low} to {high}")
        return int(raw)

    return Kind(parse, f"an integer from {low} to {high}", "N")


def _positive_number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isinf(value):  # NaN fails the comparison
        raise SettingsError(f"{name}={raw!r}: must be a number greater than 0")
    return value


def _duration(name: str, raw: str) -> float:
    try:
        return durations.parse_duration(name, raw)
    except InvalidRequestError as exc:
        raise SettingsError(exc.message) from None


def _show_seconds(value: float) -> str:
    return f"{value:g}s"


def _log_level(name: str, raw: str) -> str:
    level = raw.lower()
    if level not in LOG_LEVELS:
        raise SettingsError(f"{name}={raw!r}: must be one of debug, info, warning, error")
    return "warning" if level == "warn" else level


def _configmap(name: str, raw: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?", raw):
        raise SettingsError(f"{name}={raw!r}: must be namespace/name")
    return raw


def _text(name: str, raw: str) -> str:
    return raw


POSITIVE_NUMBER = Kind(_positive_number, "a number greater than 0", "NUMBER", lambda v: f"{v:g}")
DURATION = Kind(_duration, "a duration (30s, 1m30s, 500ms or plain seconds)", "DURATION", _show_seconds)
LOG_LEVEL = Kind(_log_level, "debug, info, warning (or warn), error", "LEVEL")
CONFIGMAP = Kind(_configmap, "namespace/name", "NAMESPACE/NAME")
ADDRESS = Kind(_text, "an address", "ADDRESS")
PATH = Kind(_text, "a path", "PATH")


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """One environment variable: its name, kind, default and one line of help."""

    env: str
    kind: Kind[T]
    default: T
    help: str

    @property
    def flag(self) -> str:
        """The command-line flag this setting will have (``PORT`` → ``--port``)."""
        return "--" + self.env.lower().replace("_", "-")

    def env_names(self) -> tuple[str, ...]:
        return (self.env,)

    def read(self, env: Mapping[str, str]) -> T:
        raw = env.get(self.env, "").strip()
        return self.kind.parse(self.env, raw) if raw else self.default

    def help_rows(self) -> list[tuple[str, str]]:
        """(variable, text) lines for ``--help``."""
        shown = self.kind.show(self.default) if self.default != "" else "unset"
        return [(self.env, f"{self.help} [default: {shown}; {self.kind.accepts}]")]


@dataclass(frozen=True, slots=True)
class AllowListSetting:
    """The ``EIDOS_ALLOWED_*`` variables, read together (eidos_core parses them, the reference's
    ``Eidos_ALLOWED_*`` spelling included)."""

    default: AllowLists
    help: str

    def env_names(self) -> tuple[str, ...]:
        return tuple(ALLOWLIST_ENV.values())

    def read(self, env: Mapping[str, str]) -> AllowLists:
        try:
            return parse_allowlists(env)
        except InvalidRequestError as exc:
            raise SettingsError(exc.message) from None

    def help_rows(self) -> list[tuple[str, str]]:
        rows = []
        for dimension, var in ALLOWLIST_ENV.items():
            what = "OS" if dimension == "os" else dimension
            rows.append((var, f"{self.help.format(what=what)} [default: unset, every {what}; a comma-separated list]"))
        return rows


Declaration = Setting[Any] | AllowListSetting


def setting(env: str, kind: Kind[T], default: T, help: str) -> T:
    """A :class:`Settings` field read from ``env`` (the declaration rides in the field's metadata)."""
    return field(default=default, metadata={"setting": Setting(env, kind, default, help), "env": env})


def allowlist_setting(help: str) -> AllowLists:
    """The :class:`Settings` field read from the ``EIDOS_ALLOWED_*`` variables."""
    default = AllowLists()
    return field(default=default, metadata={"setting": AllowListSetting(default, help)})


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed server settings; each field declares the variable it is read from."""

    port: int = setting("PORT", integer(1, 65535), 8080, "TCP port to listen on")
    host: str = setting("HOST", ADDRESS, "0.0.0.0", "address to listen on")
    log_level: str = setting(
        "LOG_LEVEL", LOG_LEVEL, "info", "JSON log lines on stderr from this level; access lines at info"
    )
    rate_limit: float = setting(
        "RATE_LIMIT",
        POSITIVE_NUMBER,
        100.0,
        "rate limit per replica, tokens per second (probes and /metrics are never limited)",
    )
    rate_burst: int = setting(
        "RATE_BURST", integer(1, 1_000_000), 200, "rate-limit bucket capacity (requests admitted at once)"
    )
    read_timeout: float = setting(
        "READ_TIMEOUT", DURATION, 10.0, "a request's headers and body must arrive within this (else 408)"
    )
    write_timeout: float = setting("WRITE_TIMEOUT", DURATION, 30.0, "a handler must answer within this (else 504)")
    idle_timeout: float = setting("IDLE_TIMEOUT", DURATION, 120.0, "idle keep-alive connections are closed after this")
    shutdown_timeout: float = setting(
        "SHUTDOWN_TIMEOUT",
        DURATION,
        30.0,
        "after the listener closes, requests already received get this long to finish",
    )
    shutdown_delay: float = setting(
        "SHUTDOWN_DELAY", DURATION, 0.0, "after SIGTERM, /ready is 503 but requests are still served this long"
    )
    recipe_data_path: str = setting(
        "RECIPE_DATA_PATH", PATH, "", "serve this recipe data directory instead of the embedded data"
    )
    recipe_configmap: str = setting(
        "RECIPE_CONFIGMAP",
        CONFIGMAP,
        "",
        "serve recipe data from this ConfigMap (keys a__b.yaml = a/b.yaml), watched; not with RECIPE_DATA_PATH",
    )
    max_body_bytes: int = setting(
        "MAX_BODY_BYTES", integer(1024, 16 * 1024 * 1024), 64 * 1024, "request body limit in bytes (else 413)"
    )
    bundle_signing_key: str = setting(
        "BUNDLE_SIGNING_KEY",
        PATH,
        "",
        "sign every POST /v1/bundle archive with this PEM private key (Ed25519 or ECDSA P-256); read once at start-up",
    )
    bundle_signing_key_passphrase_file: str = setting(
        "BUNDLE_SIGNING_KEY_PASSPHRASE_FILE",
        PATH,
        "",
        "file holding the passphrase of an encrypted BUNDLE_SIGNING_KEY (trailing newline ignored)",
    )
    # RUF009: like setting(), allowlist_setting() returns a dataclasses.field (an immutable default)
    allowlists: AllowLists = allowlist_setting("the {what} values the API answers for; others are refused with 400")  # noqa: RUF009

    @property
    def log_level_number(self) -> int:
        return LOG_LEVELS[self.log_level]


def declared() -> Iterator[tuple[Field[Any], Declaration]]:
    """Every :class:`Settings` field with its declaration, in declaration order."""
    for f in fields(Settings):
        yield f, f.metadata["setting"]


def env_names() -> tuple[str, ...]:
    """Every environment variable eidosd reads (allow-lists included)."""
    return tuple(name for _, spec in declared() for name in spec.env_names())


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    values: dict[str, Any] = {f.name: spec.read(env) for f, spec in declared()}
    settings = Settings(**values)
    if settings.recipe_data_path and settings.recipe_configmap:
        raise SettingsError("RECIPE_DATA_PATH and RECIPE_CONFIGMAP are both set: choose one source of recipe data")
    if settings.bundle_signing_key_passphrase_file and not settings.bundle_signing_key:
        raise SettingsError("BUNDLE_SIGNING_KEY_PASSPHRASE_FILE is set without BUNDLE_SIGNING_KEY")
    return settings


def help_text(width: int = 100) -> str:
    """The environment variables, one entry each with its help and default (``eidosd --help``)."""
    rows = [row for _, spec in declared() for row in spec.help_rows()]
    column = max(len(name) for name, _ in rows) + 4
    lines = []
    for name, text in rows:
        wrapped = textwrap.wrap(text, width - column, break_on_hyphens=False) or [""]
        lines.append(f"  {name.ljust(column - 2)}{wrapped[0]}")
        lines.extend(" " * column + more for more in wrapped[1:])
    return "\n".join(lines)
