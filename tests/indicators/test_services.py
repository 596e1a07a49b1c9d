"""Import, publish, retire and copy: state changes are guarded, audited, and published versions
never change."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from audit.models import AuditEvent
from indicators.catalog import content_sha256, framework_document
from indicators.models import Framework, Indicator, RubricLevel
from indicators.selectors import framework_with_tree
from indicators.services import (
    framework_import,
    framework_new_draft,
    framework_publish,
    framework_rehash,
    framework_retire,
    framework_update_details,
)
from tests.indicators.conftest import ImportDoc

from .conftest import as_yaml

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_an_import_creates_a_draft_with_the_whole_tree(
    small_catalog: dict, import_doc: ImportDoc, admin: User
) -> None:
    result = framework_import(
        source=as_yaml(small_catalog), filename="small.yaml", acting_user=admin
    )
    framework = result.framework
    assert result.outcome == "created"
    assert framework.state == Framework.State.DRAFT
    assert framework.created_by == admin
    assert [d.code for d in framework.dimensions.all()] == ["D1", "D2"]
    availability = Indicator.objects.get(framework=framework, code="1.1")
    assert availability.is_key and availability.evidence_methods == ["T", "D"]
    assert availability.direction == Indicator.Direction.HIGHER_IS_BETTER
    assert [str(r.anchor) for r in availability.rubric.all()] == [
        "None",
        "99.5000",
        "99.9000",
        "99.9500",
    ]
    assert framework.levels.get(code="advanced").min_dimension_share == Decimal("0.6")
    cap_level = framework.vetoes.get().cap_level
    assert cap_level is not None
    assert cap_level.code == "basic"
    event = AuditEvent.objects.get(action="indicators.framework.imported")
    assert event.actor == admin and event.target_id == str(framework.pk)


def test_importing_the_same_content_twice_is_a_no_op(small_catalog: dict) -> None:
    first = framework_import(source=as_yaml(small_catalog), filename="a.yaml", acting_user=None)
    # Same content, different layout: still the same catalog.
    second = framework_import(
        source="# a comment\n" + as_yaml(dict(reversed(small_catalog.items()))),
        filename="b.yaml",
        acting_user=None,
    )
    assert second.outcome == "unchanged"
    assert second.framework.pk == first.framework.pk
    assert "nothing to do" in second.describe()
    assert AuditEvent.objects.filter(action__startswith="indicators.").count() == 1


def test_a_changed_file_replaces_a_draft_of_the_same_version(
    small_catalog: dict, import_doc: ImportDoc
) -> None:
    draft = import_doc(small_catalog)
    small_catalog["dimensions"][1]["indicators"][0]["name_zh"] = "部门上云比例"
    result = framework_import(source=as_yaml(small_catalog), filename="s.yaml", acting_user=None)
    assert result.outcome == "replaced"
    assert result.framework.pk == draft.pk
    assert Indicator.objects.get(framework=draft, code="2.1").name_zh == "部门上云比例"
    assert Indicator.objects.filter(framework=draft).count() == 3
    assert AuditEvent.objects.filter(action="indicators.framework.replaced").count() == 1


def test_a_changed_file_under_a_published_version_is_refused_and_changes_nothing(
    small_catalog: dict, import_doc: ImportDoc
) -> None:
    published = import_doc(small_catalog, publish=True)
    before = content_sha256(framework_document(framework_with_tree(pk=published.pk)))
    small_catalog["dimensions"][1]["indicators"][0]["name_zh"] = "改过的名字"
    with pytest.raises(ValidationError) as caught:
        framework_import(source=as_yaml(small_catalog), filename="s.yaml", acting_user=None)
    assert "small 1.0 is already Published with different content" in caught.value.messages[0]
    assert "new version" in caught.value.messages[0]
    after = content_sha256(framework_document(framework_with_tree(pk=published.pk)))
    assert before == after


def test_publish_freezes_a_draft_and_is_audited(
    small_catalog: dict, import_doc: ImportDoc, admin: User
) -> None:
    draft = import_doc(small_catalog)
    published = framework_publish(framework=draft, acting_user=admin)
    assert published.state == Framework.State.PUBLISHED
    assert published.published_at is not None
    assert not published.is_editable
    event = AuditEvent.objects.get(action="indicators.framework.published")
    assert event.changes == {"from": "draft", "to": "published"}


def test_publishing_twice_refuses_the_second_time(
    small_catalog: dict, import_doc: ImportDoc
) -> None:
    draft = import_doc(small_catalog)
    stale_copy = Framework.objects.get(pk=draft.pk)
    framework_publish(framework=draft, acting_user=None)
    with pytest.raises(ValidationError, match="is Published, not Draft"):
        framework_publish(framework=stale_copy, acting_user=None)
    assert AuditEvent.objects.filter(action="indicators.framework.published").count() == 1


def test_retire_applies_to_published_versions_only(
    small_catalog: dict, import_doc: ImportDoc
) -> None:
    draft = import_doc(small_catalog)
    with pytest.raises(ValidationError, match="not Published"):
        framework_retire(framework=draft, acting_user=None)
    framework_publish(framework=draft, acting_user=None)
    retired = framework_retire(framework=draft, acting_user=None)
    assert retired.state == Framework.State.RETIRED and retired.retired_at is not None


def test_a_published_framework_refuses_edits(small_catalog: dict, import_doc: ImportDoc) -> None:
    published = import_doc(small_catalog, publish=True)
    with pytest.raises(ValidationError, match="cannot change; start a new draft"):
        framework_update_details(
            framework=published, name_zh="新名字", name_en="", provenance="", acting_user=None
        )
    with pytest.raises(ValidationError, match="cannot change"):
        framework_rehash(framework=published)
    assert Framework.objects.get(pk=published.pk).name_zh == "小型测试指标体系"


def test_a_draft_may_be_renamed_and_its_hash_follows(
    small_catalog: dict, import_doc: ImportDoc
) -> None:
    draft = import_doc(small_catalog)
    old_sha = draft.content_sha256
    renamed = framework_update_details(
        framework=draft, name_zh="新名字", name_en="New", provenance="p", acting_user=None
    )
    assert renamed.name_zh == "新名字"
    assert renamed.content_sha256 != old_sha
    # The original file now differs from the draft, so importing it replaces the edit.
    again = framework_import(source=as_yaml(small_catalog), filename="s.yaml", acting_user=None)
    assert again.outcome == "replaced"


def test_a_new_draft_copies_the_whole_tree_into_a_new_version(
    small_catalog: dict, import_doc: ImportDoc, admin: User
) -> None:
    published = import_doc(small_catalog, publish=True)
    draft = framework_new_draft(framework=published, version="2.0", acting_user=admin)
    assert draft.state == Framework.State.DRAFT
    assert draft.based_on == published
    assert (draft.code, draft.version) == ("small", "2.0")
    old = framework_document(framework_with_tree(pk=published.pk))
    new = framework_document(framework_with_tree(pk=draft.pk))
    assert {**old, "version": "2.0"} == new
    assert RubricLevel.objects.filter(indicator__framework=draft).count() == 12
    assert AuditEvent.objects.filter(action="indicators.framework.drafted").count() == 1


def test_a_new_draft_needs_an_unused_version_and_a_frozen_source(
    small_catalog: dict, import_doc: ImportDoc
) -> None:
    draft = import_doc(small_catalog)
    with pytest.raises(ValidationError, match="still a draft"):
        framework_new_draft(framework=draft, version="2.0", acting_user=None)
    framework_publish(framework=draft, acting_user=None)
    with pytest.raises(ValidationError) as caught:
        framework_new_draft(framework=draft, version="1.0", acting_user=None)
    assert caught.value.message_dict["version"] == ["small already has a version 1.0."]
