"""Validation of an uploaded PDF's signature: was it signed with the portal's certificate, and
is it, apart from validation data, the file as signed? ``pdf_validate(data, trust=...)``.

The public verification page calls it on whatever a visitor uploads, so the input is hostile:
the function never raises on bad input, it classifies it. The first rule that applies wins:

1. ``NOT_PDF``: no ``%PDF-`` header in the first 1024 bytes, or pyHanko cannot read the file's
   structure (truncated, garbage, streams that decode past the limits below).
2. ``NOT_SIGNED``: the file has no signature (a document timestamp alone is not a signature).
3. ``MODIFIED`` (``SIGNATURE_DAMAGED``): a signature is there but cannot be read at all.
4. ``OTHER_CERTIFICATE``: the earliest signature was made with another certificate than the
   portal's signing certificate (compared byte for byte).
5. ``MODIFIED``: the portal's signature no longer matches the bytes it covers
   (``SIGNED_BYTES``), its signed attributes do not verify (``SIGNATURE_DAMAGED``), or the file
   has anything after the signed revision other than validation data (``APPENDED``).
6. ``GENUINE``: the signature covers the entire file, or its entire revision followed only by
   document timestamps and DSS (validation data) updates, as PAdES B-LT/B-LTA signing appends.

Rule 5 judges later revisions with pyHanko's difference analysis under a policy stricter than
pyHanko's default, which also accepts any change of the document information (title, author)
and of the XMP metadata as "LTA updates": here the information dictionary may change only in
``/ModDate`` and ``/Producer`` (pyHanko's writer sets both in every update it writes, the
timestamp and DSS updates included), and the catalog's ``/Metadata`` must not change.

The signer's certificate is the portal's when it equals the configured one
(``REPORT_SIGNING_CERT``); a replaced certificate makes earlier reports read as "signed by
another certificate". pyHanko's trust verdict (chain, validity period, key usage) is not part of
the outcome: an expired portal certificate still made the signature. Timestamp times are
reported only when the timestamp verifies against ``Trust.timestamp_roots``.

Nothing is fetched from the network: a hostile file's certificates may name any address.
"""

from __future__ import annotations

import datetime
import enum
import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from .coroutines import run_sync
from .signing import signing_config

_PDF_HEADER = b"%PDF-"
_MIB = 1024 * 1024


class Outcome(models.TextChoices):
    GENUINE = "genuine", _("Genuine")
    MODIFIED = "modified", _("Modified after signing")
    OTHER_CERTIFICATE = "other_certificate", _("Signed by another certificate")
    NOT_SIGNED = "not_signed", _("Not signed")
    NOT_PDF = "not_pdf", _("Not a PDF file")


class Modification(enum.StrEnum):
    """How a file with a signature was modified (the page words each one)."""

    SIGNED_BYTES = "signed_bytes"  # bytes the signature covers were changed
    APPENDED = "appended"  # an update after the signed revision, other than validation data
    SIGNATURE_DAMAGED = "signature_damaged"  # the signature itself cannot be read or verified


@dataclass(frozen=True)
class Trust:
    """What a signature is checked against: the portal's signing certificate, and the roots a
    timestamp authority's certificate must chain to (PEM or DER, one certificate each)."""

    signing_cert: bytes
    timestamp_roots: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class PdfValidation:
    outcome: Outcome
    modification: Modification | None = None  # with MODIFIED only
    signer: str = ""  # the signing certificate's subject (RFC 4514), when a signature was read
    signed_at: datetime.datetime | None = None  # the signer's own claim, not proof
    timestamped_at: datetime.datetime | None = None  # the signature's timestamp, if trusted
    document_timestamp: bool = False  # a document timestamp is present (trusted or not)
    document_timestamped_at: datetime.datetime | None = None  # the latest trusted one
    detail: str = ""  # technical, in English, for logs; not for the page


def portal_trust() -> Trust:
    """The portal's signing certificate (``REPORT_SIGNING_CERT``) as the signer's trust root,
    and the certificates of ``REPORT_SIGNING_CHAIN`` (which holds the timestamp authority's
    chain) as the roots of timestamps.

    Raises ``OSError`` when a configured file cannot be read: without it no report could be
    signed either, so this is a configuration error, not a verdict on a file.
    """
    from pyhanko.keys import load_certs_from_pemder_data

    config = signing_config()
    chain: tuple[bytes, ...] = ()
    if config.chain_path is not None:
        data = config.chain_path.read_bytes()
        chain = tuple(cert.dump() for cert in load_certs_from_pemder_data(data))
    return Trust(signing_cert=config.cert_path.read_bytes(), timestamp_roots=chain)


