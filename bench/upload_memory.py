"""How much memory does the portal's server process take to receive a 1 GiB evidence upload,
stored on the local file system and stored in S3 object storage?

Starts the portal (``manage.py runserver --noreload``, DEBUG on) on a free 127.0.0.1 port with
a throw-away SQLite database, MEDIA_ROOT and TMPDIR under a temporary directory; creates a
vendor, a cloud, an open campaign and an assessment through the workflow services; signs in
through the login form; then streams one generated CSV file of 1 GiB (a body produced chunk by
chunk, never held in memory here either) to the evidence upload endpoint, sampling the server
process's resident memory (VmRSS in /proc/<pid>/status) every 20 ms.

Does it twice: with files under MEDIA_ROOT, then with ``S3_BUCKET`` set to a fresh bucket of the
local SeaweedFS (``scripts/services.sh`` starts it when 127.0.0.1:8333 does not answer), where the
file goes from the upload's temporary file to the bucket as a multipart upload.

Prints, for each, the baseline and peak RSS, the increase, the time and the throughput, and checks
that the server recorded the SHA-256 computed here; with S3 also that the object in the bucket
has it, went up in parts, and that nothing was written under MEDIA_ROOT. Exits 1 when an increase
reaches its target (64 MiB on the local disk, 32 MiB with S3) or an upload fails.

    make bench                                  # or: .venv/bin/python bench/upload_memory.py
    .venv/bin/python bench/upload_memory.py --mib 256 --only s3
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _support import row, write_rows

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
MIB = 1024 * 1024
TARGET_MIB = 64
# With S3 the file goes from the upload's temporary file to the object store in 8 MiB parts.
S3_TARGET_MIB = 32
S3_ENDPOINT = "http://127.0.0.1:8333"
CHUNK = MIB

SETUP = r"""
import datetime, json
from accounts.models import Organisation, User
from assessments import services
from assessments.models import Campaign, Cloud
from assessments.selectors import indicators_of
from indicators.models import Framework
from indicators.services import default_catalogs_load

default_catalogs_load(acting_user=None)
framework = Framework.objects.get(
    kind=Framework.Kind.COMPREHENSIVE, state=Framework.State.PUBLISHED
)
office = Organisation.objects.create(kind=Organisation.Kind.OFFICE, name="评估办公室")
vendor_org = Organisation.objects.create(kind=Organisation.Kind.VENDOR, name="基准测试云服务商")
owner = Organisation.objects.create(
    kind=Organisation.Kind.GOVERNMENT, name="济南市大数据局", division_code="370100",
    admin_level="prefecture",
)
admin = User.objects.create_user("bench_admin", password=PASSWORD, role=User.Role.ADMIN,
                                 organisation=office)
vendor = User.objects.create_user("bench_vendor", password=PASSWORD, role=User.Role.VENDOR,
                                  organisation=vendor_org)
cloud = services.cloud_create(name="基准测试政务云", owner=owner, vendors=[vendor_org],
                              level=Cloud.Level.MUNICIPAL, acting_user=admin)
