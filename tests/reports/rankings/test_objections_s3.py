"""Objection evidence in S3 object storage, on the suite's SeaweedFS: the owner's file lands in
the bucket, admins and the owner download it streamed from there, outsiders get 404."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import resolve

from accounts.models import Organisation, User
from reports.models import Objection, Ranking
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory
from tests.reports.rankings.test_rankings import (  # noqa: F401  (fixtures)
    PDF,
    filled,
    on_notice,
    owned,
    year_campaign,
)
from tests.storage_support import S3Bucket, assert_streamed_from_the_store

pytestmark = pytest.mark.django_db


def test_objection_evidence_lands_in_the_bucket_and_is_streamed_to_admins_and_the_owner(
    s3_bucket: S3Bucket,
    on_notice: Ranking,  # noqa: F811
    owner: User,
    admin: User,
    vendor: User,
    rf: RequestFactory,
) -> None:
    client = client_for(owner)
    response = client.post(
        f"/rankings/{on_notice.year}/{on_notice.slug}/objections/",
        {
            "assessment": owned(on_notice).pk,
            "reason": "数据有误",
            "evidence": SimpleUploadedFile("证明.pdf", PDF),
        },
    )
    assert response.status_code == 302
    objection = Objection.objects.get()
    assert objection.evidence.name is not None
    assert s3_bucket.keys() == [objection.evidence.name]
    assert s3_bucket.sha256(objection.evidence.name) == objection.evidence_sha256
    assert objection.evidence_sha256 == hashlib.sha256(PDF).hexdigest()
    url = f"/rankings/objections/{objection.pk}/evidence/"

    for reader in (owner, admin):
        response = client_for(reader).get(url)
        assert response.status_code == 200
        assert response["Content-Length"] == str(len(PDF))
        assert response["Content-Disposition"].startswith("attachment; ")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "private, no-store"
        assert response.getvalue() == PDF
    other_owner = UserFactory.create(
        role=User.Role.OWNER,
        organisation=OrganisationFactory.create(
            kind=Organisation.Kind.GOVERNMENT, division_code="330100", name="杭州市某局"
        ),
    )
    for outsider in (vendor, other_owner):
        assert client_for(outsider).get(url).status_code == 404

    request = rf.get(url)
    request.user = owner
    streamed = resolve(url).func(request, pk=objection.pk)
    assert_streamed_from_the_store(streamed)
    assert s3_bucket.media_files() == []
