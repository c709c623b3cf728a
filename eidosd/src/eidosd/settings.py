"""Server settings: every flag and environment variable is read and validated here, once, at start-up.

Each setting is declared once, as a field of :class:`Settings`: its variable, its command-line
flag (every single-variable setting has one; the ``EIDOS_ALLOWED_*`` allow-lists are deployment
policy and stay environment-only), how its value is parsed (and the bounds it must be in), its
default and one line of help. Parsing (:func:`load_settings`), the list of variables
(:func:`env_names`), the flags ``eidosd`` accepts (:func:`flag_settings`) and ``eidosd --help``
(:func:`help_text`) are all derived from those declarations (:func:`declared`), so they cannot
drift apart.

A setting comes from its flag, else its variable, else its default; a flag's value goes through
the same parser as the variable's. A bad value raises :class:`SettingsError` whose message is the
one line printed before exit 2, always ``NAME='value': what is wrong`` where NAME is the flag or
the variable the value came from. Durations accept Go syntax (``30s``, ``1m30s``, ``500ms``) or
plain seconds (``30``). An empty (or blank) variable is the same as an unset one; an empty flag
value is an error (``--data ""`` is more likely an unset shell variable than a wish for the
default).
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

ENV_ONLY = "(no flag)"


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """One setting: its environment variable, its flag (``None``: environment only), kind,
    default and one line of help."""

    env: str
    flag: str | None
    kind: Kind[T]
    default: T
    help: str

    def env_names(self) -> tuple[str, ...]:
        return (self.env,)

    def source(self, env: Mapping[str, str], flags: Mapping[str, str]) -> tuple[str, str] | None:
        """(name, raw text) of where the value comes from: the flag if given, else the variable
        if set and not blank; ``None`` for the default."""
        if self.flag is not None and self.flag in flags:
            return self.flag, flags[self.flag].strip()
        raw = env.get(self.env, "").strip()
        return (self.env, raw) if raw else None

    def read(self, env: Mapping[str, str], flags: Mapping[str, str]) -> T:
        given = self.source(env, flags)
        if given is None:
            return self.default
        name, raw = given
        if not raw:  # only a flag gets here empty
            raise SettingsError(f"{name}='': must be {self.kind.accepts}")
        return self.kind.parse(name, raw)

    def help_rows(self) -> list[tuple[str, str, str]]:
        """(variable, flag, text) entries for ``--help``."""
        shown = self.kind.show(self.default) if self.default != "" else "unset"
        flag = f"{self.flag} {self.kind.metavar}" if self.flag else ENV_ONLY
        return [(self.env, flag, f"{self.help} [default: {shown}; {self.kind.accepts}]")]


@dataclass(frozen=True, slots=True)
class AllowListSetting:
    """The ``EIDOS_ALLOWED_*`` variables, read together (eidos_core parses them, the reference's
    ``Eidos_ALLOWED_*`` spelling included)."""

    default: AllowLists
    help: str

    def env_names(self) -> tuple[str, ...]:
        return tuple(ALLOWLIST_ENV.values())

    def read(self, env: Mapping[str, str], flags: Mapping[str, str]) -> AllowLists:
        try:
            return parse_allowlists(env)
        except InvalidRequestError as exc:
            raise SettingsError(exc.message) from None

    def help_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for dimension, var in ALLOWLIST_ENV.items():
            what = "OS" if dimension == "os" else dimension
            text = f"{self.help.format(what=what)} [default: unset, every {what}; a comma-separated list]"
            rows.append((var, ENV_ONLY, text))
        return rows


Declaration = Setting[Any] | AllowListSetting


def setting(env: str, flag: str | None, kind: Kind[T], default: T, help: str) -> T:
    """A :class:`Settings` field read from ``flag``, else ``env`` (the declaration rides in the
    field's metadata)."""
    return field(default=default, metadata={"setting": Setting(env, flag, kind, default, help), "env": env})


def allowlist_setting(help: str) -> AllowLists:
    """The :class:`Settings` field read from the ``EIDOS_ALLOWED_*`` variables."""
    default = AllowLists()
    return field(default=default, metadata={"setting": AllowListSetting(default, help)})


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed server settings; each field declares the flag and variable it is read from."""

    port: int = setting("PORT", "--port", integer(1, 65535), 8080, "TCP port to listen on")
    host: str = setting("HOST", "--host", ADDRESS, "0.0.0.0", "address to listen on")
    log_level: str = setting(
        "LOG_LEVEL", "--log-level", LOG_LEVEL, "info", "JSON log lines on stderr from this level; access lines at info"
    )
    rate_limit: float = setting(
        "RATE_LIMIT",
        "--rate-limit",
        POSITIVE_NUMBER,
        100.0,
        "rate limit per replica, tokens per second (probes and /metrics are never limited)",
    )
    rate_burst: int = setting(
        "RATE_BURST",
        "--rate-burst",
        integer(1, 1_000_000),
        200,
        "rate-limit bucket capacity (requests admitted at once)",
    )
    read_timeout: float = setting(
        "READ_TIMEOUT",
        "--read-timeout",
        DURATION,
        10.0,
        "a request's headers and body must arrive within this (else 408)",
    )
    write_timeout: float = setting(
        "WRITE_TIMEOUT", "--write-timeout", DURATION, 30.0, "a handler must answer within this (else 504)"
    )
    idle_timeout: float = setting(
        "IDLE_TIMEOUT", "--idle-timeout", DURATION, 120.0, "idle keep-alive connections are closed after this"
    )
    shutdown_timeout: float = setting(
        "SHUTDOWN_TIMEOUT",
        "--shutdown-timeout",
        DURATION,
        30.0,
        "after the listener closes, requests already received get this long to finish",
    )
    shutdown_delay: float = setting(
        "SHUTDOWN_DELAY",
        "--shutdown-delay",
        DURATION,
        0.0,
        "after SIGTERM, /ready is 503 but requests are still served this long",
    )
    recipe_data_path: str = setting(
        "RECIPE_DATA_PATH", "--data", PATH, "", "serve this recipe data directory instead of the embedded data"
    )
    recipe_configmap: str = setting(
        "RECIPE_CONFIGMAP",
        "--configmap",
        CONFIGMAP,
        "",
        "serve recipe data from this ConfigMap (keys a__b.yaml = a/b.yaml), watched; not with --data",
    )
    max_body_bytes: int = setting(
        "MAX_BODY_BYTES",
        "--max-body-bytes",
        integer(1024, 16 * 1024 * 1024),
        64 * 1024,
        "request body limit in bytes (else 413)",
    )
    bundle_signing_key: str = setting(
        "BUNDLE_SIGNING_KEY",
        "--signing-key",
        PATH,
        "",
        "sign every POST /v1/bundle archive with this PEM private key (Ed25519 or ECDSA P-256); read once at start-up",
    )
    bundle_signing_key_passphrase_file: str = setting(
        "BUNDLE_SIGNING_KEY_PASSPHRASE_FILE",
        "--signing-key-passphrase-file",
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


def flag_settings() -> Iterator[tuple[Field[Any], str, Setting[Any]]]:
    """(field, flag, declaration) of the settings that have a command-line flag, in declaration order."""
    for f, spec in declared():
        if isinstance(spec, Setting) and spec.flag is not None:
            yield f, spec.flag, spec


def load_settings(env: Mapping[str, str] | None = None, flags: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``flags`` (flag → raw value, as given on the command line), else ``env``
    (default: the process environment), else the defaults."""
    env = os.environ if env is None else env
    flags = {} if flags is None else flags
    unknown = set(flags) - {flag for _, flag, _ in flag_settings()}
    if unknown:  # a caller's bug, not a user's: argparse only passes declared flags
        raise ValueError(f"undeclared flags: {sorted(unknown)}")
    values: dict[str, Any] = {}
    named: dict[str, str] = {}  # field → the flag or variable it came from, for the messages below
    for f, spec in declared():
        values[f.name] = spec.read(env, flags)
        if isinstance(spec, Setting):
            where = spec.source(env, flags)
            named[f.name] = where[0] if where else spec.env
    settings = Settings(**values)
    if settings.recipe_data_path and settings.recipe_configmap:
        data, configmap = named["recipe_data_path"], named["recipe_configmap"]
        raise SettingsError(f"{data} and {configmap} are both set: choose one source of recipe data")
    if settings.bundle_signing_key_passphrase_file and not settings.bundle_signing_key:
        passphrase = named["bundle_signing_key_passphrase_file"]
        raise SettingsError(f"{passphrase} is set without BUNDLE_SIGNING_KEY (--signing-key)")
    return settings


def help_text(width: int = 100) -> str:
    """Every setting for ``eidosd --help``: its variable and flag on one line, then its help,
    default and accepted values, indented and wrapped to ``width``."""
    rows = [row for _, spec in declared() for row in spec.help_rows()]
    column = max(len(name) for name, _, _ in rows) + 4
    lines = []
    for name, flag, text in rows:
        lines.append(f"  {name.ljust(column - 2)}{flag}")
        lines.extend(
            textwrap.wrap(text, width, initial_indent=" " * 6, subsequent_indent=" " * 6, break_on_hyphens=False)
        )
    return "\n".join(lines)