# Tighter than pyHanko's defaults for untrusted input (256 MiB per stream, and decoding up to
# 100 times the file's size in all): an issued report decodes a few MiB at most, and every
# byte decoded here is memory a visitor made the server spend.
def _decode_limits() -> Any:
    from pyhanko.pdf_utils.decode_limits import (
        DecodeLimits,
        DocumentDecodeBudget,
        StreamDecodeLimits,
    )

    return DecodeLimits(
        per_stream=StreamDecodeLimits(max_output_size=32 * _MIB),
        document_budget=DocumentDecodeBudget(base_allowance=64 * _MIB, max_ratio=4),
    )


@functools.cache
def _diff_policy() -> Any:
    """pyHanko's default difference policy without the leniency on metadata (see above)."""
    from pyhanko.sign.diff_analysis import (
        CatalogModificationRule,
        DocInfoRule,
        DSSCompareRule,
        FormUpdatingRule,
        ModificationLevel,
        ObjectStreamRule,
        SigFieldCreationRule,
        SigFieldModificationRule,
        StandardDiffPolicy,
        SuspiciousModification,
        XrefStreamRule,
    )
    from pyhanko.sign.diff_analysis.constants import ROOT_EXEMPT_STRICT_COMPARISON

    class InfoHousekeepingRule(DocInfoRule):
        """pyHanko's rule for /Info updates, which accepts any, refusing all but a new
        modification date and producer."""

        def apply(self, old: Any, new: Any) -> Any:
            # Resolve in each revision: a reference read from a trailer resolves in the latest.
            new_ref = new.trailer_view.get_value_as_reference("/Info", optional=True)
            if new_ref is not None:
                old_ref = old.trailer_view.get_value_as_reference("/Info", optional=True)
                before = _significant(old(old_ref)) if old_ref is not None else {}
                if _significant(new(new_ref)) != before:
                    raise SuspiciousModification("the document information was changed")
            yield from super().apply(old, new)

    lta = ModificationLevel.LTA_UPDATES
    return StandardDiffPolicy(
        global_rules=[
            CatalogModificationRule(
                ignored_keys=frozenset(ROOT_EXEMPT_STRICT_COMPARISON) - {"/Metadata"}
            ),
            InfoHousekeepingRule().as_qualified(lta),
            XrefStreamRule().as_qualified(lta),
            ObjectStreamRule().as_qualified(lta),
            DSSCompareRule().as_qualified(lta),
        ],
        # New signature fields (a document timestamp's) and filling empty ones; a filled one
        # other than a document timestamp is "form filling", above what a genuine file has.
        form_rule=FormUpdatingRule(
            field_rules=[SigFieldCreationRule(), SigFieldModificationRule()]
        ),
    )


def _significant(info: Any) -> dict[str, Any]:
    """The entries of an /Info dictionary that pyHanko's writer does not maintain itself."""
    from pyhanko.pdf_utils import generic

    if not isinstance(info, generic.DictionaryObject):
        return {"": info}  # not a dictionary: compared as a whole
    return {str(key): info.raw_get(key) for key in info if key not in ("/ModDate", "/Producer")}


