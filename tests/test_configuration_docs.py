from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _variables_read_by_settings() -> set[str]:
    source = (ROOT / "govcloud_eval" / "settings.py").read_text()
    return set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', source)) | set(
        re.findall(r'"([A-Z_]+)" not in env', source)
    )


def test_every_setting_read_from_the_environment_is_in_env_example_and_the_readme() -> None:
    variables = _variables_read_by_settings()
    env_example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()

    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "EVIDENCE_MAX_BYTES"} <= variables
    assert [v for v in sorted(variables) if not re.search(rf"^#? ?{v}=", env_example, re.M)] == []
    assert [v for v in sorted(variables) if f"`{v}`" not in readme] == []


def test_docker_compose_runs_postgres_redis_web_a_worker_and_beat_on_one_configuration() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["DEBUG"] == "false"
        assert set(services[name]["depends_on"]) == {"postgres", "redis"}
    assert "celery" in services["worker"]["command"] and "worker" in services["worker"]["command"]
    assert "celery" in services["beat"]["command"] and "beat" in services["beat"]["command"]
