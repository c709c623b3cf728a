from __future__ import annotations

import re

import pytest

from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.criteria import ALLOWLIST_ENV
from eidosd.__main__ import main
from eidosd.settings import AllowListSetting, Setting, Settings, SettingsError, declared, env_names, load_settings


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


def test_blank_is_unset_and_bounds_are_inclusive() -> None:
    assert load_settings({"PORT": "  ", "HOST": "", "READ_TIMEOUT": " "}) == load_settings({})
    assert load_settings({"PORT": " 65535 "}).port == 65535
    assert load_settings({"MAX_BODY_BYTES": "1024"}).max_body_bytes == 1024
    for env, needle in [
        ({"PORT": "65536"}, "PORT='65536': must be an integer from 1 to 65535"),
        ({"MAX_BODY_BYTES": "1023"}, "MAX_BODY_BYTES='1023': must be an integer from 1024 to 16777216"),
        ({"RATE_LIMIT": "nan"}, "RATE_LIMIT='nan': must be a number greater than 0"),
        ({"RATE_LIMIT": "inf"}, "RATE_LIMIT='inf': must be a number greater than 0"),
        ({"WRITE_TIMEOUT": "-1s"}, "WRITE_TIMEOUT='-1s': not a duration"),
    ]:
        with pytest.raises(SettingsError, match=re.escape(needle)):
            load_settings(env)


def test_one_declaration_per_setting() -> None:
    # The defaults of load_settings({}) are the dataclass's: written once.
    assert load_settings({}) == Settings()
    names = env_names()
    assert len(names) == len(set(names))
    # Every field is declared, and each single-variable default, written as help shows it, parses back to itself.
    for f, spec in declared():
        if isinstance(spec, Setting):
            assert spec.default == getattr(Settings(), f.name)
            if spec.default != "":
                assert spec.kind.parse(spec.env, spec.kind.show(spec.default)) == spec.default, spec.env
        else:
            assert isinstance(spec, AllowListSetting)
            assert spec.env_names() == tuple(ALLOWLIST_ENV.values())
    assert [spec.flag for _, spec in declared() if isinstance(spec, Setting)][:2] == ["--port", "--host"]


def test_help_lists_every_variable_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for name in env_names():
        assert any(line.startswith(f"  {name} ") for line in lines), name
    text = " ".join(out.split())  # help wraps long lines
    for needle in ("PORT TCP port to listen on [default: 8080;", "READ_TIMEOUT", "[default: 10s;",
                   "[default: 0.0.0.0;", "RECIPE_DATA_PATH", "[default: unset; a path]", "[default: 65536;",
                   "EIDOS_ALLOWED_OS the OS values"):  # fmt: skip
        assert needle in text, needle


def test_bad_setting_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUTDOWN_DELAY", "5 s")
    assert main([]) == 2
    assert capsys.readouterr().err == "eidosd: SHUTDOWN_DELAY='5 s': not a duration (examples: 30s, 1m30s, 500ms, 10)\n"


def test_unknown_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--port", "1"])
    assert done.value.code == 2
