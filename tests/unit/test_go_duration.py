"""X-Bundle-Duration as the reference writes it: Go's time.Duration.String()."""

from __future__ import annotations

import pytest

from eidosd.bundles import go_duration


@pytest.mark.parametrize(
    ("seconds", "go"),
    [
        (0, "0s"),
        (5e-9, "5ns"),
        (0.00025, "250µs"),
        (0.0012345, "1.2345ms"),
        (0.012345678, "12.345678ms"),
        (1.5, "1.5s"),
        (2.0, "2s"),
        (61.25, "1m1.25s"),
        (3600, "1h0m0s"),
        (5400.5, "1h30m0.5s"),
    ],
)
def test_as_go_prints_it(seconds: float, go: str) -> None:
    assert go_duration(seconds) == go