def pdf_validate(data: bytes, *, trust: Trust) -> PdfValidation:
    """The verdict on ``data``, a whole file the caller has read within its own size limit.

    Never raises on the content of ``data``: whatever pyHanko raises on hostile input becomes
    a verdict (the module docstring lists the rules). Fetches nothing from the network.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    if _PDF_HEADER not in data[:1024]:
        return PdfValidation(Outcome.NOT_PDF, detail="no PDF header")
    # Any exception while reading the structure means the file is not a PDF we can read:
    # hostile input reaches parser paths that raise anything from PdfReadError and the decode
    # limits' PdfDecodeLimitError to KeyError, ValueError or RecursionError.
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True, decode_limits=_decode_limits())
        fields = list(enumerate_sig_fields(reader, filled_status=True))
    except Exception as exc:
        return PdfValidation(Outcome.NOT_PDF, detail=_describe(exc))

    signatures, stamps, damaged = _embedded(reader, fields)
    if not signatures:
        if damaged:
            return PdfValidation(
                Outcome.MODIFIED,
                Modification.SIGNATURE_DAMAGED,
                document_timestamp=bool(stamps),
                detail=damaged,
            )
        return PdfValidation(Outcome.NOT_SIGNED, document_timestamp=bool(stamps))

    # The earliest signature is the author's: the portal signs the rendered file first, and
    # anything signed after it is a later revision, which the difference analysis judges.
    first = signatures[0]
    try:
        cert = first.signer_cert
        signer = _subject(cert)
        ours = bool(cert.dump() == _certificate(trust.signing_cert).dump())
    except Exception as exc:  # a signature without a readable signer certificate
        return PdfValidation(
            Outcome.MODIFIED,
            Modification.SIGNATURE_DAMAGED,
            document_timestamp=bool(stamps),
            detail=_describe(exc),
        )
    try:
        status, stamped_at = run_sync(lambda: _validate(first, stamps, trust))
    except Exception as exc:  # hostile CMS structures, unsupported algorithms, ...
        return PdfValidation(
            Outcome.MODIFIED if ours else Outcome.OTHER_CERTIFICATE,
            Modification.SIGNATURE_DAMAGED if ours else None,
            signer=signer,
            signed_at=_claimed_time(first),
            document_timestamp=bool(stamps),
            detail=_describe(exc),
        )

    facts: dict[str, Any] = {
        "signer": signer,
        "signed_at": status.signer_reported_dt,
        "timestamped_at": _trusted_time(status.timestamp_validity),
        "document_timestamp": bool(stamps),
        "document_timestamped_at": stamped_at,
        "detail": _summary(status),
    }
    if not ours:
        return PdfValidation(Outcome.OTHER_CERTIFICATE, **facts)
    if not status.intact:
        return PdfValidation(Outcome.MODIFIED, Modification.SIGNED_BYTES, **facts)
    if not status.valid:
        return PdfValidation(Outcome.MODIFIED, Modification.SIGNATURE_DAMAGED, **facts)
    if not _covers_all_but_validation_data(status):
        return PdfValidation(Outcome.MODIFIED, Modification.APPENDED, **facts)
    return PdfValidation(Outcome.GENUINE, **facts)


def _embedded(reader: Any, fields: Sequence[Any]) -> tuple[list[Any], list[Any], str]:
    """The readable signatures (``/Sig``) and document timestamps, each in signing order, and
    what went wrong with the first unreadable one ("" if none)."""
    from pyhanko.sign.validation import EmbeddedPdfSignature

    signatures, stamps, damaged = [], [], ""
    for name, _value, field_ref in fields:
        try:
            embedded = EmbeddedPdfSignature(reader, field_ref, name)
            kind = embedded.sig_object_type
            embedded.signed_revision  # noqa: B018  (read now: it resolves the xref history)
        except Exception as exc:  # a damaged signature dictionary or CMS blob
            damaged = damaged or _describe(exc)
            continue
        if kind == "/DocTimeStamp":
            stamps.append(embedded)
        elif kind == "/Sig":
            signatures.append(embedded)
    signatures.sort(key=lambda s: s.signed_revision)
    stamps.sort(key=lambda s: s.signed_revision)
    return signatures, stamps, damaged


async def _validate(signature: Any, stamps: Sequence[Any], trust: Trust) -> tuple[Any, Any]:
    """pyHanko's status of ``signature``, and the latest trusted document timestamp's time."""
    from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp

    signer_context = _context([trust.signing_cert])
    timestamp_context = _context(trust.timestamp_roots)
    try:
        status = await async_validate_pdf_signature(
            signature,
            signer_validation_context=signer_context,
            ts_validation_context=timestamp_context,
            diff_policy=_diff_policy(),
        )
        stamped_at = None
        for stamp in stamps:
            try:
                # The signature's difference analysis has judged every revision already.
                stamp_status = await async_validate_pdf_timestamp(
                    stamp, validation_context=timestamp_context, skip_diff=True
                )
            except Exception:  # a damaged document timestamp proves no time
                continue
            stamped_at = _trusted_time(stamp_status) or stamped_at
        return status, stamped_at
    finally:
        await signer_context.aclose()
        await timestamp_context.aclose()


def _context(roots: Sequence[bytes]) -> Any:
    from pyhanko_certvalidator import ValidationContext

    # Only these roots (an empty list is no trust at all; None would be the system's), and no
    # fetching of certificates or revocation data from addresses a hostile file names.
    return ValidationContext(
        trust_roots=[_certificate(root) for root in roots],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )


def _covers_all_but_validation_data(status: Any) -> bool:
    from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
    from pyhanko.sign.validation import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    return (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and isinstance(status.diff_result, DiffResult)
        and status.diff_result.modification_level <= ModificationLevel.LTA_UPDATES
    )


def _trusted_time(status: Any) -> datetime.datetime | None:
    """The time of a timestamp token's status, if the token is intact, valid and trusted."""
    if status is None or not (status.intact and status.valid and status.trusted):
        return None
    when = status.timestamp
    return when if isinstance(when, datetime.datetime) else None


def _claimed_time(signature: Any) -> datetime.datetime | None:
    try:
        when = signature.self_reported_timestamp
    except Exception:  # an unreadable /M or signing-time attribute claims nothing
        return None
    return when if isinstance(when, datetime.datetime) else None


@functools.lru_cache(maxsize=8)
def _certificate(data: bytes) -> Any:
    """An asn1crypto certificate from PEM or DER bytes (our own configuration: may raise)."""
    from pyhanko.keys import load_certs_from_pemder_data

    return next(iter(load_certs_from_pemder_data(data)))


def _subject(cert: Any) -> str:
    """The subject as RFC 4514 (``CN=…,O=…,C=CN``), as ``signing.certificate_subject`` says it."""
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(cert.dump()).subject.rfc4514_string()
    except ValueError:  # cryptography is stricter than asn1crypto about odd encodings
        return str(cert.subject.human_friendly)


def _summary(status: Any) -> str:
    try:
        return str(status.summary())
    except Exception:  # only for the log line
        return ""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
