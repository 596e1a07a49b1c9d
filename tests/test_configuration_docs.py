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

    assert set(services) == {"postgres", "redis", "seaweedfs", "web", "worker", "beat"}
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["DEBUG"] == "false"
        assert set(services[name]["depends_on"]) == {"postgres", "redis", "seaweedfs"}
    assert "celery" in services["worker"]["command"] and "worker" in services["worker"]["command"]
    assert "celery" in services["beat"]["command"] and "beat" in services["beat"]["command"]


def test_in_docker_compose_files_go_through_the_object_store_and_only_the_worker_signs() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    store = services["seaweedfs"]["environment"]

    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["S3_ENDPOINT_URL"] == "http://seaweedfs:8333"
        assert env["S3_BUCKET"] == store["S3_BUCKET"]
        # The store's admin identity is the app's key pair.
        assert (env["S3_ACCESS_KEY_ID"], env["S3_SECRET_ACCESS_KEY"]) == (
            store["AWS_ACCESS_KEY_ID"],
            store["AWS_SECRET_ACCESS_KEY"],
        )
        assert "MEDIA_ROOT" not in env
    # Web and worker share no volume; the signing key is mounted where reports are rendered.
    assert "volumes" not in services["web"] and "volumes" not in services["beat"]
    assert services["worker"]["volumes"] == ["signing:/app/var/signing"]
    assert "media" not in compose["volumes"]
