from __future__ import annotations

import re

import pytest

from eidos_core import __version__
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.criteria import ALLOWLIST_ENV
from eidosd.__main__ import main, parse_flags
from eidosd.settings import (
    ENV_ONLY,
    AllowListSetting,
    Setting,
    Settings,
    SettingsError,
    declared,
    env_names,
    flag_settings,
    load_settings,
)


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
    flags = [flag for _, flag, _ in flag_settings()]
    assert flags[:2] == ["--port", "--host"] and len(flags) == len(set(flags))


def test_help_lists_every_setting_with_its_flag_and_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    # Each variable starts a line, with its flag (or "(no flag)") on the same line.
    for _, spec in declared():
        flag = f"{spec.flag} {spec.kind.metavar}" if isinstance(spec, Setting) and spec.flag else ENV_ONLY
        for name in spec.env_names():
            assert any(re.fullmatch(rf"  {name} +{re.escape(flag)}", line) for line in lines), (name, flag)
    text = " ".join(out.split())  # help wraps long lines
    for needle in ("PORT --port N TCP port to listen on [default: 8080;", "READ_TIMEOUT --read-timeout DURATION",
                   "[default: 10s;", "[default: 0.0.0.0;", "RECIPE_DATA_PATH --data PATH", "[default: unset; a path]",
                   "[default: 65536;", "EIDOS_ALLOWED_OS (no flag) the OS values", "--version"):  # fmt: skip
        assert needle in text, needle


# One non-default value per flag; a flag added to the table without one here fails the test below.
SAMPLES = {"--port": "9090", "--host": "127.0.0.1", "--log-level": "WARN", "--rate-limit": "2.5", "--rate-burst": "7",
           "--read-timeout": "1m30s", "--write-timeout": "500ms", "--idle-timeout": "5", "--shutdown-timeout": "1s",
           "--shutdown-delay": "2s", "--data": "/srv/recipes", "--configmap": "eidos/recipes",
           "--max-body-bytes": "2048", "--signing-key": "/keys/k.pem",
           "--signing-key-passphrase-file": "/keys/pass"}  # fmt: skip


def test_every_flag_round_trips_like_its_variable() -> None:
    assert set(SAMPLES) == {flag for _, flag, _ in flag_settings()}
    for f, flag, spec in flag_settings():
        raw = SAMPLES[flag]
        # the passphrase file needs a key; given the same way on both sides
        key = f.name == "bundle_signing_key_passphrase_file"
        for argv in ([flag, raw], [f"{flag}={raw}"]):
            from_flag = load_settings({}, parse_flags([*argv, *(["--signing-key", "/k"] if key else [])]))
            from_env = load_settings({spec.env: raw, **({"BUNDLE_SIGNING_KEY": "/k"} if key else {})})
            assert from_flag == from_env, argv
            assert getattr(from_flag, f.name) != spec.default, argv
        # the default, written as --help shows it, is accepted by the flag too
        if spec.default != "":
            shown = spec.kind.show(spec.default)
            assert getattr(load_settings({}, {flag: shown}), f.name) == spec.default, flag


def test_flag_beats_variable_beats_default() -> None:
    assert load_settings({}).port == 8080
    assert load_settings({"PORT": "81"}).port == 81
    assert load_settings({"PORT": "81"}, {"--port": "82"}).port == 82
    # A variable a flag overrides is not read at all, so a bad one does not matter.
    assert load_settings({"PORT": "http", "LOG_LEVEL": "loud"}, {"--port": "82", "--log-level": "debug"}).port == 82
    # Other settings still come from the environment.
    assert load_settings({"HOST": "::1"}, {"--port": "82"}).host == "::1"


@pytest.mark.parametrize(
    ("flags", "env", "line"),
    [
        ({"--port": "0x"}, {}, "--port='0x': must be an integer from 1 to 65535"),
        ({"--port": "70000"}, {}, "--port='70000': must be an integer from 1 to 65535"),
        ({"--port": " "}, {"PORT": "81"}, "--port='': must be an integer from 1 to 65535"),
        ({"--data": ""}, {}, "--data='': must be a path"),
        ({"--read-timeout": "soon"}, {}, "--read-timeout='soon': not a duration"),
        ({"--log-level": "loud"}, {}, "--log-level='loud': must be one of debug, info, warning, error"),
        ({"--configmap": "nope"}, {}, "--configmap='nope': must be namespace/name"),
        ({"--data": "/d"}, {"RECIPE_CONFIGMAP": "ns/cm"}, "--data and RECIPE_CONFIGMAP are both set"),
        ({"--data": "/d", "--configmap": "ns/cm"}, {}, "--data and --configmap are both set"),
        (
            {"--signing-key-passphrase-file": "/p"},
            {},
            "--signing-key-passphrase-file is set without BUNDLE_SIGNING_KEY",
        ),
    ],
)
def test_bad_flag_values_name_the_flag(flags: dict[str, str], env: dict[str, str], line: str) -> None:
    with pytest.raises(SettingsError, match="^" + re.escape(line)):
        load_settings(env, flags)


def test_undeclared_flag_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="--allowed-os"):
        load_settings({}, {"--allowed-os": "ubuntu"})


def test_bad_setting_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUTDOWN_DELAY", "5 s")
    assert main([]) == 2
    assert capsys.readouterr().err == "eidosd: SHUTDOWN_DELAY='5 s': not a duration (examples: 30s, 1m30s, 500ms, 10)\n"
    assert main(["--shutdown-delay", "5 s"]) == 2
    assert (
        capsys.readouterr().err == "eidosd: --shutdown-delay='5 s': not a duration (examples: 30s, 1m30s, 500ms, 10)\n"
    )


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--prot", "1"], "unrecognized arguments: --prot 1 (did you mean --port?)"),
        (["--prot=1"], "unrecognized arguments: --prot=1 (did you mean --port?)"),
        (["port"], "unrecognized arguments: port (did you mean --port?)"),
        (["--po", "1"], "unrecognized arguments: --po 1 (did you mean --port?)"),  # no prefix matching
        (["--rate-limt", "5"], "unrecognized arguments: --rate-limt 5 (did you mean --rate-limit?)"),
        (["--verison"], "unrecognized arguments: --verison (did you mean --version?)"),
        (["--port", "81", "serve"], "unrecognized arguments: serve (see 'eidosd --help')"),
        (["--allowed-os", "ubuntu"], "unrecognized arguments: --allowed-os ubuntu (see 'eidosd --help')"),
        (["--port"], "argument --port: expected one argument (see 'eidosd --help')"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv: list[str], line: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert capsys.readouterr().err == f"eidosd: error: {line}\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"eidosd version {__version__}\n"
