from __future__ import annotations

from celery import shared_task

from . import chain


@shared_task(name="audit.seal_and_verify")
def seal_and_verify_task(requested_by: str = "") -> dict[str, object]:
    """Seals what is pending (records whose sealing after commit failed) and checks the whole
    chain, keeping the result for the auditor's page. Hourly, and on the auditor's request."""
    sealed = chain.seal_pending()
    result = chain.verify_and_record(requested_by=requested_by)
    return {
        "sealed": sealed,
        "intact": result.intact,
        "checked": result.checked,
        "broken_seq": result.broken_seq,
    }
