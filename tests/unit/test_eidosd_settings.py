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
