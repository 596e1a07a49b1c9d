"""The signer of certified reports: a PAdES certification signature made with pyHanko.

One small module on purpose. Everything else calls ``sign_pdf(pdf, reason=...)`` and nothing
more, so that a signer with an SM2 key (GM/T 0031) can replace this module without touching
the rest. The key and certificate are PEM files named in settings:

- ``REPORT_SIGNING_KEY`` (default ``var/signing/report-signing-key.pem``)
- ``REPORT_SIGNING_CERT`` (default ``var/signing/report-signing-cert.pem``)
- ``REPORT_SIGNING_PASSPHRASE`` (default empty: the key is not encrypted)

``manage.py make_dev_certificate`` writes a self-signed pair there for development.
"""

from __future__ import annotations

import asyncio
import datetime
import io
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FIELD_NAME = "GCE-Signature"
T = TypeVar("T")


@dataclass(frozen=True)
class SigningConfig:
    key_path: Path
    cert_path: Path
    passphrase: bytes | None


def signing_config() -> SigningConfig:
    var_dir = Path(getattr(settings, "VAR_DIR", Path(settings.BASE_DIR) / "var"))
    key = getattr(settings, "REPORT_SIGNING_KEY", "") or var_dir / "signing/report-signing-key.pem"
    cert = (
        getattr(settings, "REPORT_SIGNING_CERT", "") or var_dir / "signing/report-signing-cert.pem"
    )
    passphrase = getattr(settings, "REPORT_SIGNING_PASSPHRASE", "") or ""
    return SigningConfig(Path(key), Path(cert), passphrase.encode() if passphrase else None)


# Values are pyHanko ``SimpleSigner``s; pyHanko ships no types, so they are ``Any`` here.
_SIGNERS: dict[tuple[str, str, float, float], Any] = {}
_LOCK = Lock()


def _signer(config: SigningConfig) -> Any:
    """The pyHanko ``SimpleSigner`` of ``config`` (``Any``: pyHanko ships no types)."""
    from pyhanko.sign import signers

    for path, name in (
        (config.key_path, "REPORT_SIGNING_KEY"),
        (config.cert_path, "REPORT_SIGNING_CERT"),
    ):
        if not path.is_file():
            raise ImproperlyConfigured(
                f"{name} ({path}) does not exist: configure the report signing key and "
                "certificate, or run `manage.py make_dev_certificate` for development."
            )
    # Loaded once per process and pair of files; a replaced file (new mtime) is loaded afresh.
    key = (
        str(config.key_path),
        str(config.cert_path),
        config.key_path.stat().st_mtime,
        config.cert_path.stat().st_mtime,
    )
    with _LOCK:
        if key not in _SIGNERS:
            signer = signers.SimpleSigner.load(
                str(config.key_path), str(config.cert_path), key_passphrase=config.passphrase
            )
            if signer is None:
                raise ImproperlyConfigured(
                    f"Could not load the report signing key {config.key_path} with the "
                    f"certificate {config.cert_path} (wrong REPORT_SIGNING_PASSPHRASE?)."
                )
            _SIGNERS[key] = signer
        return _SIGNERS[key]


def sign_pdf(pdf: bytes, *, reason: str, location: str = "") -> bytes:
    """``pdf`` with a PAdES (B-B) certification signature that allows no later change.

    Raises ``ImproperlyConfigured`` when the key or certificate is missing or unreadable.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import MDPPerm

    signer = _signer(signing_config())
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        reason=reason or None,
        location=location or None,
    )
    # Without an output stream, pyHanko writes the signed document to a new BytesIO.
    out: io.BytesIO = _run(lambda: signers.async_sign_pdf(writer, meta, signer=signer))
    return out.getvalue()


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs pyHanko's coroutine to completion, also from a thread whose event loop is running
    (an async view, or a test driving a browser), where ``asyncio.run`` would refuse."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def certificate_subject() -> str:
    """The signing certificate's subject, for people (the verification page shows it)."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(signing_config().cert_path.read_bytes())
    return cert.subject.rfc4514_string()


def dev_certificate_create(
    *, key_path: Path, cert_path: Path, common_name: str, days: int = 825
) -> None:
    """Writes a new self-signed RSA key and certificate for signing reports in development.

    Overwrites nothing: raises ``FileExistsError`` if either file exists. Never use the result
    in production: anyone can make a certificate with the same name.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    for path in (key_path, cert_path):
        if path.exists():
            raise FileExistsError(path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "govcloud_eval development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # non-repudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The key is readable by its owner only.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
