"""schemathesis against the live OpenAPI schema, as an anonymous caller, a vendor, an assessor and
an admin (each with a personal token), on the portal as it is deployed: gunicorn with
``DEBUG=false`` and S3 object storage (tests/e2e/topology.py). No operation may answer with a
server error, a status its schema does not declare, or a body, content type or header that
violates it; a method the schema does not list gets 405.

The schema is fetched from the running server (/api/schema/), as a client would download it.
The run is seeded, so a failure reproduces; its report (printed on failure) names the operation
and the curl command that fails. ``negative_data_rejection`` and ``positive_data_acceptance``
are left out: they judge by what the generator thinks valid, and a schema cannot say "a deadline
after today" or "an indicator of this campaign's framework".
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from accounts.models import User
from assessments.models import Assessment, Assignment
from assessments.selectors import indicators_of
from tests.assessments.conftest import answer_everything
from tests.assessments.evidence_files import PDF
from tests.e2e.topology import Topology, compose_web_command, topology_for
from tests.storage_support import S3Bucket

from .conftest import token_secret

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.schemathesis]

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "unsupported_method",
    ]
)
EXAMPLES_PER_OPERATION = 8
SEED = "20261202"
HTTP_METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture
def web(tmp_path: Path, s3_bucket: S3Bucket) -> Iterator[Topology]:
    """gunicorn alone (no worker: what the API queues waits), on the test database."""
    running = topology_for(
        tmp_path,
        s3_bucket,
        queue_prefix="gce-st",
        common_name="govcloud_eval schemathesis",
        # The throttles would end the run long before its last case.
        extra_env={"API_THROTTLE_USER": "1000000/minute", "API_THROTTLE_ANON": "1000000/minute"},
    )

    def answers() -> bool:
        try:
            return requests.get(f"{running.base_url}/api/schema/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        running.add("web", compose_web_command(running.port)).start()
        running.wait_for(answers, 60, "gunicorn answers")
        yield running
    finally:
        running.stop()


def _start(base_url: str, secret: str | None, report: Path) -> subprocess.Popen[str]:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/api/schema/?format=json",
        "--url",
        base_url,
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        SEED,
        "--workers",
        "2",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "60",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    if secret:
        command += ["--header", f"Authorization: Bearer {secret}"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_api_keeps_to_its_schema_for_every_kind_of_caller(
    web: Topology,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    assessor: User,
    admin: User,
    tmp_path: Path,
) -> None:
    # An answered self-assessment with one evidence file (uploaded through the API, so that it
    # is in the bucket the server reads), so that the ids the fuzzer finds lead somewhere.
    answer_everything(assessment, vendor)
    secrets = {
        who: token_secret(user)
        for who, user in [("vendor", vendor), ("assessor", assessor), ("admin", admin)]
    }
    indicator = indicators_of(assessment=assessment)[0]
    uploaded = requests.post(
        f"{web.base_url}/api/v1/assessments/{assessment.pk}/evidence/",
        headers={"Authorization": f"Bearer {secrets['vendor']}"},
        data={"indicator": indicator.code},
        files={"file": ("等保测评报告.pdf", PDF, "application/pdf")},
        timeout=60,
    )
    assert uploaded.status_code == 201, uploaded.text

    schema = requests.get(f"{web.base_url}/api/schema/?format=json", timeout=30).json()
    operations = sum(method in HTTP_METHODS for item in schema["paths"].values() for method in item)
    assert operations >= 40, "the schema lost operations"

    # The four callers at once (gunicorn serves them together, as it would).
    runs = {
        who: _start(web.base_url, secrets.get(who), tmp_path / f"{who}.xml")
        for who in ("anonymous", "vendor", "assessor", "admin")
    }
    failures = []
    for who, run in runs.items():
        stdout, stderr = run.communicate(timeout=1200)
        tested = re.search(r"Tested: (\d+)", stdout)
        cases = re.search(r"Test cases:\s*\n\s*(.+)", stdout)
        # Shown with ``pytest -s``: how much each caller's run tried.
        print(f"schemathesis as {who}: {tested and tested.group(0)}; {cases and cases.group(1)}")
        if run.returncode != 0 or not tested or int(tested.group(1)) != operations:
            failures.append(f"=== schemathesis as {who} ===\n{stdout}\n{stderr}")
    assert failures == [], "\n".join(failures) + "\n" + web.logs()
