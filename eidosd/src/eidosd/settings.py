"""Server settings: every environment variable is read and validated here, once, at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.criteria import AllowLists, parse_allowlists


class SettingsError(InvalidRequestError):
    """A bad environment variable; start-up stops with this one line."""


@dataclass(frozen=True, slots=True)
class Settings:
    port: int = 8080
    host: str = "0.0.0.0"
    recipe_data_path: str = ""
    allowlists: AllowLists = field(default_factory=AllowLists)


def _port(env: Mapping[str, str]) -> int:
    raw = env.get("PORT", "").strip()
    if not raw:
        return 8080
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"PORT={raw!r}: must be an integer from 1 to 65535")
    return int(raw)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        port=_port(env),
        host=env.get("HOST", "0.0.0.0").strip() or "0.0.0.0",
        recipe_data_path=env.get("RECIPE_DATA_PATH", "").strip(),
        allowlists=parse_allowlists(env),
    )
