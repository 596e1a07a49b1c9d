"""Signals of the audit trail, for the apps above it that act on what happened.

``event_recorded`` is sent by ``audit_record`` for every event, inside the transaction of the
change it records (``sender`` is ``AuditEvent``, with ``event`` and ``target``, the object the
event is about, or None). A receiver that acts on the change must wait for the commit
(``transaction.on_commit``): the change may still be rolled back.
"""

from __future__ import annotations

from django.dispatch import Signal

event_recorded = Signal()
