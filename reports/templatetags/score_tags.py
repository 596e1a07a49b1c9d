"""``{% score_result_for assessment user as result %}``: the current score of an assessment, for
the pages of the apps below reports, which never import it."""

from __future__ import annotations

from django import template

from accounts.models import User
from assessments.models import Assessment
from reports.scoring.models import ScoreResult
from reports.scoring.selectors import score_result_for as _score_result_for

register = template.Library()


@register.simple_tag
def score_result_for(assessment: Assessment, user: User) -> ScoreResult | None:
    """The current result, or None when there is none or ``user`` may not read it yet."""
    if not getattr(user, "is_authenticated", False):
        return None
    return _score_result_for(user=user, assessment=assessment)
