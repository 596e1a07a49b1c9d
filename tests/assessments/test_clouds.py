"""The register of government clouds: saving, archiving, and the pages admins and auditors use."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import policy
from accounts.models import Organisation, User
from accounts.policy import Action
from assessments import selectors, services
from assessments.models import Assessment, Campaign, Cloud
from assessments.services import CloudFacts
from audit.models import AuditEvent
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


JIAXING = CloudFacts(
    name="嘉兴政务云",
    level=Cloud.Level.MUNICIPAL,
    new_owner_name="嘉兴市大数据发展管理局",
    new_owner_division_code="330400",
    new_vendor_names=("中国电信股份有限公司嘉兴分公司",),
)


def _facts(**given: Any) -> CloudFacts:
    return replace(JIAXING, **given)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# ----------------------------------------------------------------------------------------------
# Saving a cloud


def test_it_registers_a_cloud_with_a_new_owner_and_a_new_vendor(admin: User) -> None:
    cloud = services.cloud_save(facts=_facts(on_internet=True), acting_user=admin)

    assert cloud.owner.name == "嘉兴市大数据发展管理局"
    assert cloud.owner.kind == Organisation.Kind.GOVERNMENT
    assert cloud.owner.admin_level == "prefecture"
    assert [v.name for v in cloud.vendors.all()] == ["中国电信股份有限公司嘉兴分公司"]
    assert cloud.vendors.get().kind == Organisation.Kind.VENDOR
    assert (cloud.on_extranet, cloud.on_internet) == (True, True)
    assert len(_events("accounts.organisation.created")) == 2
    (created,) = _events("assessments.cloud.created")
    assert created.changes["owner"] == "嘉兴市大数据发展管理局"


def test_it_reuses_an_existing_vendor_named_as_new(admin: User, vendor_org: Organisation) -> None:
    cloud = services.cloud_save(
        facts=_facts(new_vendor_names=(vendor_org.name, " ")), acting_user=admin
    )
    assert list(cloud.vendors.all()) == [vendor_org]
    assert Organisation.objects.filter(name=vendor_org.name).count() == 1


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        # A prefecture-level code for a provincial cloud.
        ({"level": Cloud.Level.PROVINCIAL}, "new_owner_division_code", "330400"),
        # A province-level code for a municipal cloud.
        ({"new_owner_division_code": "330000"}, "new_owner_division_code", "330000"),
        # No such code in GB/T 2260.
        ({"new_owner_division_code": "339900"}, "new_owner_division_code", "339900"),
        ({"new_owner_division_code": ""}, "new_owner_division_code", ""),
        ({"new_owner_name": ""}, "owner", ""),
        ({"new_vendor_names": ()}, "vendors", ""),
        ({"on_extranet": False, "on_internet": False}, "zones", ""),
        ({"name": " "}, "name", ""),
    ],
)
def test_it_refuses_bad_facts_and_saves_nothing(
    admin: User, given: dict[str, object], field: str, words: str
) -> None:
    organisations = Organisation.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.cloud_save(facts=_facts(**given), acting_user=admin)

    assert field in refused.value.message_dict
    assert words in " ".join(refused.value.message_dict[field])
    assert not Cloud.objects.exists()
    assert Organisation.objects.count() == organisations
    assert not AuditEvent.objects.exists()


def test_it_refuses_an_existing_owner_of_the_wrong_level(
    admin: User, government_org: Organisation, vendor_org: Organisation
) -> None:
    facts = CloudFacts(
        name="山东省政务云",
        level=Cloud.Level.PROVINCIAL,
        owner=government_org,
        vendors=(vendor_org,),
    )
    with pytest.raises(ValidationError) as refused:
        services.cloud_save(facts=facts, acting_user=admin)
    assert "370100" in refused.value.message_dict["owner"][0]


def test_it_refuses_a_vendor_name_taken_by_a_government_body(
    admin: User, government_org: Organisation
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.cloud_save(
            facts=_facts(new_vendor_names=(government_org.name,)), acting_user=admin
        )
    assert government_org.name in refused.value.message_dict["new_vendor_names"][0]


def test_a_new_owner_must_not_repeat_an_existing_organisation(
    admin: User, government_org: Organisation
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.cloud_save(
            facts=_facts(new_owner_name=government_org.name, new_owner_division_code="370100"),
            acting_user=admin,
        )
    assert "new_owner_name" in refused.value.message_dict


def test_only_admins_manage_clouds(users_by_role: dict[str, User]) -> None:
    for role, user in users_by_role.items():
        if role == User.Role.ADMIN:
            continue
        with pytest.raises(policy.Denied):
            services.cloud_save(facts=_facts(), acting_user=user)


def test_a_change_is_audited_with_its_values_before_and_after(
    admin: User,
    assessment: Assessment,
    cloud: Cloud,
    vendor_org: Organisation,
    other_vendor_org: Organisation,
) -> None:
    services.cloud_save(
        cloud=cloud,
        facts=CloudFacts(
            name=cloud.name,
            name_en="Jinan Government Cloud",
            level=cloud.level,
            owner=cloud.owner,
            vendors=(other_vendor_org,),
            on_extranet=True,
            on_internet=True,
        ),
        acting_user=admin,
    )

    (event,) = _events("assessments.cloud.updated")
    assert event.changes["vendors"] == [[vendor_org.name], [other_vendor_org.name]]
    assert event.changes["name_en"] == ["", "Jinan Government Cloud"]
    assert event.changes["running_campaigns"] == [assessment.campaign.name]
    assert "owner" not in event.changes


def test_saving_the_same_facts_again_changes_nothing(admin: User, cloud: Cloud) -> None:
    facts = CloudFacts(
        name=cloud.name,
        level=cloud.level,
        owner=cloud.owner,
        vendors=tuple(cloud.vendors.all()),
        on_extranet=cloud.on_extranet,
        on_internet=cloud.on_internet,
    )
    services.cloud_save(cloud=cloud, facts=facts, acting_user=admin)
    assert _events("assessments.cloud.updated") == []


def test_changing_the_vendors_moves_the_self_assessment_to_the_new_vendor(
    admin: User,
    assessment: Assessment,
    vendor: User,
    outsider_vendor: User,
    other_vendor_org: Organisation,
) -> None:
    cloud = assessment.cloud
    assert policy.can(vendor, Action.ASSESSMENT_ANSWER, assessment)
    assert not policy.can(outsider_vendor, Action.ASSESSMENT_ANSWER, assessment)

    services.cloud_update(
        cloud=cloud,
        name=cloud.name,
        owner=cloud.owner,
        vendors=[other_vendor_org],
        level=cloud.level,
        on_internet=cloud.on_internet,
        acting_user=admin,
    )

    assessment = Assessment.objects.get(pk=assessment.pk)
    assert not policy.can(vendor, Action.ASSESSMENT_ANSWER, assessment)
    assert policy.can(outsider_vendor, Action.ASSESSMENT_ANSWER, assessment)
    assert list(selectors.assessment_list_for(user=vendor)) == []
    assert list(selectors.assessment_list_for(user=outsider_vendor)) == [assessment]


# ----------------------------------------------------------------------------------------------
# Archiving


def test_an_archived_cloud_cannot_join_a_campaign_until_unarchived(
    admin: User, cloud: Cloud, campaign: Campaign
) -> None:
    services.cloud_archive(cloud=cloud, acting_user=admin)
    assert cloud not in selectors.clouds_not_in_campaign(campaign=campaign)
    with pytest.raises(ValidationError) as refused:
        services.campaign_add_clouds(campaign=campaign, clouds=[cloud], acting_user=admin)
    assert "济南政务云计算中心" in refused.value.messages[0]
    assert not campaign.assessments.exists()

    services.cloud_unarchive(cloud=cloud, acting_user=admin)
    assert cloud in selectors.clouds_not_in_campaign(campaign=campaign)
    (added,) = services.campaign_add_clouds(campaign=campaign, clouds=[cloud], acting_user=admin)
    assert added.cloud == cloud
    assert len(_events("assessments.cloud.archived")) == 1
    assert len(_events("assessments.cloud.unarchived")) == 1


def test_archiving_twice_archives_once(admin: User, cloud: Cloud) -> None:
    services.cloud_archive(cloud=cloud, acting_user=admin)
    with pytest.raises(ValidationError):
        services.cloud_archive(cloud=cloud, acting_user=admin)
    assert len(_events("assessments.cloud.archived")) == 1
    services.cloud_unarchive(cloud=cloud, acting_user=admin)
    with pytest.raises(ValidationError):
        services.cloud_unarchive(cloud=cloud, acting_user=admin)
    assert len(_events("assessments.cloud.unarchived")) == 1


def test_an_archived_cloud_keeps_its_assessments(admin: User, assessment: Assessment) -> None:
    services.cloud_archive(cloud=assessment.cloud, acting_user=admin)
    assert Assessment.objects.filter(pk=assessment.pk, cloud__archived_at__isnull=False).exists()


# ----------------------------------------------------------------------------------------------
# Pages


def _clouds(n: int, vendor_org: Organisation) -> None:
    codes = ["110000", "120000", "130000", "140000", "150000", "210000", "220000"]
    for i in range(n):
        owner = OrganisationFactory.create(
            kind=Organisation.Kind.GOVERNMENT, name=f"政务云主管单位{i}", division_code=codes[i]
        )
        services.cloud_create(
            name=f"测试政务云{i}",
            owner=owner,
            vendors=[vendor_org],
            level=Cloud.Level.PROVINCIAL,
            acting_user=None,
        )


def test_the_list_shows_each_cloud_with_its_facts_in_a_fixed_number_of_queries(
    admin: User, assessment: Assessment, vendor_org: Organisation
) -> None:
    client = client_for(admin)
    url = reverse("assessments:cloud_list")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    _clouds(5, vendor_org)
    services.cloud_archive(cloud=Cloud.objects.get(name="测试政务云0"), acting_user=admin)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    assert len(many.captured_queries) == len(few.captured_queries)
    page = response.content.decode()
    assert "济南政务云计算中心" in page and "济南市大数据局" in page and "370100" in page
    assert vendor_org.name in page
    assert 'data-testid="cloud-new"' in page
    rows = response.context["clouds"]
    assert [c.n_campaigns for c in rows if c.name == "济南政务云计算中心"] == [1]
    archived = next(c for c in rows if c.name == "测试政务云0")
    assert archived.archived_at is not None


def test_the_list_searches_by_name(admin: User, cloud: Cloud, vendor_org: Organisation) -> None:
    _clouds(2, vendor_org)
    response = client_for(admin).get(reverse("assessments:cloud_list"), {"q": "济南"})
    assert [c.name for c in response.context["clouds"]] == ["济南政务云计算中心"]


def test_auditors_read_the_register_but_change_nothing(auditor: User, cloud: Cloud) -> None:
    client = client_for(auditor)
    listing = client.get(reverse("assessments:cloud_list"))
    assert listing.status_code == 200
    assert 'data-testid="cloud-new"' not in listing.content.decode()
    detail = client.get(reverse("assessments:cloud_detail", args=[cloud.pk]))
    assert detail.status_code == 200
    assert 'data-testid="cloud-edit"' not in detail.content.decode()
    assert client.get(reverse("assessments:cloud_edit", args=[cloud.pk])).status_code == 404


@pytest.mark.parametrize("role", ["vendor", "owner", "assessor"])
def test_other_roles_do_not_see_the_register(
    users_by_role: dict[str, User], cloud: Cloud, role: str
) -> None:
    client = client_for(users_by_role[role])
    assert client.get(reverse("assessments:cloud_list")).status_code == 404
    assert client.get(reverse("assessments:cloud_detail", args=[cloud.pk])).status_code == 404


def test_an_admin_registers_a_cloud_in_the_form(admin: User, vendor_org: Organisation) -> None:
    response = client_for(admin).post(
        reverse("assessments:cloud_create"),
        {
            "name": "深圳政务云",
            "level": "municipal",
            "new_owner_name": "深圳市政务服务数据管理局",
            "new_owner_division_code": "440300",
            "vendors": [vendor_org.pk],
            "new_vendor_names": "华为技术有限公司\n",
            "on_extranet": "on",
        },
    )
    cloud = Cloud.objects.get(name="深圳政务云")
    assert response.status_code == 302
    assert response["Location"] == reverse("assessments:cloud_detail", args=[cloud.pk])
    assert cloud.owner.division_code == "440300"
    assert sorted(v.name for v in cloud.vendors.all()) == sorted(
        [vendor_org.name, "华为技术有限公司"]
    )


def test_the_form_shows_a_bad_division_code_beside_the_field(
    admin: User, vendor_org: Organisation
) -> None:
    response = client_for(admin).post(
        reverse("assessments:cloud_create"),
        {
            "name": "深圳政务云",
            "level": "provincial",
            "new_owner_name": "深圳市政务服务数据管理局",
            "new_owner_division_code": "440300",
            "vendors": [vendor_org.pk],
            "on_extranet": "on",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["new_owner_division_code"]
    assert "440300" in errors[0]
    assert not Cloud.objects.exists()
    assert not Organisation.objects.filter(name="深圳市政务服务数据管理局").exists()


def test_the_edit_page_says_what_changing_the_vendors_does(
    admin: User, assessment: Assessment
) -> None:
    response = client_for(admin).get(reverse("assessments:cloud_edit", args=[assessment.cloud_id]))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="cloud-change-note"' in page
    assert assessment.campaign.name in page
    assert response.context["form"].initial["owner"] == assessment.cloud.owner


def test_an_admin_archives_after_confirming_and_unarchives(admin: User, cloud: Cloud) -> None:
    client = client_for(admin)
    url = reverse("assessments:cloud_archive", args=[cloud.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200
    cloud.refresh_from_db()
    assert cloud.archived_at is None  # asking changes nothing

    assert client.post(url).status_code == 302
    cloud.refresh_from_db()
    assert cloud.archived_at is not None
    detail = client.get(reverse("assessments:cloud_detail", args=[cloud.pk])).content.decode()
    assert 'data-testid="archived-badge"' in detail
    assert 'data-testid="cloud-unarchive"' in detail

    client.post(reverse("assessments:cloud_unarchive", args=[cloud.pk]))
    cloud.refresh_from_db()
    assert cloud.archived_at is None


def test_the_campaign_picker_hides_archived_clouds(
    admin: User, cloud: Cloud, campaign: Campaign
) -> None:
    services.cloud_archive(cloud=cloud, acting_user=admin)
    response = client_for(admin).get(reverse("assessments:campaign_add_clouds", args=[campaign.pk]))
    assert "济南政务云计算中心" not in response.content.decode()


def test_the_detail_page_lists_the_clouds_assessments(admin: User, assessment: Assessment) -> None:
    response = client_for(admin).get(
        reverse("assessments:cloud_detail", args=[assessment.cloud_id])
    )
    page = response.content.decode()
    assert assessment.campaign.name in page
    assert reverse("assessments:detail", args=[assessment.pk]) in page
    assert "济南" in page  # the division's name, from GB/T 2260


def test_the_menu_offers_clouds_to_admins_only(admin: User, office: Organisation) -> None:
    vendor_user = UserFactory.create(
        username="menu_vendor",
        role=User.Role.VENDOR,
        organisation=OrganisationFactory.create(kind=Organisation.Kind.VENDOR, name="某云服务商"),
    )
    url = reverse("assessments:cloud_list")
    assert url in client_for(admin).get(reverse("dashboard")).content.decode()
    assert url not in client_for(vendor_user).get(reverse("dashboard")).content.decode()


# ----------------------------------------------------------------------------------------------
# The Django admin site


def _admin_change(cloud: Cloud, **given: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": cloud.name,
        "name_en": cloud.name_en,
        "owner": cloud.owner_id,
        "vendors": [v.pk for v in cloud.vendors.all()],
        "level": cloud.level,
        "on_extranet": "on",
    }
    data.update(given)
    return data


def test_the_admin_site_refuses_an_owner_of_the_wrong_level(admin: User, cloud: Cloud) -> None:
    province = OrganisationFactory.create(
        kind=Organisation.Kind.GOVERNMENT, name="山东省大数据局", division_code="370000"
    )
    url = reverse("admin:assessments_cloud_change", args=[cloud.pk])
    response = client_for(admin).post(url, _admin_change(cloud, owner=province.pk))
    assert response.status_code == 200  # the form again, with the error
    assert "370000" in str(response.context["adminform"].form.errors["owner"])
    cloud.refresh_from_db()
    assert cloud.owner.name == "济南市大数据局"


def test_the_admin_site_audits_a_change_with_before_and_after(admin: User, cloud: Cloud) -> None:
    url = reverse("admin:assessments_cloud_change", args=[cloud.pk])
    response = client_for(admin).post(url, _admin_change(cloud, name_en="Jinan Cloud"))
    assert response.status_code == 302
    (event,) = _events("assessments.cloud.admin_changed")
    assert event.changes["name_en"] == ["", "Jinan Cloud"]
