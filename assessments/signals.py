"""What the evaluation workflow announces to the apps above it, which it never imports.

``scoring_inputs_changed`` is sent (inside the transaction of the change) when an assessment's
ratings are complete or a settlement of a scored assessment changes: whatever computes scores
(``reports.scoring``) listens and re-scores the assessment once the transaction commits.
Receivers take ``sender`` (the ``Assessment`` class) and ``assessment_id``.
"""

from __future__ import annotations

from django.dispatch import Signal

scoring_inputs_changed = Signal()
