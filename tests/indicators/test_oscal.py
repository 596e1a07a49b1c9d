"""Catalogs as OSCAL: export validated by compliance-trestle, import as a draft, round trip."""

from __future__ import annotations

import copy
import json
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from trestle.oscal.catalog import Catalog

from accounts.models import User
from indicators.catalog import CatalogInvalid, framework_document
from indicators.models import Framework
from indicators.oscal import NS, UUID_NAMESPACE, framework_oscal, oscal_import
from indicators.selectors import framework_with_tree
from tests.conftest import client_for

from .conftest import ImportDoc

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

ROLES = [
    User.Role.ADMIN,
    User.Role.ASSESSOR,
    User.Role.VENDOR,
    User.Role.OWNER,
    User.Role.AUDITOR,
    User.Role.SECURITY,
]

# A catalog from elsewhere: nested groups, params, links, unknown parts and props, nested and
# ungrouped controls, statement items.
FOREIGN: dict[str, Any] = {
    "catalog": {
        "uuid": "74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724",
        "metadata": {
            "title": "Foreign controls",
            "version": "rev 5",
            "last-modified": "2024-01-01T00:00:00Z",
            "oscal-version": "1.1.2",
            "roles": [{"id": "creator", "title": "Creator"}],
        },
        "params": [{"id": "global_prm"}],
        "groups": [
            {
                "id": "ac",
                "title": "Access control",
                "props": [{"name": "label", "value": "AC"}],
                "parts": [{"name": "overview", "prose": "About access."}],
                "groups": [
                    {
                        "id": "ac-sub",
                        "title": "Sub-family",
                        "controls": [{"id": "ac-9", "title": "Nine"}],
                    }
                ],
                "controls": [
                    {
                        "id": "ac-1",
                        "title": "Policy and procedures",
                        "params": [{"id": "ac-1_prm_1"}],
                        "links": [{"href": "#ref", "rel": "reference"}],
                        "props": [
                            {"name": "label", "value": "AC-1"},
                            {"name": "sort-id", "value": "ac-01"},
                        ],
                        "parts": [
                            {
                                "id": "ac-1_smt",
                                "name": "statement",
                                "prose": "Develop:",
                                "parts": [
                                    {
                                        "id": "ac-1_smt.a",
                                        "name": "item",
                                        "props": [{"name": "label", "value": "a."}],
                                        "prose": "an access control policy",
                                    }
                                ],
                            },
                            {"id": "ac-1_gdn", "name": "guidance", "prose": "Some guidance."},
                        ],
                        "controls": [{"id": "ac-1.1", "title": "Enhancement"}],
                    }
                ],
            }
        ],
        "controls": [{"id": "x-1", "title": "Loose control"}],
    }
}


def _upload(data: Any, name: str = "catalog.json") -> SimpleUploadedFile:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="application/json")


def _english_client(user: User | None) -> Client:
    client = client_for(user)
    client.cookies["django_language"] = "en"
    return client


def _export_url(framework: Framework) -> str:
    return reverse("indicators:framework_oscal_export", args=[framework.code, framework.version])


def _default(request: pytest.FixtureRequest, which: str) -> Framework:
    framework: Framework = request.getfixturevalue(which)
    return framework


@pytest.mark.parametrize("which", ["comprehensive", "trusted"])
def test_the_export_of_each_default_catalog_validates_with_trestle(
    request: pytest.FixtureRequest, which: str
) -> None:
    framework = _default(request, which)
    document = framework_oscal(framework_with_tree(pk=framework.pk))
    catalog = Catalog.model_validate(document["catalog"])

    meta = catalog.metadata
    assert meta.title == framework.name_zh
    assert meta.version == framework.version
    assert meta.oscal_version.root.root == "1.1.2"
    assert meta.last_modified == framework.published_at
    english = {p.name: p.value for p in meta.props or [] if p.name == "title-en"}
    assert english == {"title-en": framework.name_en}
    assert all(str(p.ns) == NS for p in meta.props or [])

    dimensions = list(framework.dimensions.all())
    assert [g.title for g in catalog.groups or []] == [d.name_zh for d in dimensions]
    controls = [c for g in catalog.groups or [] for c in getattr(g, "controls", None) or []]
    indicators = [i for d in dimensions for i in d.indicators.all()]
    assert [c.title for c in controls] == [i.name_zh for i in indicators]
    first, indicator = controls[0], indicators[0]
    labels = [p.value for p in first.props or [] if p.name == "label"]
    assert labels == [indicator.code]
    methods = [p.value for p in first.props or [] if p.name == "evidence-method"]
    assert methods == list(indicator.evidence_methods)
    rubric = next(p for p in first.parts or [] if p.name == "rubric")
    assert [p.prose for p in rubric.parts or []] == [r.text_zh for r in indicator.rubric.all()]

    # Stable: the same version exports the same document, UUIDs derived from code and version.
    assert framework_oscal(framework_with_tree(pk=framework.pk)) == document
    assert document["catalog"]["uuid"] == str(
        uuid.uuid5(UUID_NAMESPACE, f"{framework.code}/{framework.version}/catalog")
    )
    resources = document["catalog"]["back-matter"]["resources"]
    kinds = {p["value"] for r in resources for p in r["props"] if p["name"] == "resource-type"}
    if framework.kind == Framework.Kind.COMPREHENSIVE:
        assert kinds == {"level"} | ({"veto"} if framework.vetoes.exists() else set())
        assert len(resources) == framework.levels.count() + framework.vetoes.count()
    else:
        assert "pass-rule" in kinds


