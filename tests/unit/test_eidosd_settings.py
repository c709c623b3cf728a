from __future__ import annotations

import pytest

from eidos_core.errors import InvalidRequestError
from eidosd.settings import load_settings


def test_defaults() -> None:
    s = load_settings({})
    assert (s.port, s.host, s.recipe_data_path) == (8080, "0.0.0.0", "")
    assert not s.allowlists.enabled


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"PORT": "0"}, "PORT='0': must be an integer from 1 to 65535"),
        ({"PORT": "80x"}, "PORT='80x'"),
        ({"EIDOS_ALLOWED_OS": "ubuntu,windows"}, "invalid EIDOS_ALLOWED_OS: invalid os type: windows"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(InvalidRequestError, match=needle):
        load_settings(env)


@pytest.mark.parametrize(
    ("raw", "seconds"), [("30s", 30.0), ("1m30s", 90.0), ("500ms", 0.5), ("10", 10.0), ("1h", 3600.0)]
)
def test_durations(raw: str, seconds: float) -> None:
    assert load_settings({"READ_TIMEOUT": raw}).read_timeout == seconds


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"READ_TIMEOUT": "soon"}, "READ_TIMEOUT='soon': not a duration"),
        ({"SHUTDOWN_DELAY": "5 s"}, "SHUTDOWN_DELAY='5 s': not a duration"),
        ({"RATE_LIMIT": "0"}, "RATE_LIMIT='0': must be a number greater than 0"),
        ({"RATE_BURST": "-1"}, "RATE_BURST='-1': must be an integer"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud': must be one of debug, info, warning, error"),
        ({"RECIPE_CONFIGMAP": "just-a-name"}, "RECIPE_CONFIGMAP='just-a-name': must be namespace/name"),
        ({"RECIPE_CONFIGMAP": "ns/cm", "RECIPE_DATA_PATH": "/data"}, "both set"),
    ],
)
def test_more_bad_values(env: dict[str, str], needle: str) -> None:
    with pytest.raises(InvalidRequestError, match=needle):
        load_settings(env)


def test_env_names_cover_the_documented_variables() -> None:
    from eidosd.settings import env_names

    documented = {"PORT", "LOG_LEVEL", "RATE_LIMIT", "RATE_BURST", "READ_TIMEOUT", "WRITE_TIMEOUT", "IDLE_TIMEOUT",
                  "SHUTDOWN_TIMEOUT", "SHUTDOWN_DELAY", "RECIPE_DATA_PATH", "RECIPE_CONFIGMAP"}  # fmt: skip
    assert documented <= set(env_names())
    assert load_settings({"LOG_LEVEL": "WARN"}).log_level == "warning"
