"""The settings of formal reports: the timestamp authority is checked at start, and the demo seal
never reaches a production report unless someone names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_settings import PRODUCTION, _load_settings, _named, _production


@pytest.mark.parametrize(
    ("variables", "named", "says"),
    [
        ({"REPORT_TSA_URL": "tsa.example.gov.cn/tsp"}, ["REPORT_TSA_URL"], "http:// or https://"),
        ({"REPORT_TSA_PASSWORD": "secret"}, ["REPORT_TSA_PASSWORD"], "without REPORT_TSA_USERNAME"),
    ],
)
def test_a_malformed_timestamp_authority_is_refused_at_start(
    variables: dict[str, str], named: list[str], says: str
) -> None:
    result = _load_settings(**_production(**variables))

    assert result.returncode != 0
    assert _named(result.stderr) == named, result.stderr
    assert says in result.stderr


def test_the_demo_seal_is_the_default_in_development_only() -> None:
    development = _load_settings("s.REPORT_SEAL_IMAGE", DEBUG="true")
    production = _load_settings("repr(s.REPORT_SEAL_IMAGE)", **PRODUCTION)

    assert development.returncode == 0, development.stderr
    seal = Path(development.stdout.split()[1])
    assert seal.name == "report-seal-development.png" and seal.is_file()
    assert production.returncode == 0, production.stderr
    assert production.stdout.split()[1] == "''"


def test_a_timestamp_authority_with_credentials_starts() -> None:
    result = _load_settings(
        "s.REPORT_TSA_URL",
        "s.REPORT_TSA_USERNAME",
        **PRODUCTION,
        REPORT_TSA_URL="https://tsa.example.gov.cn/tsp",
        REPORT_TSA_USERNAME="office",
        REPORT_TSA_PASSWORD="secret",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:] == ["https://tsa.example.gov.cn/tsp", "office"]
