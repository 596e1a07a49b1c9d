"""An admin registers clouds in Chromium: the form (a bad division code refused, then fixed) and
an import (a bad row shown with its row and column, then the corrected file imported)."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Organisation, User
from assessments.models import Cloud
from tests.browser_support import screenshot, sign_in

pytestmark = pytest.mark.browser

HEADER = "名称,英文名称,主管单位,行政区划代码,级别,云服务商,政务外网,互联网"
WUHAN = "武汉市政务云,,武汉市政务服务和大数据管理局,{code},地市级,楚天云有限公司,是,否"
HUBEI = "湖北省政务云楚天云平台,,湖北省人民政府办公厅,420000,省级,楚天云有限公司,是,是"


def _csv(*lines: str) -> FilePayload:
    data = ("\n".join([HEADER, *lines]) + "\n").encode("utf-8-sig")
    return {"name": "政务云清单.csv", "mimeType": "text/csv", "buffer": data}


def test_an_admin_registers_a_cloud_and_imports_a_list(
    page: Page, live_server: LiveServer, admin: User, vendor_org: Organisation
) -> None:
    base = live_server.url
    sign_in(page, base, admin.username)

    # The menu leads to the register; it is empty.
    page.get_by_role("link", name="政务云", exact=True).first.click()
    page.wait_for_url(f"{base}/clouds/")
    page.click("[data-testid=cloud-new]")

    # A new owner with a county-level code for a municipal cloud: refused beside the field.
    page.fill("#id_name", "济南政务云计算中心")
    page.check("input[name=level][value=municipal]")
    page.fill("#id_new_owner_name", "济南市大数据局")
    page.fill("#id_new_owner_division_code", "370102")
    page.check(f"input[name=vendors][value='{vendor_org.pk}']")
    page.fill("#id_new_vendor_names", "济南政务云运营有限公司")
    page.click("[data-testid=cloud-save]")
    error = page.locator(".field--error .field__error")
    expect(error).to_contain_text("370102")
    screenshot(page, "clouds-form-bad-code")
    assert not Cloud.objects.exists()

    # Fixed: the prefecture-level code.
    page.fill("#id_new_owner_division_code", "370100")
    page.click("[data-testid=cloud-save]")
    page.wait_for_url(f"{base}/clouds/*/")
    facts = page.locator("[data-testid=cloud-facts]")
    expect(facts).to_contain_text("济南市大数据局")
    expect(facts).to_contain_text("370100")
    expect(facts).to_contain_text(vendor_org.name)
    expect(facts).to_contain_text("济南政务云运营有限公司")
    screenshot(page, "clouds-detail")

    # An import with one bad row: the error names the row and the column; nothing saved.
    page.goto(f"{base}/clouds/import/")
    page.set_input_files("#id_file", files=[_csv(HUBEI, WUHAN.format(code="429999"))])
    page.click("[data-testid=import-upload]")
    errors = page.locator("[data-testid=row-errors]")
    expect(errors).to_contain_text("3")
    expect(errors).to_contain_text("行政区划代码")
    expect(errors).to_contain_text("429999")
    expect(page.locator("[data-testid=import-confirm]")).to_have_count(0)
    screenshot(page, "clouds-import-row-error")
    assert Cloud.objects.count() == 1

    # The corrected file: previewed, then imported.
    page.set_input_files("#id_file", files=[_csv(HUBEI, WUHAN.format(code="420100"))])
    page.click("[data-testid=import-upload]")
    expect(page.locator("[data-testid=row-errors]")).to_have_count(0)
    screenshot(page, "clouds-import-preview")
    page.click("[data-testid=import-confirm]")
    page.wait_for_url(f"{base}/clouds/")
    listing = page.locator("[data-testid=cloud-list]")
    expect(listing).to_contain_text("湖北省政务云楚天云平台")
    expect(listing).to_contain_text("武汉市政务云")
    screenshot(page, "clouds-list")
    assert Cloud.objects.count() == 3
    assert Cloud.objects.get(name="武汉市政务云").owner.division_code == "420100"