today = datetime.date.today()
campaign = services.campaign_create(
    name="上传内存基准", year=today.year, framework=framework,
    opens_on=today - datetime.timedelta(days=1), closes_on=today + datetime.timedelta(days=30),
    acting_user=admin,
)
services.campaign_set_state(campaign=campaign, state=Campaign.State.OPEN, acting_user=admin)
(assessment,) = services.campaign_add_clouds(campaign=campaign, clouds=[cloud], acting_user=admin)
indicator = indicators_of(assessment=assessment)[0]
print("BENCH " + json.dumps({"assessment": assessment.pk, "indicator": indicator.pk}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self.samples += 1
            time.sleep(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


class Session:
    """Just enough of a browser: cookies, the login form, one upload."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def _connection(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.port, timeout=timeout)

    def _remember(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        connection = self._connection()
        all_headers = {"Cookie": self._cookie_header(), **(headers or {})}
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        self._remember(response)
        connection.close()
        return response.status, data

    def sign_in(self, username: str, password: str) -> None:
        status, page = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"login page: {status}")
        form = urllib.parse.urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": token.group(1).decode(),
            }
        ).encode()
        status, _ = self.request(
            "POST", "/login/", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in failed: {status}")

    def upload(self, path: str, name: str, parts: Iterator[bytes], size: int, timeout: float):
        boundary = "----bench" + secrets.token_hex(8)
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        connection = self._connection(timeout)
        connection.putrequest("POST", path)
        for key, value in {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
            "Cookie": self._cookie_header(),
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
            "X-Requested-With": "XMLHttpRequest",
            "Accept": "application/json",
        }.items():
            connection.putheader(key, value)
        connection.endheaders()
        connection.send(head)
        for part in parts:
            connection.send(part)
        connection.send(tail)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, data


def csv_chunks(total: int, digest: hashlib._Hash) -> Iterator[bytes]:
    """``total`` bytes of CSV text, one 1 MiB chunk at a time, hashed on the way out."""
    line = "2026-06-30,370100,济南政务云计算中心,vm-{:06d},cpu 37.5%,mem 61.2%,ok\n"
    block = "".join(line.format(i) for i in range(20000)).encode()[:CHUNK]
    sent = 0
    while sent < total:
        part = block[: min(CHUNK, total - sent)]
        digest.update(part)
        sent += len(part)
        yield part


@dataclass
class Measurement:
    """What one upload to one portal showed."""

    status: int
    body: bytes
    result: dict[str, Any]
    expected_sha256: str
    baseline_kib: int
    peak_kib: int
    after_kib: int
    samples: int
    hwm_reset: bool
    seconds: float

    @property
    def increase_mib(self) -> float:
        return (self.peak_kib - self.baseline_kib) / 1024


def measure(workdir: Path, storage_env: dict[str, str], size: int, timeout: float) -> Measurement:
    """Prepares a throw-away portal in ``workdir`` storing files as ``storage_env`` says, starts
    its server, and uploads ``size`` bytes while sampling the server's memory."""
    (workdir / "tmp").mkdir(parents=True)
    # As a deployment's: /healthz checks that MEDIA_ROOT exists (with S3 it must stay empty).
    (workdir / "media").mkdir()
    password = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "TMPDIR": str(workdir / "tmp"),  # upload temp files next to MEDIA_ROOT: a rename
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **storage_env,
    }
    server: subprocess.Popen[bytes] | None = None
    try:
        print(f"Preparing a throw-away portal in {workdir} …", flush=True)
        manage = [PYTHON, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
        setup = subprocess.run(
            [*manage, "shell", "-c", f"PASSWORD = {password!r}\n{SETUP}"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        ids = json.loads(setup.stdout.split("BENCH ", 1)[1])

        port = free_port()
        log = open(workdir / "server.log", "wb")  # noqa: SIM115 (closed with the directory)
        server = subprocess.Popen(
            [*manage, "runserver", f"{HOST}:{port}", "--noreload"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        session = Session(port)
        deadline = time.monotonic() + 60
        while True:
            try:
                if session.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start; see server.log")
            time.sleep(0.2)

        session.sign_in("bench_vendor", password)
        url = f"/assessments/{ids['assessment']}/indicators/{ids['indicator']}/evidence/"
        # Warm up every code path once (templates, the upload handler, storage; with S3 a
        # multipart upload, so that boto3's transfer manager and its threads exist already).
        session.request("GET", f"/assessments/{ids['assessment']}/evidence/")
        warm_up = 16 * MIB
        status, body = session.upload(
            url, "warm-up.csv", csv_chunks(warm_up, hashlib.sha256()), warm_up, 60
        )
        if status != 201:
            raise RuntimeError(f"warm-up upload: {status} {body[:300]!r}")
        time.sleep(1)
        readings = []
        for _ in range(10):
            readings.append(rss_kib(server.pid))
            time.sleep(0.05)
        baseline = min(readings)
        try:
            # Reset the kernel's own peak counter (VmHWM) so that no spike escapes sampling.
            Path(f"/proc/{server.pid}/clear_refs").write_text("5")
            hwm_reset = True
        except OSError:
            hwm_reset = False

        print(
            f"Server pid {server.pid} on http://{HOST}:{port}; uploading {size // MIB} MiB …",
            flush=True,
        )
        sampler = Sampler(server.pid)
        sampler.start()
        digest = hashlib.sha256()
        started = time.monotonic()
        status, body = session.upload(
            url, "bench-1GiB.csv", csv_chunks(size, digest), size, timeout
        )
        seconds = time.monotonic() - started
        sampler.stop()
        peak = sampler.peak
        if hwm_reset:
            peak = max(peak, rss_kib(server.pid, "VmHWM"))
        return Measurement(
            status=status,
            body=body,
            result=json.loads(body) if body.startswith(b"{") else {},
            expected_sha256=digest.hexdigest(),
            baseline_kib=baseline,
            peak_kib=peak,
            after_kib=rss_kib(server.pid),
            samples=sampler.samples,
            hwm_reset=hwm_reset,
            seconds=seconds,
        )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def report(title: str, m: Measurement, size: int, target_mib: int) -> bool:
    """Prints the figures of one measurement; True when the upload was stored intact and the
    memory grew by less than ``target_mib``."""
    print()
    print(f"  {title}")
    print(f"  upload            {size // MIB} MiB in one request, HTTP {m.status}")
    print(f"  stored sha256     {m.result.get('sha256', '—')}")
    print(f"  expected sha256   {m.expected_sha256}")
    print(f"  baseline RSS      {m.baseline_kib / 1024:8.1f} MiB")
    print(
        f"  peak RSS          {m.peak_kib / 1024:8.1f} MiB"
        f"  ({m.samples} samples{', VmHWM reset before' if m.hwm_reset else ''})"
    )
    print(f"  RSS afterwards    {m.after_kib / 1024:8.1f} MiB")
    print(f"  increase          {m.increase_mib:8.1f} MiB   (target < {target_mib} MiB)")
    print(f"  time              {m.seconds:8.1f} s")
    print(f"  throughput        {size / MIB / m.seconds:8.1f} MiB/s")
    if m.status != 201:
        print(m.body[:500].decode(errors="replace"))
    return (
        m.status == 201
        and m.result.get("sha256") == m.expected_sha256
        and m.result.get("size") == size
        and m.increase_mib < target_mib
    )


def s3_server() -> tuple[str, str, str]:
    """The endpoint and credentials of the local SeaweedFS (started by scripts/services.sh if
    it is not running): ``TEST_S3_*`` when set, as `make test` sets them, otherwise the test
    identity of scripts/seaweedfs-s3.json."""
    subprocess.run([str(ROOT / "scripts" / "services.sh")], check=True)
    identity = json.loads((ROOT / "scripts" / "seaweedfs-s3.json").read_text())["identities"][0]
    credentials = identity["credentials"][0]
    return (
        os.environ.get("TEST_S3_ENDPOINT_URL", S3_ENDPOINT),
        os.environ.get("TEST_S3_ACCESS_KEY_ID", credentials["accessKey"]),
        os.environ.get("TEST_S3_SECRET_ACCESS_KEY", credentials["secretKey"]),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=1024, help="upload size in MiB (1024)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the upload")
    parser.add_argument(
        "--only", choices=["local", "s3"], help="measure one storage only (default: both)"
    )
    parser.add_argument("--json", help="also write the figures to this file (see bench/summary.py)")
    args = parser.parse_args()
    size = args.mib * MIB
    ok = True
    rows: list[dict[str, object]] = []

    if args.only in (None, "local"):
        workdir = Path(tempfile.mkdtemp(prefix="govcloud-bench-"))
        try:
            local = measure(workdir, {}, size, args.timeout)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        ok &= report("Local file system (MEDIA_ROOT)", local, size, TARGET_MIB)
        rows.append(
            row(
                f"server RSS increase, {args.mib} MiB upload to disk (MiB)",
                None,
                local.increase_mib,
                f"< {TARGET_MIB}",
                local.increase_mib < TARGET_MIB,
            )
        )

    if args.only in (None, "s3"):
        import boto3
        from botocore.config import Config

        endpoint, key, secret = s3_server()
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        bucket = f"gce-bench-{secrets.token_hex(6)}"
        client.create_bucket(Bucket=bucket)
        workdir = Path(tempfile.mkdtemp(prefix="govcloud-bench-s3-"))
        storage_env = {
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": endpoint,
            "S3_ACCESS_KEY_ID": key,
            "S3_SECRET_ACCESS_KEY": secret,
        }
        try:
            remote = measure(workdir, storage_env, size, args.timeout)
            media = workdir / "media"
            under_media = [p for p in media.rglob("*") if p.is_file()] if media.exists() else []
            objects = client.list_objects_v2(Bucket=bucket).get("Contents", [])
            big = max(objects, key=lambda o: o["Size"]) if objects else None
            in_bucket = hashlib.sha256()
            if big is not None:
                body = client.get_object(Bucket=bucket, Key=big["Key"])["Body"]
                for chunk in body.iter_chunks(8 * MIB):
                    in_bucket.update(chunk)
        finally:
            for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
            client.delete_bucket(Bucket=bucket)
            shutil.rmtree(workdir, ignore_errors=True)
        ok &= report(f"S3 (SeaweedFS at {endpoint})", remote, size, S3_TARGET_MIB)
        etag = big["ETag"].strip('"') if big is not None else "—"
        stored = big is not None and in_bucket.hexdigest() == remote.expected_sha256
        print(f"  object            {big['Key'] if big else '—'}, ETag {etag}")
        print(f"  sha256 in bucket  {in_bucket.hexdigest() if big else '—'}")
        print(f"  under MEDIA_ROOT  {len(under_media)} files")
        ok &= stored and "-" in etag and not under_media
        rows.append(
            row(
                f"server RSS increase, {args.mib} MiB upload to S3 (MiB)",
                None,
                remote.increase_mib,
                f"< {S3_TARGET_MIB}",
                remote.increase_mib < S3_TARGET_MIB and stored,
            )
        )

    if args.json:
        write_rows(args.json, rows)

    print(f"\n  {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
