"""Evidence uploads through the service: what is accepted, what is refused (with a message and
nothing stored), versions once submitted, deletion before submission, expiry flags."""

from __future__ import annotations

import datetime
import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from accounts.models import User
from assessments import services
from assessments.evidence import sniffing
from assessments.evidence.selectors import (
    evidence_current,
    evidence_current_among,
    evidence_expiring,
    evidence_rows,
)
from assessments.evidence.services import evidence_delete, evidence_upload
from assessments.evidence.sniffing import detect_kind
from assessments.models import Assessment, Assignment, Campaign, Evidence
from assessments.selectors import indicators_of
from audit.models import AuditEvent
from indicators.models import Framework, Indicator
from tests.assessments.conftest import answer_everything, stored_files
from tests.assessments.evidence_files import (
    CSV_GB18030,
    GIF,
    JPEG,
    PDF,
    PNG,
    TEXT,
    WEBP,
    ole2,
    ole2_with_a_looping_difat,
    ooxml,
    plain_zip,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "media")]


@pytest.fixture
def indicator(assessment: Assessment) -> Indicator:
    return indicators_of(assessment=assessment)[0]


def upload(
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    name: str,
    content: bytes,
    *,
    issued_on: datetime.date | None = None,
    valid_until: datetime.date | None = None,
) -> Evidence:
    return evidence_upload(
        assessment=assessment,
        indicator=indicator,
        upload=SimpleUploadedFile(name.replace("/", "_").replace("\\", "_")[-200:], content),
        issued_on=issued_on,
        valid_until=valid_until,
        acting_user=vendor,
        name=name,
    )


def assert_refused(media: Path, excinfo: pytest.ExceptionInfo, *fragments: str) -> None:
    message = " ".join(excinfo.value.messages)
    for fragment in fragments:
        assert fragment in message, message
    assert not Evidence.objects.exists()
    assert stored_files(media) == []


# ----------------------------------------------------------------------------------------------
# Accepted


