"""The ranking pages at 10 and 400 clouds: the admin page reads the same number of queries
whatever the size of the campaign, and the public page stays light (no inline chart per cloud,
compressed, at most 100 KB at 100 clouds)."""

from __future__ import annotations

import gzip
import hashlib
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation, User
from assessments.models import Assessment, Campaign, Cloud
from indicators.models import Framework
from reports.models import Ranking, ScoreResult
from reports.rankings import services

from .test_rankings import breakdown, dims_for, make_campaign, publish

pytestmark = pytest.mark.django_db


def bulk_ranked_campaign(admin: User, framework: Framework, *, size: int, year: int) -> Campaign:
    """A campaign of ``size`` approved and scored clouds, half provincial and half municipal,
    written with bulk_create (test set-up: the workflow and scoring are tested elsewhere; the
    rows are those they leave behind). ``tests/reports/bulk.py`` writes answers and ratings to be
    scored; a ranking reads only the results, so none are written here."""
    campaign = make_campaign(admin, framework, year)
    owner = Organisation.objects.create(
        name=f"{year} 主管单位", kind=Organisation.Kind.GOVERNMENT, division_code="370100"
    )
    vendor = Organisation.objects.create(name=f"{year} 云服务商", kind=Organisation.Kind.VENDOR)
    clouds = Cloud.objects.bulk_create(
        Cloud(
            name=f"{year} 政务云 {n:04d}",
            owner=owner,
            level=Cloud.Level.PROVINCIAL if n % 2 == 0 else Cloud.Level.MUNICIPAL,
        )
        for n in range(size)
    )
    Cloud.vendors.through.objects.bulk_create(
        Cloud.vendors.through(cloud_id=c.pk, organisation_id=vendor.pk) for c in clouds
    )
    assessments = Assessment.objects.bulk_create(
        Assessment(campaign=campaign, cloud=c, state=Assessment.State.APPROVED) for c in clouds
    )
    now = timezone.now()
    results = []
    for n, assessment in enumerate(assessments):
        total = (Decimal(95) - Decimal(n) * Decimal("0.0625")).quantize(Decimal("0.01"))
        results.append(
            ScoreResult(
                assessment=assessment,
                version=1,
                inputs_sha256=hashlib.sha256(str(assessment.pk).encode()).hexdigest(),
                framework=framework,
                method="1",
                total=total,
                level_code="advanced",
                breakdown=breakdown(total, dims_for(total), "advanced"),
                current_since=now,
            )
        )
    ScoreResult.objects.bulk_create(results)
    return campaign


def admin_queries(client: Client, campaign: Campaign) -> int:
    url = reverse("rankings:admin", args=[campaign.pk])
    client.get(url)  # warm: sessions, content types
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_admin_page_reads_as_many_queries_at_400_clouds_as_at_10_and_at_most_12(
    admin: User, comprehensive: Framework
) -> None:
    client = Client()
    client.force_login(admin)
    first_visit, counts = {}, {}
    for size, year in ((10, 2031), (400, 2032)):
        campaign = bulk_ranked_campaign(admin, comprehensive, size=size, year=year)
        # Before anything is saved: the page previews the defaults.
        first_visit[size] = admin_queries(client, campaign)
        # A published version with its files, and a draft: the page shows both.
        publish(campaign, admin, quotas={"provincial": 6, "municipal": 4})
        services.ranking_draft_get_or_create(campaign=campaign, acting_user=admin)
        counts[size] = admin_queries(client, campaign)
    assert counts[10] == counts[400] and first_visit[10] == first_visit[400]
    assert max(counts[400], first_visit[400]) <= 12, (counts, first_visit)


def test_the_public_page_of_100_clouds_weighs_at_most_100_kb_and_still_shows_every_share(
    admin: User, comprehensive: Framework
) -> None:
    campaign = bulk_ranked_campaign(admin, comprehensive, size=100, year=2033)
    ranking = publish(
        campaign,
        admin,
        quotas={"provincial": 50, "municipal": 50},
        public_form=Ranking.PublicForm.RANKED,
    )
    assert ranking.snapshot is not None and ranking.snapshot["listed"] == 100
    dimensions = comprehensive.dimensions.count()
    response = Client().get(f"/rankings/{ranking.year}/{ranking.slug}/")
    body = response.getvalue()
    assert len(body) <= 100 * 1024, len(body)
    text = body.decode()
    # No inline chart: each cloud's total, and each of its dimension shares, as a meter.
    assert "<svg" not in text
    assert text.count('<td class="num rk-total"><meter max="100" value=') == 100
    assert text.count('<li><meter max="100" value=') == 100 * dimensions
    assert '<meter max="100" value="95.00">' in text  # the first cloud's (shares = total here)

    compressed = Client().get(
        f"/rankings/{ranking.year}/{ranking.slug}/", headers={"Accept-Encoding": "gzip"}
    )
    assert compressed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed["Vary"]
    unpacked = gzip.decompress(compressed.getvalue())
    assert len(compressed.getvalue()) < len(unpacked) / 4
    assert unpacked.count(b"<meter ") == 100 * (dimensions + 1)
    # The compressed page's (weak) ETag is answered with 304, with or without gzip.
    for encoding in ("gzip", "identity"):
        again = Client().get(
            f"/rankings/{ranking.year}/{ranking.slug}/",
            headers={"Accept-Encoding": encoding, "If-None-Match": compressed["ETag"]},
        )
        assert again.status_code == 304, encoding
        assert again.getvalue() == b""
