"""State changes that two people clicking at once cannot make twice, recorded in the audit trail.

``transition`` is the one way the portal moves a row from one state to another: a conditional
``UPDATE … WHERE state IN (…)`` that changes the row only if it is still in an expected state,
so that of two concurrent requests exactly one wins and the other is told the state the row is
really in. With ``action`` it writes the audit record in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from accounts.models import User

from .services import audit_record

M = TypeVar("M", bound=models.Model)


def _label(model: type[models.Model], field: str, value: Any) -> str:
    model_field = model._meta.get_field(field)
    # A state is a column with choices, never a relation (which has no ``flatchoices``).
    assert isinstance(model_field, models.Field)
    choices = dict(model_field.flatchoices)
    return str(choices.get(value, value))


@transaction.atomic
def transition(
    obj: M,
    *,
    from_states: Iterable[str],
    to_state: str,
    field: str = "state",
    extra: Mapping[str, Any] | None = None,
    action: str = "",
    acting_user: User | None = None,
    changes: Mapping[str, Any] | None = None,
    refusal: Callable[[str | None], str] | None = None,
) -> M:
    """Moves ``obj`` to ``to_state`` (and sets the ``extra`` fields) only if its ``field`` is
    still one of ``from_states``; updates ``obj`` in memory to match.

    Raises ``ValidationError`` (code ``"wrong_state"``), with nothing changed, when another
    request moved the row first or the row is gone: ``refusal(current state or None)`` if given,
    otherwise a message naming the state the row is really in. With ``action``, records
    ``{"from": old, "to": new, **changes}`` in the audit trail in the same transaction.
    """
    model = type(obj)
    expected = list(from_states)
    values = {field: to_state, **(extra or {})}
    manager = model._default_manager
    old: str | None
    if len(expected) == 1:
        # The update below succeeds only from this state: the audit's "from" is exact.
        old = expected[0]
    else:
        # Lock the row to know which of the states it leaves (the object in memory may be stale).
        old = manager.select_for_update().filter(pk=obj.pk).values_list(field, flat=True).first()
    changed = manager.filter(pk=obj.pk, **{f"{field}__in": expected}).update(**values)
    if changed != 1:
        current = manager.filter(pk=obj.pk).values_list(field, flat=True).first()
        if refusal is not None:
            message = refusal(current)
        else:
            message = _("This cannot be done now: it is %(state)s.") % {
                "state": _label(model, field, current) if current is not None else _("gone")
            }
        raise ValidationError(message, code="wrong_state")
    for key, value in values.items():
        setattr(obj, key, value)
    if action:
        audit_record(
            action=action,
            acting_user=acting_user,
            target=obj,
            changes={"from": old, "to": to_state, **(changes or {})},
        )
    return obj
