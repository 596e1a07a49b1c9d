"""The command line: import_catalog, export_catalog, load_default_catalogs."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from indicators.catalog import catalog_parse
from indicators.models import Framework

from .conftest import COMPREHENSIVE_FILE, TRUSTED_FILE, as_yaml, write

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_catalog_stores_a_valid_file_and_says_so(
    tmp_path: Path, small_catalog: dict
) -> None:
    path = write(tmp_path, "small.yaml", as_yaml(small_catalog))
    out, _err = _run("import_catalog", str(path))
    assert "small.yaml: small 1.0 imported as a draft." in out
    assert Framework.objects.get().state == Framework.State.DRAFT


def test_import_catalog_fails_with_every_error_on_stderr_and_writes_nothing(
    tmp_path: Path, small_catalog: dict
) -> None:
    good = write(tmp_path, "good.yaml", as_yaml(small_catalog))
    small_catalog["code"] = "broken"
    small_catalog["dimensions"][0]["indicators"][0]["evidence"] = ["Z"]
    small_catalog["dimensions"][1]["indicators"][0]["weight"] = "x"
    bad = write(tmp_path, "bad.yaml", as_yaml(small_catalog))
    err = StringIO()
    with pytest.raises(CommandError, match="1 of 2 file"):
        call_command("import_catalog", str(bad), str(good), stdout=StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert "bad.yaml: dimensions[0].indicators[0].evidence[0]: unknown evidence method" in lines[0]
    assert lines[1].startswith("bad.yaml: dimensions[1].indicators[0].weight: wrong type")
    assert list(Framework.objects.values_list("code", flat=True)) == ["small"]


def test_import_catalog_twice_is_a_no_op(tmp_path: Path, small_catalog: dict) -> None:
    path = write(tmp_path, "small.yaml", as_yaml(small_catalog))
    _run("import_catalog", "--publish", str(path))
    out, _err = _run("import_catalog", "--publish", str(path))
    assert "already loaded with this content; nothing to do." in out
    assert "Published" not in out
    assert Framework.objects.get().state == Framework.State.PUBLISHED


def test_import_catalog_refuses_a_changed_file_under_a_published_version(
    tmp_path: Path, small_catalog: dict
) -> None:
    path = write(tmp_path, "small.yaml", as_yaml(small_catalog))
    _run("import_catalog", "--publish", str(path))
    small_catalog["name_zh"] = "改名"
    write(tmp_path, "small.yaml", as_yaml(small_catalog))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_catalog", str(path), stdout=StringIO(), stderr=err)
    assert "is already Published with different content" in err.getvalue()
    assert Framework.objects.get().name_zh == "小型测试指标体系"


def test_import_catalog_reports_a_missing_file(tmp_path: Path) -> None:
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_catalog", str(tmp_path / "nope.yaml"), stderr=err)
    assert "nope.yaml" in err.getvalue()


@pytest.mark.parametrize("source", [COMPREHENSIVE_FILE, TRUSTED_FILE], ids=lambda p: p.stem)
def test_import_export_import_is_lossless(tmp_path: Path, source: Path) -> None:
    _run("import_catalog", str(source))
    framework = Framework.objects.get()
    exported = tmp_path / "exported.yaml"
    _run("export_catalog", framework.code, framework.version, "-o", str(exported))

    original = catalog_parse(source.read_bytes(), filename=source.name)
    round_tripped = catalog_parse(exported.read_bytes(), filename=exported.name)
    assert round_tripped == original

    # Importing the export into a fresh database gives the same framework again.
    Framework.objects.all().delete()
    _run("import_catalog", str(exported))
    again = Framework.objects.get()
    assert again.content_sha256 == framework.content_sha256


def test_export_catalog_writes_to_stdout_in_the_documented_order(small_catalog: dict) -> None:
    from indicators.services import framework_import

    framework_import(source=as_yaml(small_catalog), filename="s.yaml", acting_user=None)
    out, _err = _run("export_catalog", "small", "1.0")
    assert list(yaml.safe_load(out))[:4] == ["format", "code", "version", "kind"]
    assert "evidence: [T, D]" in out


def test_export_catalog_of_an_unknown_version_fails() -> None:
    with pytest.raises(CommandError, match="No framework nope 9"):
        call_command("export_catalog", "nope", "9")


def test_load_default_catalogs_publishes_both_and_is_idempotent(admin: User) -> None:
    out, _err = _run("load_default_catalogs")
    assert out.count("Published.") == 2
    out, _err = _run("load_default_catalogs")
    assert out.count("nothing to do") == 2
    assert set(Framework.objects.values_list("code", "state")) == {
        ("comprehensive-model", "published"),
        ("trusted-platform-model", "published"),
    }


def test_the_complete_example_in_the_documentation_imports_as_it_stands() -> None:
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "catalog-format.md").read_text()
    example = re.search(r"## A complete example.*?```yaml\n(.*?)```", docs, re.S)
    assert example is not None
    doc = catalog_parse(example.group(1), filename="catalog-format.md")
    assert (doc["code"], len(doc["dimensions"]), len(doc["levels"])) == ("example", 2, 2)
