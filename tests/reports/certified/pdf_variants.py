"""Real PDFs that are not quite the issued report: tampered, extended, re-signed, hostile.

Each helper takes a PDF's bytes and returns new bytes made with pyHanko the way a forger or a
long-term-validation tool would: incremental updates, document timestamps, a test timestamp
authority (pyHanko's ``DummyTimeStamper``, no network).
"""

from __future__ import annotations

import asyncio
import datetime
import io
import re
import zlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def signed_range(pdf: bytes) -> tuple[int, int, int, int]:
    """The first signature's /ByteRange: [0, len1, start2, len2]."""
    found = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert found, "not signed"
    first, len1, start2, len2 = (int(g) for g in found.groups())
    return first, len1, start2, len2


def flip_signed_byte(pdf: bytes) -> bytes:
    """``pdf`` with one byte changed inside a stream that the first signature covers: the file
    still parses, its signature no longer matches."""
    _, len1, _, _ = signed_range(pdf)
    at = pdf.index(b"stream\n", pdf.index(b"/Length")) + len(b"stream\n") + 16
    assert at < len1
    data = bytearray(pdf)
    data[at] ^= 0x01
    return bytes(data)


def append_info_change(pdf: bytes, title: str = "已篡改的报告") -> bytes:
    """An incremental update that changes the document information (its title)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info = writer.trailer["/Info"]
    info["/Title"] = generic.TextStringObject(title)
    writer.mark_update(writer.trailer.raw_get("/Info"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def append_annotation(pdf: bytes, text: str = "评分已更正为优秀") -> bytes:
    """An incremental update that puts a free-text annotation on the first page."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _resources = writer.find_page_for_modification(0)
    annotation = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (72, 700, 400, 740)]
            ),
            generic.NameObject("/Contents"): generic.TextStringObject(text),
            generic.NameObject("/DA"): generic.TextStringObject("/Helv 14 Tf 1 0 0 rg"),
        }
    )
    writer.register_annotation(page_ref, writer.add_object(annotation))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def object_stream_bomb(megabytes: int = 400) -> bytes:
    """A small, well-formed PDF whose only object stream inflates to ``megabytes`` MiB of
    blanks, and whose catalog's /AcroForm lives in it: reading the form means inflating it."""
    payload = b"<< /Fields [] >>"
    header = b"4 0 "
    stream = zlib.compress(header + payload + b" " * (megabytes * 1024 * 1024), 9)
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in (
        (1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>"),
        (2, b"<< /Type /Pages /Kids [] /Count 0 >>"),
    ):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    offsets[3] = out.tell()
    out.write(
        b"3 0 obj\n<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
        % (len(header), len(stream))
    )
    out.write(stream + b"\nendstream\nendobj\n")
    xref_at = out.tell()
    rows = [b"\x00\x00\x00\x00\x00\xff\xff"]
    rows += [b"\x01" + offsets[n].to_bytes(4, "big") + b"\x00\x00" for n in (1, 2, 3)]
    rows += [b"\x02" + (3).to_bytes(4, "big") + b"\x00\x00"]  # 4: in object stream 3, index 0
    rows += [b"\x01" + xref_at.to_bytes(4, "big") + b"\x00\x00"]  # 5: this xref stream
    table = b"".join(rows)
    out.write(
        b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % len(table)
    )
    out.write(table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at)
    return out.getvalue()


# ----------------------------------------------------------------------------------------------
# A timestamp authority of the tests, and long-term signatures made with pyHanko directly


def tsa_certificate_create(folder: Path) -> tuple[Path, Path]:
    """A self-signed timestamp authority certificate (extended key usage: time stamping)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "govcloud_eval test TSA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / "tsa-key.pem", folder / "tsa-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def timestamper(tsa: tuple[Path, Path]) -> Any:
    """pyHanko's in-process timestamp authority signing with ``tsa`` (key, certificate)."""
    from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    return DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(str(tsa[1])),
        tsa_key=load_private_key_from_pemder(str(tsa[0]), None),
    )


def _context(*cert_paths: Path) -> Any:
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(
        trust_roots=[load_cert_from_pemder(str(p)) for p in cert_paths], allow_fetching=False
    )


def sign_b_lta(pdf: bytes, *, key: Path, cert: Path, tsa: tuple[Path, Path]) -> bytes:
    """``pdf`` signed as the portal signs (a certification signature allowing no change) at
    PAdES B-LTA: a signature timestamp, the DSS, then a document timestamp."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import MDPPerm

    meta = signers.PdfSignatureMetadata(
        field_name="GCE-Signature",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        embed_validation_info=True,
        use_pades_lta=True,
        validation_context=_context(cert, tsa[1]),
    )
    signer = signers.SimpleSigner.load(str(key), str(cert))
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper(tsa))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out: io.BytesIO = asyncio.run(pdf_signer.async_sign_pdf(writer))
    return out.getvalue()


def append_document_timestamp(pdf: bytes, *, tsa: tuple[Path, Path]) -> bytes:
    """``pdf`` with a document timestamp appended (how an archive extends a B-LTA file)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    stamper = signers.PdfTimeStamper(timestamper(tsa), field_name="Archive-Timestamp")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out: io.BytesIO = asyncio.run(stamper.async_timestamp_pdf(writer, "sha256"))
    return out.getvalue()


def deeply_nested(depth: int = 200_000) -> bytes:
    """A well-formed PDF whose form field list nests ``depth`` arrays deep."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in (
        (1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields %s%s >> >>"),
        (2, b"<< /Type /Pages /Kids [] /Count 0 >>"),
    ):
        if number == 1:
            body = body % (b"[" * depth, b"]" * depth)
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref_at = out.tell()
    out.write(b"xref\n0 3\n0000000000 65535 f \n")
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref_at)
    return out.getvalue()
