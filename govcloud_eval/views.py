from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The state of everything the portal needs; 503 when any of it is missing."""
    checks = health.run_all()
    ok = all(check["ok"] for check in checks.values())
    missing = [name for name, check in checks.items() if not check["ok"]]
    payload = {"status": "ok" if ok else "unavailable", "missing": missing, "checks": checks}
    return JsonResponse(
        payload, status=200 if ok else 503, json_dumps_params={"ensure_ascii": False}
    )