def test_a_vendor_uploads_a_pdf_stored_with_its_size_sha256_and_type(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    item = upload(assessment, indicator, vendor, "等保测评报告.pdf", PDF)

    assert item.original_name == "等保测评报告.pdf"
    assert item.size == len(PDF)
    assert item.sha256 == hashlib.sha256(PDF).hexdigest()
    assert item.content_type == "application/pdf"
    assert item.version == 1 and item.replaces is None
    assert item.uploaded_by == vendor
    with item.file.open("rb") as handle:
        assert handle.read() == PDF


def test_the_file_is_stored_under_a_random_name_keeping_only_the_extension(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    item = upload(assessment, indicator, vendor, "等保测评报告.pdf", PDF)

    (path,) = stored_files(media)
    assert path.suffix == ".pdf"
    assert "等保" not in str(path)
    assert path.parent == media / "evidence" / str(assessment.pk) / str(indicator.pk)
    assert item.file.name is not None and item.file.name.endswith(path.name)


def test_the_upload_is_audited_with_name_size_and_sha256(
    assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    item = upload(assessment, indicator, vendor, "report.pdf", PDF)

    event = AuditEvent.objects.get(action="assessments.evidence.uploaded")
    assert event.actor == vendor
    assert event.target_id == str(item.pk)
    assert event.changes["name"] == "report.pdf"
    assert event.changes["size"] == len(PDF)
    assert event.changes["sha256"] == item.sha256


def test_the_display_name_is_nfc_normalised(
    assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    decomposed = "Re\u0301sume\u0301.pdf"

    item = upload(assessment, indicator, vendor, decomposed, PDF)

    assert item.original_name == "Résumé.pdf"


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("report.pdf", PDF, "application/pdf"),
        (
            "说明.docx",
            ooxml("word"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "台账.xlsx",
            ooxml("xl"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "汇报.pptx",
            ooxml("ppt"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        ("old.doc", ole2("WordDocument"), "application/msword"),
        ("old.xls", ole2("Workbook"), "application/vnd.ms-excel"),
        ("old.ppt", ole2("PowerPoint Document"), "application/vnd.ms-powerpoint"),
        ("console.png", PNG, "image/png"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("photo.JPEG", JPEG, "image/jpeg"),
        ("anim.gif", GIF, "image/gif"),
        ("shot.webp", WEBP, "image/webp"),
        ("notes.txt", TEXT, "text/plain; charset=utf-8"),
        ("上云统计.csv", CSV_GB18030, "text/csv; charset=gb18030"),
        ("bundle.zip", plain_zip(), "application/zip"),
        ("office-in-a.zip", ooxml("word"), "application/zip"),
    ],
)
def test_each_allowed_type_is_accepted_by_its_content(
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    name: str,
    content: bytes,
    content_type: str,
) -> None:
    item = upload(assessment, indicator, vendor, name, content)

    assert item.content_type == content_type


# ----------------------------------------------------------------------------------------------
# Refused, with nothing stored


def test_content_that_does_not_match_the_extension_is_refused_naming_both(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "报告.pdf", PNG)

    assert_refused(media, excinfo, "报告.pdf", ".pdf", "a PDF document", "a PNG image")


@pytest.mark.parametrize(
    ("name", "content", "detected"),
    [
        ("sheet.xlsx", ooxml("word"), "a Word document"),
        ("report.docx", plain_zip(), "a ZIP archive"),
        ("old.xls", ole2("WordDocument"), "a Word 97–2003 document"),
        ("old.doc", ole2("Something Else"), "another OLE2 compound file"),
        ("notes.txt", PDF, "a PDF document"),
        ("photo.png", JPEG, "a JPEG image"),
    ],
)
def test_other_mismatches_are_refused_too(
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    media: Path,
    name: str,
    content: bytes,
    detected: str,
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, name, content)

    assert_refused(media, excinfo, name, detected)


def test_binary_content_named_as_text_is_refused(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "notes.txt", b"MZ\x90\x00\x03\x00\x00\x00" * 64)

    assert_refused(media, excinfo, "notes.txt", "not a file type that can be uploaded")


def test_an_unknown_type_is_refused_listing_the_allowed_ones(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "setup.exe", b"MZ\x90\x00")

    assert_refused(media, excinfo, "setup.exe", "cannot be uploaded", ".pdf", ".zip")


def test_an_empty_file_is_refused(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "empty.pdf", b"")

    assert_refused(media, excinfo, "“empty.pdf” is empty.")


def test_a_file_over_the_limit_is_refused(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path, settings: Settings
) -> None:
    settings.EVIDENCE_MAX_BYTES = 1024

    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "big.pdf", PDF + b"0" * 1024)

    assert_refused(media, excinfo, "“big.pdf” is larger than the limit of 1.0")


def test_a_file_of_exactly_the_limit_is_accepted(
    assessment: Assessment, indicator: Indicator, vendor: User, settings: Settings
) -> None:
    settings.EVIDENCE_MAX_BYTES = 1024
    content = PDF + b"0" * (1024 - len(PDF))

    item = upload(assessment, indicator, vendor, "exact.pdf", content)

    assert item.size == 1024


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "dir/report.pdf", "C:\\tmp\\report.pdf"])
def test_a_name_with_path_separators_is_refused(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path, name: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, name, PDF)

    assert_refused(media, excinfo, "contains a path separator")


def test_a_name_of_300_characters_is_refused(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    name = "测" * 296 + ".pdf"

    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, name, PDF)

    assert_refused(media, excinfo, "is 300 characters long", "255 characters or fewer")


@pytest.mark.parametrize("name", ["bell\x07.pdf", "evil\u202efdp.pdf", "line\nbreak.pdf"])
def test_a_name_with_control_characters_is_refused(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path, name: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, name, PDF)

    assert_refused(media, excinfo, "control characters")


def test_a_name_with_dot_dot_is_refused(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "report..pdf", PDF)

    assert_refused(media, excinfo, "“..”")


def test_the_temporary_file_is_removed_when_an_upload_is_refused(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    temporary = TemporaryUploadedFile("报告.pdf", "application/pdf", len(PNG), None)
    temporary.write(PNG)
    temporary.seek(0)
    path = Path(temporary.temporary_file_path())
    assert path.exists()

    with pytest.raises(ValidationError):
        evidence_upload(
            assessment=assessment, indicator=indicator, upload=temporary, acting_user=vendor
        )

    assert not path.exists()
    assert stored_files(media) == []


def test_valid_until_before_issued_on_is_refused(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(
            assessment,
            indicator,
            vendor,
            "cert.pdf",
            PDF,
            issued_on=datetime.date(2025, 6, 1),
            valid_until=datetime.date(2025, 5, 1),
        )

    assert_refused(media, excinfo, "Valid until is before issued on.")


def test_an_indicator_of_another_framework_is_refused(
    assessment: Assessment, vendor: User, trusted: Framework, media: Path
) -> None:
    foreign = Indicator.objects.filter(framework=trusted).first()
    assert foreign is not None

    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, foreign, vendor, "report.pdf", PDF)

    assert_refused(media, excinfo, "not in the campaign's framework")


@pytest.mark.parametrize("who", ["owner", "assessor", "admin", "outsider_vendor"])
def test_only_the_clouds_vendor_may_upload(
    assessment: Assessment,
    indicator: Indicator,
    assignments: list[Assignment],
    media: Path,
    who: str,
    request: pytest.FixtureRequest,
) -> None:
    user: User = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        upload(assessment, indicator, user, "report.pdf", PDF)

    assert not Evidence.objects.exists()
    assert stored_files(media) == []


def test_nothing_is_uploaded_once_the_campaign_is_no_longer_open(
    assessment: Assessment, indicator: Indicator, vendor: User, admin: User, media: Path
) -> None:
    Campaign.objects.filter(pk=assessment.campaign_id).update(state=Campaign.State.CLOSED)

    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "report.pdf", PDF)

    assert_refused(media, excinfo, "not open")


def test_nothing_is_uploaded_while_the_assessment_is_submitted(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)

    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "report.pdf", PDF)

    assert_refused(media, excinfo, "only if it is returned")


# ----------------------------------------------------------------------------------------------
# Versions and deletion


def submit_and_return(assessment: Assessment, vendor: User, admin: User) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    services.assessment_return(
        assessment=assessment, comment="请补充等保测评报告。", acting_user=admin
    )


def test_after_submission_a_file_of_the_same_name_becomes_a_new_version(
    assessment: Assessment, indicator: Indicator, vendor: User, admin: User, media: Path
) -> None:
    first = upload(assessment, indicator, vendor, "等保证书.pdf", PDF)
    submit_and_return(assessment, vendor, admin)

    second = upload(assessment, indicator, vendor, "等保证书.pdf", PDF + b"% v2\n")

    assert second.version == 2
    assert second.replaces == first
    assert Evidence.objects.filter(pk=first.pk).exists()
    assert len(stored_files(media)) == 2
    first_rows = evidence_rows(evidence_files=[first, second], reference_date=None)
    assert [r.superseded for r in first_rows] == [True, False]


def test_a_file_of_another_name_or_indicator_starts_at_version_one(
    assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    other_indicator = indicators_of(assessment=assessment)[1]
    upload(assessment, indicator, vendor, "a.pdf", PDF)

    assert upload(assessment, indicator, vendor, "b.pdf", PDF).version == 1
    assert upload(assessment, other_indicator, vendor, "a.pdf", PDF).version == 1
    assert upload(assessment, indicator, vendor, "a.pdf", PDF).version == 2


def test_before_submission_the_vendor_deletes_its_upload_and_the_file_goes(
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    media: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    item = upload(assessment, indicator, vendor, "draft.pdf", PDF)

    with django_capture_on_commit_callbacks(execute=True):
        evidence_delete(evidence=item, acting_user=vendor)

    assert not Evidence.objects.exists()
    assert stored_files(media) == []
    event = AuditEvent.objects.get(action="assessments.evidence.deleted")
    assert event.changes["name"] == "draft.pdf"
    assert event.changes["sha256"] == item.sha256


def test_deleting_a_later_version_before_submission_keeps_the_chain(
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    first = upload(assessment, indicator, vendor, "a.pdf", PDF)
    second = upload(assessment, indicator, vendor, "a.pdf", PDF)
    third = upload(assessment, indicator, vendor, "a.pdf", PDF)

    with django_capture_on_commit_callbacks(execute=True):
        evidence_delete(evidence=second, acting_user=vendor)

    third.refresh_from_db()
    assert third.replaces == first


def test_the_current_versions_are_the_files_no_later_version_replaces(
    assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    other_indicator = indicators_of(assessment=assessment)[1]
    first = upload(assessment, indicator, vendor, "a.pdf", PDF)
    second = upload(assessment, indicator, vendor, "a.pdf", PDF)
    other = upload(assessment, other_indicator, vendor, "a.pdf", PDF)

    assert set(evidence_current(assessment=assessment)) == {second, other}
    assert evidence_current_among([first, second, other]) == [second, other]
    # Among files already loaded, only the versions given count.
    assert evidence_current_among([first]) == [first]


def test_once_a_later_version_is_deleted_the_one_before_is_current_again(
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    first = upload(assessment, indicator, vendor, "a.pdf", PDF)
    second = upload(assessment, indicator, vendor, "a.pdf", PDF)

    with django_capture_on_commit_callbacks(execute=True):
        evidence_delete(evidence=second, acting_user=vendor)

    assert list(evidence_current(assessment=assessment)) == [first]


def test_after_submission_evidence_cannot_be_deleted_even_when_returned(
    assessment: Assessment, indicator: Indicator, vendor: User, admin: User, media: Path
) -> None:
    item = upload(assessment, indicator, vendor, "kept.pdf", PDF)
    submit_and_return(assessment, vendor, admin)

    with pytest.raises(ValidationError) as excinfo:
        evidence_delete(evidence=item, acting_user=vendor)

    assert "“kept.pdf” cannot be deleted" in excinfo.value.messages[0]
    assert Evidence.objects.filter(pk=item.pk).exists()
    assert len(stored_files(media)) == 1


@pytest.mark.parametrize("who", ["owner", "admin", "outsider_vendor"])
def test_only_the_clouds_vendor_may_delete(
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    who: str,
    request: pytest.FixtureRequest,
) -> None:
    item = upload(assessment, indicator, vendor, "a.pdf", PDF)

    with pytest.raises(PermissionDenied):
        evidence_delete(evidence=item, acting_user=request.getfixturevalue(who))

    assert Evidence.objects.filter(pk=item.pk).exists()


# ----------------------------------------------------------------------------------------------
# Dates and expiry


def test_evidence_expiring_before_the_reference_date_is_flagged(
    assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    reference = assessment.campaign.evidence_reference_date
    expiring = upload(
        assessment,
        indicator,
        vendor,
        "old-cert.pdf",
        PDF,
        issued_on=reference - datetime.timedelta(days=400),
        valid_until=reference - datetime.timedelta(days=1),
    )
    valid = upload(assessment, indicator, vendor, "cert.pdf", PDF, valid_until=reference)
    undated = upload(assessment, indicator, vendor, "notes.txt", TEXT)

    rows = evidence_rows(evidence_files=[expiring, valid, undated], reference_date=reference)

    assert [r.expires_early for r in rows] == [True, False, False]
    assert evidence_expiring(assessment=assessment) == [expiring]


def test_a_superseded_expiring_file_is_not_listed_as_expiring(
    assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    reference = assessment.campaign.evidence_reference_date
    upload(
        assessment,
        indicator,
        vendor,
        "cert.pdf",
        PDF,
        valid_until=reference - datetime.timedelta(days=1),
    )
    upload(assessment, indicator, vendor, "cert.pdf", PDF, valid_until=reference)

    assert evidence_expiring(assessment=assessment) == []


def test_only_pdfs_and_images_are_previewable(
    assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    files = [
        upload(assessment, indicator, vendor, name, content)
        for name, content in [("a.pdf", PDF), ("b.png", PNG), ("c.docx", ooxml("word"))]
    ]

    rows = evidence_rows(evidence_files=files, reference_date=None)

    assert [r.previewable for r in rows] == [True, True, False]


# ----------------------------------------------------------------------------------------------
# Content detection on its own


def test_detection_reads_a_zip_central_directory_wherever_the_content_types_entry_is() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("docProps/app.xml", "<app/>")
        archive.writestr("[Content_Types].xml", "<Types/>")

    assert detect_kind(buffer) == "xlsx"
    assert buffer.tell() == 0


def test_detection_tells_damaged_zip_files_apart() -> None:
    assert detect_kind(io.BytesIO(b"PK\x03\x04" + b"\x00" * 100)) is None


def test_text_split_in_the_middle_of_a_character_at_64_kib_is_still_text() -> None:
    content = ("汉" * 30000).encode()  # 90,000 bytes: the 64 KiB cut falls inside a character

    assert detect_kind(io.BytesIO(content)) == "text"


# ----------------------------------------------------------------------------------------------
# Damaged and hostile files: refused with the usual message, never an error, never a long read


def test_it_refuses_a_truncated_zip(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "说明.docx", ooxml("word")[:-30])

    assert_refused(media, excinfo, "说明.docx", "not a file type that can be uploaded")


def test_it_refuses_a_zip_whose_central_directory_is_damaged(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    content = plain_zip().replace(b"PK\x01\x02", b"PK\x01\x09", 1)

    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "bundle.zip", content)

    assert_refused(media, excinfo, "bundle.zip", "not a file type that can be uploaded")


def test_a_zip_bomb_is_recognised_from_its_names_without_inflating_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            for _chunk in range(64):  # 64 MiB of zeros, some 64 KiB compressed
                member.write(bytes(1024 * 1024))

    def no_inflating(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("a member was decompressed")

    monkeypatch.setattr(zlib, "decompressobj", no_inflating)
    monkeypatch.setattr(zlib, "decompress", no_inflating)

    assert detect_kind(io.BytesIO(buffer.getvalue())) == "docx"


def test_an_archive_whose_directory_is_over_the_read_budget_is_not_recognised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sniffing, "ZIP_READ_BUDGET", 100)

    assert detect_kind(io.BytesIO(plain_zip())) is None


def test_it_refuses_a_truncated_word_97_document(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, "old.doc", ole2("WordDocument")[:1024])

    assert_refused(media, excinfo, "old.doc", "another OLE2 compound file")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda c: c[:520], id="cut-after-the-header"),
        pytest.param(lambda c: c[:30] + b"\xff\xff" + c[32:], id="absurd-sector-size"),
        pytest.param(lambda c: c[:48] + b"\xff\xff\xff\x7f" + c[52:], id="directory-far-away"),
        pytest.param(lambda c: c[:8] + b"\xa5" * (len(c) - 8), id="noise-after-the-signature"),
        pytest.param(lambda c: c[:1024] + bytes(512), id="directory-wiped"),
    ],
)
def test_a_damaged_compound_file_is_another_ole2_file_never_an_error(
    damage: Callable[[bytes], bytes],
) -> None:
    assert detect_kind(io.BytesIO(damage(ole2("WordDocument")))) == "ole"


def test_a_large_word_97_document_whose_fat_needs_a_difat_is_recognised() -> None:
    content = ole2("WordDocument", stream_sectors=20_000)  # 10 MB, 157 FAT sectors

    assert detect_kind(io.BytesIO(content)) == "doc"


class CountingBytes(io.BytesIO):
    """A file in memory that counts the bytes read from it."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_a_compound_file_whose_difat_loops_is_given_up_after_a_bounded_read() -> None:
    handle = CountingBytes(ole2_with_a_looping_difat())

    assert detect_kind(handle) == "ole"
    assert handle.bytes_read <= sniffing.OLE_READ_BASE + 2 * sniffing.HEAD_BYTES
