"""A real ClamAV daemon for the malware-scan tests, started by the test itself.

There is no network for freshclam here, so each clamd gets a folder of its own: a configuration
file (in the foreground, on a TCP port of this suite's and a unix socket in the folder), a log,
and a signature database of one signature written by the test (``TEST_SIGNATURE``: any file that
holds those bytes is "infected"). The daemon is ready when it answers PING with PONG.

Without the ``clamd`` binary (Debian package ``clamav-daemon``; ``scripts/bootstrap.sh test``
installs it) the tests are skipped, saying so, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assessments.evidence.scanning import ClamdScanner, ScanError

# The bytes the test database calls malware; a file holding them is found infected.
TEST_SIGNATURE = b"GOVCLOUD-EVAL-MALWARE-TEST-SIGNATURE-5c0e"
# What clamd names the finding: the signature's name, marked as not from ClamAV's own databases.
SIGNATURE_NAME = "GceTest.Malware.Sample.UNOFFICIAL"
# clamd's StreamMaxLength here: small, so that a test can go over it.
STREAM_MAX_BYTES = 1024 * 1024
# This suite's ports (8641-8649): the shared daemon, one a test may stop, one where none listens.
SHARED_PORT, OWN_PORT, CLOSED_PORT = 8641, 8642, 8649


def clamd_binary() -> str:
    """The clamd program; skips the test (fails it in CI) when it is not installed."""
    found = shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    message = (
        "clamd is not installed: the malware-scan tests need ClamAV's daemon "
        "(Debian: apt-get install clamav-daemon, or scripts/bootstrap.sh test)."
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable: skip() raises


class ClamdProcess:
    """One clamd with its own configuration and test signature under ``folder``."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.socket_path = folder / "clamd.sock"
        self.log_path = folder / "clamd.log"
        self.config_path = folder / "clamd.conf"
        database = folder / "db"
        database.mkdir(parents=True, exist_ok=True)
        # An .ndb body signature: name, any file type (0), anywhere (*), the bytes in hex.
        (database / "gce-test.ndb").write_text(
            f"GceTest.Malware.Sample:0:*:{TEST_SIGNATURE.hex()}\n"
        )
        self.config_path.write_text(
            "\n".join(
                [
                    "Foreground yes",
                    f"TCPSocket {port}",
                    "TCPAddr 127.0.0.1",
                    f"LocalSocket {self.socket_path}",
                    f"DatabaseDirectory {database}",
                    f"LogFile {self.log_path}",
                    f"PidFile {folder / 'clamd.pid'}",
                    f"StreamMaxLength {STREAM_MAX_BYTES}",
                    "",
                ]
            )
        )

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def unix_address(self) -> str:
        return f"unix://{self.socket_path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 60) -> None:
        self.process = subprocess.Popen(
            [clamd_binary(), f"--config-file={self.config_path}"],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "clamd.err").open("ab"),
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        scanner = ClamdScanner(self.address, timeout=2)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"clamd exited with status {self.process.returncode}:\n{self.log()}")
            try:
                if scanner.ping():
                    return
            except ScanError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"clamd did not answer PING within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        # Nobody listens any more once it has exited; wait until the port says so too.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.1)


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    """A clamd shared by the tests that only scan, on ``SHARED_PORT``."""
    daemon = ClamdProcess(tmp_path_factory.mktemp("clamd"), SHARED_PORT)
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def own_clamd(tmp_path: Path) -> Iterator[ClamdProcess]:
    """A clamd for one test, which may stop and start it (on ``OWN_PORT``); not yet started."""
    daemon = ClamdProcess(tmp_path / "clamd", OWN_PORT)
    yield daemon
    daemon.stop()
