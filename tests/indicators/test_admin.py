"""The Django admin shows published and retired versions read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from indicators.models import Framework, Indicator
from indicators.services import framework_retire
from tests.conftest import client_for
from tests.indicators.conftest import ImportDoc

pytestmark = pytest.mark.django_db


def _change_url(obj: Framework | Indicator) -> str:
    return reverse(f"admin:indicators_{obj._meta.model_name}_change", args=[obj.pk])


def test_a_published_framework_is_read_only_in_the_admin(
    admin: User, comprehensive: Framework
) -> None:
    client = client_for(admin)
    page = client.get(_change_url(comprehensive))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert not page.context["has_delete_permission"]
    assert 'name="name_zh"' not in page.content.decode()
    response = client.post(_change_url(comprehensive), {"name_zh": "改名"})
    assert response.status_code == 403
    comprehensive.refresh_from_db()
    assert comprehensive.name_zh == "政务云综合水平评估指标体系（模型）"
    delete = reverse("admin:indicators_framework_delete", args=[comprehensive.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Framework.objects.filter(pk=comprehensive.pk).exists()


def test_an_indicator_of_a_retired_framework_is_read_only_too(
    admin: User, comprehensive: Framework
) -> None:
    framework_retire(framework=comprehensive, acting_user=admin)
    indicator = Indicator.objects.get(framework=comprehensive, code="1.1")
    page = client_for(admin).get(_change_url(indicator))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert 'name="weight"' not in page.content.decode()


def test_a_draft_stays_editable_and_nothing_is_added_by_hand(
    admin: User, small_catalog: dict, import_doc: ImportDoc
) -> None:
    draft = import_doc(small_catalog)
    client = client_for(admin)
    page = client.get(_change_url(draft))
    assert page.context["has_change_permission"]
    assert 'name="name_zh"' in page.content.decode()
    assert client.get(reverse("admin:indicators_framework_add")).status_code == 403
