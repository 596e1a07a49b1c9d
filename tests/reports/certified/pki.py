"""A test PKI with live services, for long-term signatures: certomancer serves a timestamp
authority, CRLs and an OCSP responder over real HTTP on 127.0.0.1, from a thread of the test
process (certomancer's aiohttp "animator").

The hierarchy: a root CA; an intermediate CA under it; the evaluation office's signing
certificate under the intermediate (valid one year from today, with a CRL distribution point and
an OCSP responder); the timestamp authority under the root (with a CRL distribution point). The
keys are made fresh for each test session; the certificates carry the server's real address.
"""

from __future__ import annotations

import asyncio
import datetime
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from certomancer.integrations.aiohttp_animator import build_animator_app
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ARCH = "gce"
LONG_AGO = "2020-01-01T00:00:00+0000"
FAR_AHEAD = "2100-01-01T00:00:00+0000"


@dataclass(frozen=True)
class LivePKI:
    url: str  # http://127.0.0.1:<port>
    folder: Path
    signer_key: Path
    signer_cert: Path
    chain: Path  # the intermediate and the root, PEM: REPORT_SIGNING_CHAIN
    root: Path
    tsa_cert: Path
    signer_not_after: datetime.datetime
    requests: list[str]  # the paths the server answered, in order

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/{ARCH}/tsa/tsa"


def _key_usage(*usages: str) -> dict[str, Any]:
    return {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": list(usages)},
    }


def _crl_from(repo: str) -> dict[str, Any]:
    return {
        "id": "crl_distribution_points",
        "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": [repo]}},
    }


def _config(folder: Path, url: str, signer_from: str, signer_to: str) -> dict[str, Any]:
    keys = {}
    for name in ("root", "interm", "ocsp", "tsa", "signer"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (folder / f"{name}.key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        keys[name] = {"path": f"{name}.key.pem"}
    long = {"valid-from": LONG_AGO, "valid-to": FAR_AHEAD}
    ca = [{"id": "basic_constraints", "critical": True, "value": {"ca": True}}]
    return {
        "external-url-prefix": url,
        "keysets": {ARCH: {"path-prefix": str(folder), "keys": keys}},
        "pki-architectures": {
            ARCH: {
                "keyset": ARCH,
                "entity-defaults": {
                    "country-name": "CN",
                    "organization-name": "govcloud_eval test PKI",
                },
                "entities": {
                    "root": {"common-name": "Test Root CA"},
                    "interm": {"common-name": "Test Intermediate CA"},
                    "ocsp": {"common-name": "Test OCSP Responder"},
                    "tsa": {"common-name": "Test Timestamp Authority"},
                    "signer": {"common-name": "测试评估办公室 Test Evaluation Office"},
                },
                "certs": {
                    "root": {
                        "subject": "root",
                        "issuer": "root",
                        "validity": long,
                        "extensions": [*ca, _key_usage("key_cert_sign", "crl_sign")],
                    },
                    "interm": {
                        "issuer": "root",
                        "validity": long,
                        "extensions": [
                            *ca,
                            _key_usage("key_cert_sign", "crl_sign"),
                            _crl_from("root"),
                        ],
                    },
                    "ocsp": {
                        "issuer": "interm",
                        "validity": long,
                        "extensions": [
                            _key_usage("digital_signature"),
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["ocsp_signing"],
                            },
                            {"id": "ocsp_no_check"},
                        ],
                    },
                    "tsa": {
                        "issuer": "root",
                        "validity": long,
                        "extensions": [
                            _key_usage("digital_signature"),
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["time_stamping"],
                            },
                            _crl_from("root"),
                        ],
                    },
                    "signer": {
                        "issuer": "interm",
                        "validity": {"valid-from": signer_from, "valid-to": signer_to},
                        "extensions": [
                            _key_usage("digital_signature", "non_repudiation"),
                            _crl_from("interm"),
                            {
                                "id": "authority_information_access",
                                "smart-value": {
                                    "schema": "aia-urls",
                                    "params": {"ocsp-responder-names": ["interm"]},
                                },
                            },
                        ],
                    },
                },
                "services": {
                    "ocsp": {
                        "interm": {
                            "for-issuer": "interm",
                            "responder-cert": "ocsp",
                            "signing-key": "ocsp",
                        }
                    },
                    "crl-repo": {
                        "root": {
                            "for-issuer": "root",
                            "signing-key": "root",
                            "simulated-update-schedule": "P90D",
                        },
                        "interm": {
                            "for-issuer": "interm",
                            "signing-key": "interm",
                            "simulated-update-schedule": "P30D",
                        },
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }


def _serve(app: web.Application, sock: socket.socket) -> tuple[asyncio.AbstractEventLoop, Any]:
    """Serves ``app`` on ``sock`` from a daemon thread with an event loop of its own."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(app)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="certomancer", daemon=True)
    thread.start()
    if not ready.wait(15):
        raise RuntimeError("the certomancer server did not start")
    return loop, thread


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePKI]:
    folder = tmp_path_factory.mktemp("pki")
    # Bound first, so that the certificates can carry the port the server listens on.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    today = datetime.datetime.now(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    not_after = today + datetime.timedelta(days=365)
    stamp = "%Y-%m-%dT%H:%M:%S+0000"
    config = CertomancerConfig(
        _config(
            folder,
            url,
            (today - datetime.timedelta(days=1)).strftime(stamp),
            not_after.strftime(stamp),
        ),
        key_search_dir=str(folder),
    )
    arch = config.get_pki_arch(ArchLabel(ARCH))

    def write(name: str, *labels: str) -> Path:
        path = folder / name
        path.write_bytes(
            b"".join(
                x509.load_der_x509_certificate(arch.get_cert(CertLabel(label)).dump()).public_bytes(
                    serialization.Encoding.PEM
                )
                for label in labels
            )
        )
        return path

    requests: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        requests.append(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    app = build_animator_app(config.pki_archs, with_web_ui=False)
    app.middlewares.append(record)
    loop, thread = _serve(app, sock)
    try:
        yield LivePKI(
            url=url,
            folder=folder,
            signer_key=folder / "signer.key.pem",
            signer_cert=write("signer.cert.pem", "signer"),
            chain=write("chain.pem", "interm", "root"),
            root=write("root.cert.pem", "root"),
            tsa_cert=write("tsa.cert.pem", "tsa"),
            signer_not_after=not_after,
            requests=requests,
        )
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
