"""The ranking settings form keeps what the admin typed when it is refused: the page is shown
again with the typed values and the error beside its field, and nothing is saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from assessments.models import Campaign
from reports.models import Ranking
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _post(admin: User, campaign: Campaign, **values: object) -> tuple[int, str]:
    data = {
        "quota_provincial": 3,
        "quota_municipal": 2,
        "min_level": "advanced",
        "tie_break": "D2, D4, D1",
        "public_form": "ranked",
        **values,
    }
    client = client_for(admin)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("rankings:settings", args=[campaign.pk]), data)
    return response.status_code, response.content.decode()


def test_a_refused_value_is_shown_again_as_typed_with_its_error(
    filled: Campaign, admin: User
) -> None:
    status, html = _post(admin, filled, quota_provincial=250, tie_break="D3, D1")

    assert status == 400
    assert 'name="quota_provincial" value="250"' in html
    assert 'value="D3, D1"' in html  # the other typed values are kept too
    assert "less than or equal to 100" in html
    assert 'role="alert"' in html
    draft = Ranking.objects.get(campaign=filled, state=Ranking.State.DRAFT)
    assert draft.tie_break != ["D3", "D1"]  # nothing half-saved


def test_a_value_the_service_refuses_is_shown_again_as_typed(filled: Campaign, admin: User) -> None:
    status, html = _post(admin, filled, tie_break="D9")

    assert status == 400
    assert 'value="D9"' in html
    assert "D9" in html.split('class="messages"', 1)[1]  # the service names the bad code


def test_valid_settings_are_saved_and_the_page_redirects(filled: Campaign, admin: User) -> None:
    status, _html = _post(admin, filled, tie_break="D2，D4")

    assert status == 302
    draft = Ranking.objects.get(campaign=filled, state=Ranking.State.DRAFT)
    assert draft.tie_break == ["D2", "D4"]
    assert draft.quotas == {"provincial": 3, "municipal": 2}
