"""The signer of certified reports: a long-term PAdES certification signature made with pyHanko.

One small module on purpose. Everything else calls ``sign_pdf(pdf, reason=..., appearance=...)``
and nothing more, so that a signer with an SM2 key (GM/T 0031) can replace this module without
touching the rest. The key and certificate are PEM files named in settings:

- ``REPORT_SIGNING_KEY`` (default ``var/signing/report-signing-key.pem``)
- ``REPORT_SIGNING_CERT`` (default ``var/signing/report-signing-cert.pem``)
- ``REPORT_SIGNING_PASSPHRASE`` (default empty: the key is not encrypted)
- ``REPORT_SIGNING_CHAIN`` (default empty): the CA certificates above the signing certificate,
  root included, and the timestamp authority's; empty for a self-signed certificate
- ``REPORT_TSA_URL`` (default empty), ``REPORT_TSA_USERNAME``, ``REPORT_TSA_PASSWORD``: an
  RFC 3161 timestamp authority and its HTTP basic auth credentials

The levels (ETSI EN 319 142-1):

- **B-LT always**: the certificate chain and whatever revocation data its CRL distribution points
  and OCSP responders give at signing time go into the document security store (DSS), in an
  incremental update after the signature, so that the signature can be checked offline years
  later. A self-signed certificate has neither: the DSS then holds the certificate itself.
  Without a timestamp authority there is no trusted signing time: strictly this is B-B with the
  long-term validation data of B-LT.
- **B-LTA with a timestamp authority**: the signature carries an RFC 3161 signature timestamp
  (B-T), the DSS also covers the authority's chain, and a document timestamp seals the DSS; a
  later document timestamp can extend it before the authority's certificate expires.

A certification signature that allows no change (DocMDP P=1) still admits the DSS and document
timestamps after it: PAdES says so, and pyHanko and Acrobat read it that way.

``manage.py make_dev_certificate`` writes a self-signed pair for development.
"""

from __future__ import annotations

import datetime
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .coroutines import run_sync

FIELD_NAME = "GCE-Signature"
TIMESTAMP_FIELD_NAME = "GCE-DocumentTimestamp"
# Seconds to wait for the timestamp authority; a failed request fails the rendering, which the
# admin (or the sweeper, for a lost worker) retries.
TSA_TIMEOUT = 20


@dataclass(frozen=True)
class SigningConfig:
    key_path: Path
    cert_path: Path
    passphrase: bytes | None
    chain_path: Path | None = None
    tsa_url: str = ""
    tsa_username: str = ""
    tsa_password: str = ""


def signing_config() -> SigningConfig:
    var_dir = Path(getattr(settings, "VAR_DIR", Path(settings.BASE_DIR) / "var"))
    key = getattr(settings, "REPORT_SIGNING_KEY", "") or var_dir / "signing/report-signing-key.pem"
    cert = (
        getattr(settings, "REPORT_SIGNING_CERT", "") or var_dir / "signing/report-signing-cert.pem"
    )
    passphrase = getattr(settings, "REPORT_SIGNING_PASSPHRASE", "") or ""
    chain = getattr(settings, "REPORT_SIGNING_CHAIN", "") or ""
    return SigningConfig(
        Path(key),
        Path(cert),
        passphrase.encode() if passphrase else None,
        chain_path=Path(chain) if chain else None,
        tsa_url=getattr(settings, "REPORT_TSA_URL", "") or "",
        tsa_username=getattr(settings, "REPORT_TSA_USERNAME", "") or "",
        tsa_password=getattr(settings, "REPORT_TSA_PASSWORD", "") or "",
    )


def signature_level(config: SigningConfig | None = None) -> str:
    """The PAdES baseline level ``sign_pdf`` reaches with ``config`` (default: the settings')."""
    config = config or signing_config()
    return "B-LTA" if config.tsa_url else "B-LT"