@pytest.mark.parametrize("which", ["comprehensive", "trusted"])
def test_a_round_trip_keeps_every_group_control_and_text(
    request: pytest.FixtureRequest, which: str, admin: User
) -> None:
    framework = _default(request, which)
    text = json.dumps(framework_oscal(framework_with_tree(pk=framework.pk)), ensure_ascii=False)
    imported = oscal_import(
        source=text.encode(), filename="export.json", acting_user=admin, version="roundtrip"
    )
    copy_ = imported.result.framework
    assert imported.result.outcome == "created"
    assert copy_.state == Framework.State.DRAFT
    assert copy_.code == framework.code
    assert imported.report.is_complete, imported.report
    original = framework_document(framework_with_tree(pk=framework.pk))
    again = framework_document(framework_with_tree(pk=copy_.pk))
    assert {**again, "version": original["version"]} == original


def test_importing_the_same_export_twice_changes_nothing(
    comprehensive: Framework, admin: User
) -> None:
    text = json.dumps(framework_oscal(framework_with_tree(pk=comprehensive.pk)))
    result = oscal_import(source=text, filename="e.json", acting_user=admin).result
    assert result.outcome == "unchanged"
    assert Framework.objects.count() == 1


def test_the_command_writes_the_catalog_to_a_file(comprehensive: Framework, tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    err = StringIO()
    call_command(
        "export_oscal_catalog",
        comprehensive.code,
        comprehensive.version,
        "--output",
        str(path),
        stderr=err,
    )
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written == framework_oscal(framework_with_tree(pk=comprehensive.pk))
    Catalog.model_validate(written["catalog"])
    assert f"Wrote {path}." in err.getvalue()

    out = StringIO()
    call_command("export_oscal_catalog", comprehensive.code, comprehensive.version, stdout=out)
    assert json.loads(out.getvalue()) == written
    with pytest.raises(CommandError, match="No framework"):
        call_command("export_oscal_catalog", comprehensive.code, "0.0")


@pytest.mark.parametrize("role", ROLES)
def test_every_reader_downloads_published_versions_and_only_admins_drafts(
    role: str,
    users_by_role: dict[str, User],
    comprehensive: Framework,
    small_catalog: dict,
    import_doc: ImportDoc,
) -> None:
    draft = import_doc(small_catalog)
    client = client_for(users_by_role[role])
    detail = client.get(
        reverse("indicators:framework_detail", args=[comprehensive.code, comprehensive.version])
    )
    assert _export_url(comprehensive) in detail.content.decode()
    response = client.get(_export_url(comprehensive))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/oscal.catalog+json"
    assert 'filename="comprehensive-model-' in response["Content-Disposition"]
    Catalog.model_validate(json.loads(response.content)["catalog"])
    draft_status = client.get(_export_url(draft)).status_code
    assert draft_status == (200 if role == User.Role.ADMIN else 404)


def test_anonymous_visitors_are_sent_to_sign_in(comprehensive: Framework) -> None:
    response = client_for(None).get(_export_url(comprehensive))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("role", [r for r in ROLES if r != User.Role.ADMIN])
def test_the_import_page_does_not_exist_for_other_roles(
    role: str, users_by_role: dict[str, User]
) -> None:
    client = client_for(users_by_role[role])
    url = reverse("indicators:framework_oscal_import")
    assert client.get(url).status_code == 404
    assert client.post(url, {"file": _upload(FOREIGN)}).status_code == 404
    assert url not in client.get(reverse("indicators:framework_list")).content.decode()
    assert Framework.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "catalog.json: line 1, column 2: not valid JSON: Expecting property name"),
        ("format: 1\ncode: x\n", "not valid JSON"),
        ("[1, 2]", 'not an OSCAL catalog: the top level must be an object with a "catalog" key'),
        ('{"profile": {}}', "not an OSCAL catalog: this file holds an OSCAL profile"),
        ('{"catalog": {"metadata": {}}}', "catalog.metadata.title: missing: OSCAL requires it"),
        (
            '{"catalog": {"metadata": {"title": "T"}, "groups": [{"title": "G"}]}}',
            "catalog: the catalog has no controls: nothing to import",
        ),
        (
            '{"catalog": {"metadata": {"title": "T"}, "groups": [{"title": "G", '
            '"controls": [{"title": "C"}]}]}}',
            "catalog.groups[0].controls[0].id: missing: OSCAL requires it",
        ),
    ],
)
def test_the_import_refuses_what_is_not_an_oscal_catalog_and_saves_nothing(
    admin: User, content: str, problem: str
) -> None:
    response = _english_client(admin).post(
        reverse("indicators:framework_oscal_import"), {"file": _upload(content)}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="catalog-errors"' in html
    assert problem in html.replace("&quot;", '"').replace("&#x27;", "'")
    assert Framework.objects.count() == 0


def test_a_catalog_breaking_the_catalog_rules_is_refused_with_the_rule(admin: User) -> None:
    bad = copy.deepcopy(FOREIGN)
    bad["catalog"]["groups"][0]["controls"][0]["controls"] = [
        {"id": "dup", "title": "A"},
        {"id": "dup", "title": "B"},
    ]
    with pytest.raises(CatalogInvalid) as caught:
        oscal_import(source=json.dumps(bad), filename="bad.json", acting_user=admin)
    assert any("duplicate code dup" in str(error) for error in caught.value.errors)
    assert Framework.objects.count() == 0


def test_a_foreign_catalog_becomes_a_draft_and_what_is_not_carried_is_listed(
    admin: User,
) -> None:
    response = _english_client(admin).post(
        reverse("indicators:framework_oscal_import"),
        {"file": _upload(FOREIGN, "nist-rev5.json"), "code": "", "version": ""},
    )
    assert response.status_code == 200
    html = response.content.decode()
    framework = Framework.objects.get()
    assert (framework.code, framework.version) == ("nist-rev5", "rev-5")
    assert framework.state == Framework.State.DRAFT
    assert framework.name_zh == "Foreign controls"

    document = framework_document(framework_with_tree(pk=framework.pk))
    groups = [(d["code"], d["name_zh"]) for d in document["dimensions"]]
    assert groups == [("AC", "Access control"), ("D2", "Controls outside any group")]
    codes = [i["code"] for d in document["dimensions"] for i in d["indicators"]]
    assert codes == ["AC-1", "ac-1.1", "ac-9", "x-1"]
    first = document["dimensions"][0]["indicators"][0]
    assert first["description_zh"] == "Develop:\na. an access control policy"
    assert sum(i["weight"] for d in document["dimensions"] for i in d["indicators"]) == 100

    not_carried = html.split('data-testid="oscal-not-carried"')[1].split("</ul>")[0]
    for expected in (
        "params is not carried (2: catalog.params, catalog.groups[0].controls[0].params)",
        "roles is not carried (1: catalog.metadata.roles)",
        "parts is not carried (1: catalog.groups[0].parts)",
        "links is not carried (1: catalog.groups[0].controls[0].links)",
        "prop sort-id is not carried (1: catalog.groups[0].controls[0].props[1])",
        "part guidance is not carried (1: catalog.groups[0].controls[0].parts[1])",
        "a group nested in a group is not carried as a dimension",
    ):
        assert expected in not_carried, expected
    placeholders = html.split('data-testid="oscal-placeholders"')[1].split("</ul>")[0]
    for expected in ("rubric texts (4:", "evidence method D", "weights:", "one level, basic"):
        assert expected in placeholders, expected
    adapted = html.split('data-testid="oscal-adapted"')[1].split("</ul>")[0]
    assert "a control nested in a control became an indicator" in adapted
    assert "statement items were joined into the description" in adapted
    assert reverse("admin:indicators_framework_change", args=[framework.pk]) in html


def test_the_import_takes_the_code_and_version_from_the_form(admin: User) -> None:
    response = _english_client(admin).post(
        reverse("indicators:framework_oscal_import"),
        {"file": _upload(FOREIGN), "code": "foreign", "version": "2025.1"},
    )
    assert response.status_code == 200
    assert Framework.objects.filter(code="foreign", version="2025.1").exists()
    refused = _english_client(admin).post(
        reverse("indicators:framework_oscal_import"),
        {"file": _upload(FOREIGN), "code": "Not Valid", "version": ""},
    )
    assert refused.status_code == 400
    assert Framework.objects.count() == 1


def test_a_published_version_with_other_content_is_refused(
    comprehensive: Framework, admin: User
) -> None:
    document = framework_oscal(framework_with_tree(pk=comprehensive.pk))
    document["catalog"]["groups"][0]["title"] = "改过的维度"
    response = _english_client(admin).post(
        reverse("indicators:framework_oscal_import"), {"file": _upload(document)}
    )
    assert response.status_code == 400
    assert "a published version never changes" in response.content.decode()
    assert Framework.objects.count() == 1


def test_admins_see_the_import_link_on_the_catalog_list(admin: User) -> None:
    html = client_for(admin).get(reverse("indicators:framework_list")).content.decode()
    assert reverse("indicators:framework_oscal_import") in html
    assert client_for(admin).get(reverse("indicators:framework_oscal_import")).status_code == 200
