"""The read-only catalog API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from indicators.models import Framework
from tests.conftest import client_for
from tests.indicators.conftest import ImportDoc

pytestmark = pytest.mark.django_db


def test_the_api_needs_a_signed_in_user(comprehensive: Framework) -> None:
    response = client_for(None).get("/api/v1/frameworks/")
    assert response.status_code == 401


def test_the_list_names_every_readable_version_with_a_link(
    vendor: User, comprehensive: Framework, trusted: Framework
) -> None:
    response = client_for(vendor).get(reverse("indicators_api:framework_list"))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["code"], r["version"], r["state"]) for r in results] == [
        ("comprehensive-model", "2024.1", "published"),
        ("trusted-platform-model", "2024.1", "published"),
    ]
    assert results[0]["url"].endswith("/api/v1/frameworks/comprehensive-model/2024.1/")


def test_the_detail_holds_the_whole_tree(assessor: User, comprehensive: Framework) -> None:
    data = client_for(assessor).get("/api/v1/frameworks/comprehensive-model/2024.1/").json()
    assert data["kind"] == "comprehensive"
    assert len(data["dimensions"]) == 4
    assert sum(len(d["indicators"]) for d in data["dimensions"]) == 20
    availability = data["dimensions"][0]["indicators"][1]
    assert availability["code"] == "1.2" and availability["is_key"] is True
    assert availability["evidence_methods"] == ["T", "D", "S"]
    assert [r["rating"] for r in availability["rubric"]] == [0, 1, 2, 3]
    assert availability["rubric"][3]["anchor"] == "99.9500"
    assert [lv["name_zh"] for lv in data["levels"]] == ["基础级", "先进级", "卓越级"]
    assert data["vetoes"][0]["cap_level"] == "basic"
    assert data["unrated_level"]["name_zh"] == "未达级"
    assert data["pass_rule"] is None


def test_the_detail_of_the_trusted_platform_has_its_pass_rule(
    owner: User, trusted: Framework
) -> None:
    data = client_for(owner).get("/api/v1/frameworks/trusted-platform-model/2024.1/").json()
    assert data["pass_rule"]["min_graded_share"] == "0.700"
    assert {i["requirement_type"] for d in data["dimensions"] for i in d["indicators"]} == {
        "M",
        "G",
    }


def test_drafts_are_hidden_from_non_admins_in_the_api(
    assessor: User, admin: User, small_catalog: dict, import_doc: ImportDoc
) -> None:
    import_doc(small_catalog)
    assert client_for(assessor).get("/api/v1/frameworks/small/1.0/").status_code == 404
    assert client_for(assessor).get("/api/v1/frameworks/").json()["count"] == 0
    assert client_for(admin).get("/api/v1/frameworks/small/1.0/").status_code == 200


def test_the_api_is_read_only(admin: User, comprehensive: Framework) -> None:
    client = client_for(admin)
    assert client.post("/api/v1/frameworks/", {}).status_code == 405
    assert client.delete("/api/v1/frameworks/comprehensive-model/2024.1/").status_code == 405


def test_the_framework_list_is_filtered_and_runs_the_same_queries_for_10_and_400_versions(
    admin: User,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.api_tokens import api_token_create

    _, secret = api_token_create(user=admin, name="count", acting_user=admin)
    client = client_for(None)

    def add(count: int, start: int) -> None:
        Framework.objects.bulk_create(
            Framework(
                code=f"bulk-{start + n}",
                version="1.0",
                kind=Framework.Kind.COMPREHENSIVE,
                name_zh=f"批量目录{start + n}",
                state=Framework.State.DRAFT,
            )
            for n in range(count)
        )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(
                "/api/v1/frameworks/?page_size=200", HTTP_AUTHORIZATION=f"Bearer {secret}"
            )
        assert response.status_code == 200
        return len(captured)

    add(10, 0)
    queries()  # the token's first use records it (once a minute): not a cost of the list
    at_10 = queries()
    add(390, 10)
    assert queries() == at_10
    response = client.get(
        "/api/v1/frameworks/?code=bulk-7&state=draft", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert [f["code"] for f in response.json()["results"]] == ["bulk-7"]
    response = client.get(
        "/api/v1/frameworks/?state=nonsense", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