@dataclass(frozen=True)
class Appearance:
    """A visible signature over ``box`` (PDF points: left, bottom, right, top) on page ``page``
    (-1: the last): its appearance draws ``image`` (a PNG, the seal; none: a transparent
    appearance over what the page shows there) at the box's left, ``padding`` points in from its
    edges, at most ``image_width`` points wide, vertically centred."""

    box: tuple[int, int, int, int]
    image: bytes | None = None
    image_width: float = 0
    padding: float = 0
    page: int = -1


@dataclass(frozen=True)
class _Credentials:
    # pyHanko's SimpleSigner and asn1crypto certificates: no types, so Any.
    signer: Any
    trust_roots: list[Any]
    intermediates: list[Any]


# Loaded once per process and set of files; a replaced file (new mtime) is loaded afresh.
_SIGNERS: dict[tuple[str, ...], _Credentials] = {}
_LOCK = Lock()


def _parsed_key_signer(loaded: Any) -> Any:
    """``loaded`` (pyHanko's ``SimpleSigner``) made to keep its private key parsed.

    pyHanko's ``SimpleSigner.sign_raw`` parses the key from DER for every signature, and a
    signature is made twice (once to size the space reserved for it): for an RSA key that is
    about 35 ms each, OpenSSL checking the key, a fifth of a report's signing. The signer made
    here parses it once; RSA (PKCS #1 v1.5) and ECDSA use the parsed key, other mechanisms go
    through pyHanko's own code."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from pyhanko.sign import signers
    from pyhanko.sign.general import get_pyca_cryptography_hash

    key = serialization.load_der_private_key(loaded.signing_key.dump(), password=None)

    class ParsedKeySigner(signers.SimpleSigner):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                algorithm = mechanism.signature_algo
            except ValueError:
                algorithm = mechanism["algorithm"].native
            hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
            if algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
                return key.sign(data, padding.PKCS1v15(), hash_algorithm)
            if algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
                return key.sign(data, ec.ECDSA(hash_algorithm))
            signature: bytes = super().sign_raw(data, digest_algorithm)
            return signature

    return ParsedKeySigner(
        signing_cert=loaded.signing_cert,
        signing_key=loaded.signing_key,
        cert_registry=loaded.cert_registry,
        signature_mechanism=loaded.signature_mechanism,
    )


def _credentials(config: SigningConfig) -> _Credentials:
    """The signer of ``config`` and the certificates its signatures chain up to: the
    self-signed ones (the signing certificate itself, or roots in ``REPORT_SIGNING_CHAIN``) are
    the trust roots that validation data is gathered against, the others intermediates."""
    from pyhanko.keys import load_certs_from_pemder
    from pyhanko.sign import signers

    files = [(config.key_path, "REPORT_SIGNING_KEY"), (config.cert_path, "REPORT_SIGNING_CERT")]
    if config.chain_path is not None:
        files.append((config.chain_path, "REPORT_SIGNING_CHAIN"))
    for path, name in files:
        if not path.is_file():
            raise ImproperlyConfigured(
                f"{name} ({path}) does not exist: configure the report signing key and "
                "certificate, or run `manage.py make_dev_certificate` for development."
            )
    key = tuple(f"{path}:{path.stat().st_mtime}" for path, _name in files)
    with _LOCK:
        if key not in _SIGNERS:
            chain = [str(config.chain_path)] if config.chain_path is not None else None
            loaded = signers.SimpleSigner.load(
                str(config.key_path),
                str(config.cert_path),
                ca_chain_files=chain,
                key_passphrase=config.passphrase,
            )
            if loaded is None:
                raise ImproperlyConfigured(
                    f"Could not load the report signing key {config.key_path} with the "
                    f"certificate {config.cert_path} (wrong REPORT_SIGNING_PASSPHRASE?)."
                )
            signer = _parsed_key_signer(loaded)
            certificates = [signer.signing_cert]
            if chain:
                certificates += list(load_certs_from_pemder(chain))
            roots = [c for c in certificates if c.self_signed != "no"]
            if not roots:
                raise ImproperlyConfigured(
                    f"REPORT_SIGNING_CHAIN must hold the root CA certificate that "
                    f"{config.cert_path} chains up to (a PEM file with the intermediate and "
                    "root certificates): the signature's validation data is gathered against it."
                )
            _SIGNERS[key] = _Credentials(
                signer=signer,
                trust_roots=roots,
                intermediates=[c for c in certificates[1:] if c.self_signed == "no"],
            )
        return _SIGNERS[key]


def sign_pdf(
    pdf: bytes, *, reason: str, location: str = "", appearance: Appearance | None = None
) -> bytes:
    """``pdf`` with a PAdES certification signature that allows no later change, at B-LT, or
    B-LTA when a timestamp authority is configured (see the module's docstring); visible in
    ``appearance``'s box when given, else invisible.

    Raises ``ImproperlyConfigured`` when the key, certificate or chain is missing or unreadable,
    pyHanko's ``SigningError`` when the certificate does not validate against its chain, and
    the timestamp client's errors when the timestamp authority does not answer.
    """
    config = signing_config()
    credentials = _credentials(config)
    data: bytes = run_sync(lambda: _sign(pdf, config, credentials, reason, location, appearance))
    return data


async def _sign(
    pdf: bytes,
    config: SigningConfig,
    credentials: _Credentials,
    reason: str,
    location: str,
    appearance: Appearance | None,
) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko.sign.fields import MDPPerm
    from pyhanko_certvalidator import ValidationContext

    # One per signature: it collects the CRLs and OCSP responses fetched for this document, and
    # its HTTP sessions belong to this event loop (closed below, before the loop ends).
    context = ValidationContext(
        trust_roots=credentials.trust_roots,
        other_certs=credentials.intermediates,
        allow_fetching=True,
    )
    try:
        timestamper = None
        if config.tsa_url:
            auth = (config.tsa_username, config.tsa_password) if config.tsa_username else None
            timestamper = timestamps.HTTPTimeStamper(config.tsa_url, timeout=TSA_TIMEOUT, auth=auth)
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=True,
            docmdp_permissions=MDPPerm.NO_CHANGES,
            reason=reason or None,
            location=location or None,
            embed_validation_info=True,
            validation_context=context,
            use_pades_lta=timestamper is not None,
            timestamp_field_name=TIMESTAMP_FIELD_NAME,
        )
        field_spec = None
        stamp_style = None
        if appearance is not None:
            field_spec = fields.SigFieldSpec(
                FIELD_NAME, on_page=appearance.page, box=appearance.box
            )
            stamp_style = _stamp_style(appearance)
        signer = signers.PdfSigner(
            meta,
            credentials.signer,
            timestamper=timestamper,
            stamp_style=stamp_style,
            new_field_spec=field_spec,
        )
        # Without an output stream, pyHanko writes the signed document to a new BytesIO.
        out: io.BytesIO = await signer.async_sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)))
        return out.getvalue()
    finally:
        await context.aclose()


@functools.lru_cache(maxsize=4)
def _seal_image(data: bytes) -> Any:
    """The seal ``data`` (a PNG) decoded once per process, as RGBA: pyHanko keeps the alpha
    channel as a soft mask (a palette PNG's transparency would be lost, and the seal would hide
    the page under it). pyHanko only reads it (a PIL image; no types, so Any). Not resampled:
    a smooth downscale of a flat-coloured seal compresses worse than the original."""
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGBA")


def _stamp_style(appearance: Appearance) -> Any:
    """A pyHanko stamp style drawing ``appearance``'s image where it says, and nothing else."""
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.stamp import StaticStampStyle

    if appearance.image is None:
        return StaticStampStyle(border_width=0)
    image = _seal_image(appearance.image)
    left, _bottom, right, _top = appearance.box
    pad = round(appearance.padding)  # pyHanko's margins are whole points
    return StaticStampStyle(
        background=PdfImage(image),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(
                left=pad,
                right=round(right - left - pad - appearance.image_width),
                top=pad,
                bottom=pad,
            ),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
    )


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
