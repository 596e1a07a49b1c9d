"""Catalog pages, read by every role; admin actions answer 404 to everyone else."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from indicators.models import Framework, Indicator, RubricLevel
from indicators.services import framework_new_draft
from tests.conftest import client_for
from tests.indicators.conftest import ImportDoc

from .conftest import as_yaml

pytestmark = pytest.mark.django_db

NON_ADMIN_ROLES = [User.Role.ASSESSOR, User.Role.VENDOR, User.Role.OWNER, User.Role.AUDITOR]


def _detail_url(framework: Framework) -> str:
    return reverse("indicators:framework_detail", args=[framework.code, framework.version])


def test_anonymous_visitors_are_sent_to_the_login_page(comprehensive: Framework) -> None:
    for url in (reverse("indicators:framework_list"), _detail_url(comprehensive)):
        response = client_for(None).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_every_role_sees_the_list_with_versions_and_states(
    users_by_role: dict[str, User], comprehensive: Framework, trusted: Framework
) -> None:
    for role, user in users_by_role.items():
        response = client_for(user).get(reverse("indicators:framework_list"))
        assert response.status_code == 200, role
        html = response.content.decode()
        assert "政务云综合水平评估指标体系（模型）" in html
        assert "可信政务云平台能力要求（模型）" in html
        assert 'data-state="published"' in html


def test_the_menu_links_to_the_catalogs(assessor: User) -> None:
    response = client_for(assessor).get(reverse("dashboard"))
    assert reverse("indicators:framework_list") in response.content.decode()


def test_only_admins_see_drafts(
    users_by_role: dict[str, User], small_catalog: dict, import_doc: ImportDoc
) -> None:
    draft = import_doc(small_catalog)
    admin = users_by_role[User.Role.ADMIN]
    assert client_for(admin).get(_detail_url(draft)).status_code == 200
    assert (
        "小型测试指标体系"
        in client_for(admin).get(reverse("indicators:framework_list")).content.decode()
    )
    for role in NON_ADMIN_ROLES:
        client = client_for(users_by_role[role])
        assert client.get(_detail_url(draft)).status_code == 404, role
        assert (
            "小型测试指标体系"
            not in client.get(reverse("indicators:framework_list")).content.decode()
        )


def test_the_detail_page_shows_the_tree_in_chinese(
    assessor: User, comprehensive: Framework
) -> None:
    response = client_for(assessor).get(_detail_url(comprehensive))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="indicator-') == 20
    for name in ("资源服务能力", "稳定性与可用性", "社会与产业影响", "上云与应用"):
        assert name in html
    assert html.count('class="key-mark"') == 4
    assert "可用性≥99.95%，且开展灾备演练" in html
    assert "weight-chart" in html and "<svg" in html
    assert 'data-testid="read-only-notice"' in html


def test_the_detail_page_shows_english_data_in_english(
    assessor: User, comprehensive: Framework
) -> None:
    client = client_for(assessor)
    client.cookies["django_language"] = "en"
    html = client.get(_detail_url(comprehensive)).content.decode()
    assert "Stability and availability" in html
    assert "Availability ≥ 99.95% and a disaster-recovery drill held" in html
    assert (
        "Advanced: total ≥ 75, every dimension ≥ 60% of its weight, every key indicator rated ≥ 2"
        in html
    )
    assert "Basic: total ≥ 60, no key indicator rated 0" in html
    assert (
        "Excellent: total ≥ 90, every dimension ≥ 80% of its weight, every key indicator rated 3"
        in html
    )
    assert "the level is at most Basic" in html
    assert "Document review" in html


def test_the_trusted_platform_page_shows_types_and_the_pass_rule(
    owner: User, trusted: Framework
) -> None:
    client = client_for(owner)
    client.cookies["django_language"] = "en"
    html = client.get(_detail_url(trusted)).content.decode()
    assert 'data-testid="pass-rule"' in html
    assert "at least 70% of the graded (G) items are rated 1 or more" in html
    assert "11 M · 11 G" in html


def _detail_queries(client: Client, framework: Framework) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_detail_url(framework))
    assert response.status_code == 200
    return len(queries)


def test_the_detail_page_runs_a_constant_number_of_queries(
    assessor: User, comprehensive: Framework, admin: User
) -> None:
    client = client_for(assessor)
    client.get(_detail_url(comprehensive))  # warm the session
    baseline = _detail_queries(client, comprehensive)

    # A bigger version of the same catalog: every dimension gets 5 more indicators.
    bigger = framework_new_draft(framework=comprehensive, version="big", acting_user=admin)
    for dimension in bigger.dimensions.all():
        for n in range(5):
            indicator = Indicator.objects.create(
                framework=bigger,
                dimension=dimension,
                order=100 + n,
                code=f"{dimension.code}-x{n}",
                name_zh=f"新增指标{n}",
                weight=0,
                evidence_methods=["D"],
            )
            RubricLevel.objects.bulk_create(
                RubricLevel(indicator=indicator, rating=r, text_zh=f"等级{r}") for r in range(4)
            )
    Framework.objects.filter(pk=bigger.pk).update(state=Framework.State.PUBLISHED)
    assert Indicator.objects.filter(framework=bigger).count() == 40
    assert _detail_queries(client, bigger) == baseline
    assert baseline <= 12


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_admin_actions_do_not_exist_for_other_roles(
    role: str,
    users_by_role: dict[str, User],
    small_catalog: dict,
    import_doc: ImportDoc,
    comprehensive: Framework,
) -> None:
    client = client_for(users_by_role[role])
    upload = reverse("indicators:framework_upload")
    assert client.get(upload).status_code == 404
    assert (
        client.post(
            upload, {"file": SimpleUploadedFile("s.yaml", as_yaml(small_catalog).encode())}
        ).status_code
        == 404
    )
    for name in ("framework_publish", "framework_retire", "framework_new_draft"):
        url = reverse(f"indicators:{name}", args=[comprehensive.code, comprehensive.version])
        assert client.get(url).status_code == 404, name
        assert client.post(url, {"version": "9"}).status_code == 404, name
    comprehensive.refresh_from_db()
    assert comprehensive.state == Framework.State.PUBLISHED
    assert Framework.objects.count() == 1


def test_an_admin_sees_upload_errors_in_the_page_and_nothing_is_saved(
    admin: User, small_catalog: dict
) -> None:
    small_catalog["dimensions"][1]["indicators"][0]["weight"] = "sixty"
    client = client_for(admin)
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("indicators:framework_upload"),
        {"file": SimpleUploadedFile("broken.yaml", as_yaml(small_catalog).encode())},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="catalog-errors"' in html
    assert "broken.yaml: dimensions[1].indicators[0].weight: wrong type" in html
    assert Framework.objects.count() == 0


def test_an_admin_uploads_a_catalog_and_lands_on_its_draft(
    admin: User, small_catalog: dict
) -> None:
    response = client_for(admin).post(
        reverse("indicators:framework_upload"),
        {"file": SimpleUploadedFile("small.yaml", as_yaml(small_catalog).encode())},
        follow=True,
    )
    framework = Framework.objects.get()
    assert response.redirect_chain[-1][0] == _detail_url(framework)
    assert framework.state == Framework.State.DRAFT
    assert 'data-testid="draft-notice"' in response.content.decode()


def test_publishing_asks_first_and_says_it_becomes_immutable(
    admin: User, small_catalog: dict, import_doc: ImportDoc
) -> None:
    draft = import_doc(small_catalog)
    client = client_for(admin)
    client.cookies["django_language"] = "en"
    url = reverse("indicators:framework_publish", args=[draft.code, draft.version])
    page = client.get(url).content.decode()
    assert "becomes immutable" in page
    draft.refresh_from_db()
    assert draft.state == Framework.State.DRAFT
    response = client.post(url)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == Framework.State.PUBLISHED


def test_retiring_and_copying_a_published_version(admin: User, comprehensive: Framework) -> None:
    client = client_for(admin)
    args = [comprehensive.code, comprehensive.version]
    response = client.post(
        reverse("indicators:framework_new_draft", args=args), {"version": "2025.1"}
    )
    draft = Framework.objects.get(version="2025.1")
    assert response["Location"] == _detail_url(draft)
    assert draft.state == Framework.State.DRAFT

    client.post(reverse("indicators:framework_retire", args=args))
    comprehensive.refresh_from_db()
    assert comprehensive.state == Framework.State.RETIRED


def test_a_new_draft_with_a_taken_or_malformed_version_shows_the_error(
    admin: User, comprehensive: Framework
) -> None:
    client = client_for(admin)
    client.cookies["django_language"] = "en"
    url = reverse(
        "indicators:framework_new_draft", args=[comprehensive.code, comprehensive.version]
    )
    taken = client.post(url, {"version": "2024.1"}).content.decode()
    assert "comprehensive-model already has a version 2024.1." in taken
    malformed = client.post(url, {"version": "a b/c"}).content.decode()
    assert "letters, digits, dots and dashes" in malformed
    assert Framework.objects.count() == 1


def test_every_role_may_download_the_yaml(vendor: User, comprehensive: Framework) -> None:
    response = client_for(vendor).get(
        reverse("indicators:framework_export", args=[comprehensive.code, comprehensive.version])
    )
    assert response.status_code == 200
    assert (
        response["Content-Disposition"] == 'attachment; filename="comprehensive-model-2024.1.yaml"'
    )
    assert "稳定性与可用性" in response.content.decode()
