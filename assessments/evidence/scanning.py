"""Malware scanning of evidence files: a small interface, and ClamAV's daemon behind it.

A **scanner** reads a stored file as a stream and answers a ``Verdict`` (clean, or infected with
the name of what it found), or raises ``ScanError`` when it could not finish (the daemon is down,
timed out, refused the file). ``scanner_from_settings`` gives the scanner the settings name
(``MALWARE_SCANNER``: the dotted path of a class with a ``from_settings()`` constructor, set
when ``CLAMD_ADDRESS`` is), or None when files are not scanned. Another engine is one more class
of the same shape.

``ClamdScanner`` speaks clamd's ``INSTREAM`` command over TCP (``tcp://host:port``) or a unix
socket (``unix:///run/clamav/clamd.ctl``): ``zINSTREAM\\0``, then the file in chunks, each
preceded by its length as four big-endian bytes, then a zero length; clamd answers
``stream: OK``, ``stream: <signature> FOUND`` or ``<reason> ERROR``, ended by a NUL. The file is
read chunk by chunk from wherever it is stored (an S3 object's body too), never whole. clamd
refuses a stream longer than its ``StreamMaxLength`` (25 MB unless configured): it answers an
error and closes the connection, which ends as a ``ScanError`` naming the limit.

Nothing here touches the database; the services record what the scanner says.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import IO, Protocol, runtime_checkable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

# Far below any StreamMaxLength clamd accepts (its smallest useful setting is kilobytes).
CHUNK_BYTES = 64 * 1024
REPLY_MAX_BYTES = 4096


@dataclass(frozen=True)
class Verdict:
    infected: bool
    signature: str = ""  # what was found, as the engine names it


class ScanError(Exception):
    """The scanner could not give a verdict (unreachable, timed out, refused the file). Worth
    trying again later: the file stays unscanned."""


@runtime_checkable
class Scanner(Protocol):
    """What the evidence services need of a malware scanner."""

    # Recorded with each verdict ("clamd tcp://127.0.0.1:3310").
    @property
    def description(self) -> str: ...

    def scan(self, stream: IO[bytes]) -> Verdict:
        """The verdict on the bytes ``stream`` reads to its end. Raises ScanError."""
        ...


def scanning_enabled() -> bool:
    """Whether a scanner is configured: new files then wait for their scan."""
    return bool(getattr(settings, "MALWARE_SCANNER", ""))


def scanner_from_settings() -> Scanner | None:
    """The configured scanner (``settings.MALWARE_SCANNER``), or None when evidence is not
    scanned. Read at each call, so a changed setting applies at once."""
    path = getattr(settings, "MALWARE_SCANNER", "") or ""
    if not path:
        return None
    factory = import_string(path)
    scanner = factory.from_settings()
    if not isinstance(scanner, Scanner):
        raise ImproperlyConfigured(f"MALWARE_SCANNER ({path}) does not build a Scanner.")
    return scanner


# ----------------------------------------------------------------------------------------------
# clamd


@dataclass(frozen=True)
class ClamdScanner:
    """A client of one clamd, at ``address`` (``tcp://host:port`` or ``unix:///path``), that
    gives up on any connect, send or receive taking longer than ``timeout`` seconds."""

    address: str
    timeout: float = 120.0

    @classmethod
    def from_settings(cls) -> ClamdScanner:
        return cls(address=settings.CLAMD_ADDRESS, timeout=float(settings.CLAMD_TIMEOUT))

    @property
    def description(self) -> str:
        return f"clamd {self.address}"

    def _connect(self) -> socket.socket:
        parts = urlsplit(self.address)
        try:
            if parts.scheme == "tcp" and parts.hostname and parts.port:
                return socket.create_connection((parts.hostname, parts.port), self.timeout)
            if parts.scheme == "unix" and parts.path:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(parts.path)
                except BaseException:
                    sock.close()
                    raise
                return sock
        except OSError as error:
            raise ScanError(f"clamd at {self.address} cannot be reached: {error}") from error
        raise ImproperlyConfigured(
            f"CLAMD_ADDRESS {self.address!r} is neither tcp://host:port nor unix:///path."
        )

    def _command(self, command: bytes, body: IO[bytes] | None = None) -> str:
        """Sends ``z<command>\\0`` (and the stream of ``body``) and returns clamd's answer."""
        with self._connect() as sock:
            sock.settimeout(self.timeout)
            try:
                sock.sendall(b"z" + command + b"\0")
                if body is not None:
                    self._send_stream(sock, body)
            except (BrokenPipeError, ConnectionResetError) as error:
                # clamd closes the stream once it is over StreamMaxLength, after its answer.
                reply = self._reply(sock, allow_closed=True)
                if reply:
                    return reply
                raise ScanError(
                    f"clamd at {self.address} closed the connection: {error}"
                ) from error
            except TimeoutError as error:
                raise ScanError(f"clamd at {self.address} timed out ({self.timeout} s).") from error
            except OSError as error:
                raise ScanError(f"clamd at {self.address} failed: {error}") from error
            return self._reply(sock)

    @staticmethod
    def _send_stream(sock: socket.socket, body: IO[bytes]) -> None:
        while True:
            chunk = body.read(CHUNK_BYTES)
            if not chunk:
                break
            sock.sendall(struct.pack(">I", len(chunk)) + chunk)
        sock.sendall(struct.pack(">I", 0))

    def _reply(self, sock: socket.socket, *, allow_closed: bool = False) -> str:
        received = b""
        try:
            while b"\0" not in received and len(received) < REPLY_MAX_BYTES:
                part = sock.recv(REPLY_MAX_BYTES)
                if not part:
                    break
                received += part
        except TimeoutError as error:
            raise ScanError(f"clamd at {self.address} timed out ({self.timeout} s).") from error
        except OSError as error:
            if allow_closed:
                return received.split(b"\0")[0].decode("utf-8", "replace").strip()
            raise ScanError(f"clamd at {self.address} failed: {error}") from error
        reply = received.split(b"\0")[0].decode("utf-8", "replace").strip()
        if not reply and not allow_closed:
            raise ScanError(f"clamd at {self.address} closed the connection without an answer.")
        return reply

    def ping(self) -> bool:
        """Whether clamd answers PING with PONG. Raises ScanError when it cannot be reached."""
        return self._command(b"PING") == "PONG"

    def scan(self, stream: IO[bytes]) -> Verdict:
        reply = self._command(b"INSTREAM", stream)
        return parse_reply(reply, self.address)


def parse_reply(reply: str, address: str) -> Verdict:
    """The verdict in clamd's answer to INSTREAM; raises ScanError for an error or an answer
    it does not know."""
    if reply.endswith(" ERROR"):
        reason = reply.removesuffix(" ERROR").strip()
        if "size limit exceeded" in reason:
            reason += " (raise StreamMaxLength in clamd.conf to the largest evidence file)"
        raise ScanError(f"clamd at {address}: {reason}")
    body = reply.removeprefix("stream:").strip()
    if body == "OK":
        return Verdict(infected=False)
    if body.endswith(" FOUND"):
        return Verdict(infected=True, signature=body.removesuffix(" FOUND").strip())
    raise ScanError(f"clamd at {address} answered {reply!r}.")
