"""Reads for the evaluation workflow. Every query a view or API makes starts here, scoped to the
user: outsiders get nothing (and views turn that into 404)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Protocol

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts import policy
from accounts.models import Organisation, User
from accounts.policy import Action
from govcloud_eval.listing import annotated
from indicators.models import Indicator

from .models import (
    Answer,
    Assessment,
    Assignment,
    Campaign,
    Cloud,
    ConflictDeclaration,
    Evidence,
    Rating,
    Settlement,
)

# ----------------------------------------------------------------------------------------------
# Access


def assessment_list_for(*, user: User) -> QuerySet[Assessment]:
    """The assessments a user may see (``accounts.policy.assessment_scope``): all for admins,
    those assigned to an assessor, their organisation's clouds' for vendors and owners (nothing
    of a campaign still in draft), none for auditors."""
    scope = policy.assessment_scope(user)
    base = Assessment.objects.select_related(
        "campaign", "campaign__framework", "cloud", "cloud__owner"
    )
    return base.none() if scope.is_empty else base.filter(scope.q)


def current_assessors() -> Coalesce:
    """An annotation: the number of assessors an assessment has now (removed ones not counted),
    as a subquery, so that annotating it never multiplies the rows."""
    from django.db.models import IntegerField, OuterRef, Subquery

    current = (
        Assignment.objects.filter(assessment=OuterRef("pk"), removed_at__isnull=True)
        .order_by()
        .values("assessment")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(current, output_field=IntegerField()), 0)


def assessment_get_for(*, user: User, pk: int) -> Assessment:
    """The assessment if the user may see it; Http404 otherwise (never the object). It comes
    annotated ``current_assessors``, the number of assessors assigned now (the actions a page
    offers depend on it)."""
    try:
        return (
            assessment_list_for(user=user)
            .annotate(current_assessors=current_assessors())
            .get(pk=pk)
        )
    except Assessment.DoesNotExist:
        raise Http404 from None


def assignment_for(*, user: User, assessment: Assessment) -> Assignment | None:
    """The user's assignment to score ``assessment``, or None (also for anyone who never
    scores)."""
    if not policy.has_role_for(user, Action.RATING_SAVE):
        return None
    return Assignment.objects.filter(
        assessment=assessment, assessor=user, removed_at__isnull=True
    ).first()


def campaign_list_for(*, user: User) -> QuerySet[Campaign]:
    scope = policy.campaign_scope(user)
    base = Campaign.objects.select_related("framework")
    return base.none() if scope.is_empty else base.filter(scope.q)


def campaign_get_for(*, user: User, pk: int) -> Campaign:
    try:
        return campaign_list_for(user=user).get(pk=pk)
    except Campaign.DoesNotExist:
        raise Http404 from None


def evidence_get_for(*, user: User, pk: int) -> Evidence:
    """An evidence file the user may download: through an assessment the user may see."""
    scope = policy.evidence_scope(user)
    evidence = (
        None
        if scope.is_empty
        else Evidence.objects.select_related("assessment", "indicator")
        .filter(scope.q, pk=pk)
        .first()
    )
    if evidence is None:
        raise Http404
    return evidence


# ----------------------------------------------------------------------------------------------
# Indicators of an assessment


def evidence_by_indicator(*, assessment: Assessment) -> dict[int, list[Evidence]]:
    """Indicator id → the assessment's evidence files, by name and then version, in one query."""
    files: dict[int, list[Evidence]] = {}
    rows = (
        Evidence.objects.filter(assessment=assessment)
        .select_related("uploaded_by", "uploaded_by__organisation")
        .order_by("original_name", "version")
    )
    for item in rows:
        files.setdefault(item.indicator_id, []).append(item)
    return files


def indicators_of(*, assessment: Assessment) -> list[Indicator]:
    """The framework's indicators in catalog order, with dimension and rubric loaded: read once
    per assessment object (a page asks several times; a framework in use never changes)."""
    memo = vars(assessment)
    key = ("_indicators_of", assessment.campaign.framework_id)
    cached: list[Indicator] | None = memo.get("_indicators_of")
    if cached is None or memo.get("_indicators_key") != key:
        cached = list(
            Indicator.objects.filter(framework_id=assessment.campaign.framework_id)
            .select_related("dimension")
            .prefetch_related("rubric")
            .order_by("dimension__order", "order")
        )
        memo["_indicators_of"] = cached
        memo["_indicators_key"] = key
    return list(cached)


@dataclass
class MissingItem:
    indicator: Indicator
    problems: list[str] = field(default_factory=list)


def answers_missing(*, assessment: Assessment) -> list[MissingItem]:
    """What the vendor still has to fill in before submitting, indicator by indicator."""
    from django.utils.translation import gettext as _

    answers = {a.indicator_id: a for a in Answer.objects.filter(assessment=assessment)}
    missing: list[MissingItem] = []
    for indicator in indicators_of(assessment=assessment):
        answer = answers.get(indicator.pk)
        problems: list[str] = []
        if indicator.is_mandatory:
            if answer is None or answer.self_met is None:
                problems.append(_("say whether it is met"))
        elif answer is None or answer.self_rating is None:
            problems.append(_("a self-rating"))
        if indicator.is_quantitative and (answer is None or answer.value is None):
            problems.append(_("the measured value"))
        if answer is None or not answer.explanation.strip():
            problems.append(_("an explanation"))
        if problems:
            missing.append(MissingItem(indicator, problems))
    return missing


def ratings_missing(
    *, assignment: Assignment, ratings: dict[int, Rating] | None = None
) -> list[Indicator]:
    """The indicators the assessor has not rated completely; ``ratings`` (indicator id →
    rating) when the caller has read them already."""
    if ratings is None:
        ratings = {r.indicator_id: r for r in Rating.objects.filter(assignment=assignment)}
    missing = []
    for indicator in indicators_of(assessment=assignment.assessment):
        rating = ratings.get(indicator.pk)
        if rating is None:
            missing.append(indicator)
            continue
        rating.indicator = indicator
        if not rating.is_complete:
            missing.append(indicator)
    return missing


# ----------------------------------------------------------------------------------------------
# Consolidation


TWO_PLACES = Decimal("0.01")


@dataclass
class Consolidated:
    """The assessors' ratings of one indicator and what they amount to."""

    indicator_id: int
    ratings: list[int | None]
    mets: list[bool | None]
    # Exact: the mean of the assessors' ratings as a fraction (8/3, never 2.67), or the settled
    # rating. Only what is shown is rounded (``rating_shown``); scores are computed from this.
    rating: Fraction | None
    met: bool | None
    settled: bool
    disagreement: bool

    @property
    def rating_shown(self) -> Decimal | None:
        """The rating as pages print it: two places, half up (8/3 → 2.67)."""
        if self.rating is None:
            return None
        exact = Decimal(self.rating.numerator) / Decimal(self.rating.denominator)
        return exact.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


class Vote(Protocol):
    """What consolidation reads of a rating (or a settlement): a ``Rating`` row, or the two
    values alone when thousands are consolidated at once (campaign scoring)."""

    @property
    def rating(self) -> int | None: ...

    @property
    def met(self) -> bool | None: ...


class Rated(Protocol):
    """What consolidation reads of an indicator."""

    @property
    def pk(self) -> int: ...

    @property
    def is_mandatory(self) -> bool: ...


def consolidate(
    *,
    indicator: Rated,
    ratings: Sequence[Vote],
    settlement: Vote | None,
) -> Consolidated:
    """The exact mean of the submitted ratings (a fraction: no rounding, whatever the number of
    assessors and their order), unless the lead settled it.

    Graded items disagree when two ratings differ by more than one step. Mandatory items
    disagree when one assessor says met and another not; they count as met only when every
    assessor says so (or the lead settles it so).
    """
    values = [r.rating for r in ratings]
    mets = [r.met for r in ratings]
    if indicator.is_mandatory:
        decided = [m for m in mets if m is not None]
        disagreement = len(set(decided)) > 1
        met = (all(decided) if decided else None) if not disagreement else None
        rating = None
    else:
        decided_values = [v for v in values if v is not None]
        disagreement = bool(decided_values) and max(decided_values) - min(decided_values) > 1
        rating = Fraction(sum(decided_values), len(decided_values)) if decided_values else None
        met = None
    if settlement is not None:
        return Consolidated(
            indicator.pk,
            values,
            mets,
            Fraction(settlement.rating) if settlement.rating is not None else None,
            settlement.met,
            True,
            disagreement,
        )
    return Consolidated(indicator.pk, values, mets, rating, met, False, disagreement)


def consolidated_ratings(*, assessment: Assessment) -> dict[int, Consolidated]:
    """Indicator id → consolidated rating, from submitted and in-progress assignments alike;
    the ratings of removed (or replaced) assessors do not count."""
    indicators = indicators_of(assessment=assessment)
    by_indicator: dict[int, list[Rating]] = {i.pk: [] for i in indicators}
    for rating in Rating.objects.filter(
        assignment__assessment=assessment, assignment__removed_at__isnull=True
    ).order_by("assignment__assigned_at", "assignment_id"):
        by_indicator.setdefault(rating.indicator_id, []).append(rating)
    settlements = {s.indicator_id: s for s in Settlement.objects.filter(assessment=assessment)}
    return {
        i.pk: consolidate(indicator=i, ratings=by_indicator[i.pk], settlement=settlements.get(i.pk))
        for i in indicators
    }


def unsettled_disagreements(*, assessment: Assessment) -> list[int]:
    return [
        indicator_id
        for indicator_id, c in consolidated_ratings(assessment=assessment).items()
        if c.disagreement and not c.settled
    ]


# ----------------------------------------------------------------------------------------------
# Conflict of interest


def _conflict_reasons(
    *,
    assessor: User,
    parties: dict[int, Organisation],
    declarations: list[ConflictDeclaration],
) -> list[str]:
    from django.utils.translation import gettext as _

    reasons: list[str] = []
    if assessor.organisation_id in parties:
        reasons.append(
            _("%(user)s belongs to %(org)s, a party to this cloud.")
            % {"user": assessor, "org": parties[assessor.organisation_id]}
        )
    for declaration in declarations:
        reasons.append(
            _("%(user)s declared a link with %(org)s: %(reason)s")
            % {"user": assessor, "org": declaration.organisation, "reason": declaration.reason}
        )
    return reasons


def _cloud_parties(cloud: Cloud) -> dict[int, Organisation]:
    return {cloud.owner_id: cloud.owner, **{v.pk: v for v in cloud.vendors.all()}}


def assessor_conflicts(*, assessor: User, cloud: Cloud) -> list[str]:
    """Why this assessor may not score this cloud; empty when nothing stands in the way."""
    parties = _cloud_parties(cloud)
    declarations = list(
        ConflictDeclaration.objects.filter(
            assessor=assessor, organisation_id__in=parties
        ).select_related("organisation")
    )
    return _conflict_reasons(assessor=assessor, parties=parties, declarations=declarations)


# ----------------------------------------------------------------------------------------------
# Campaign cockpit


def campaign_progress(*, campaign: Campaign) -> dict[str, int]:
    """The number of the campaign's assessments in every state, in one aggregate query."""
    counts = campaign.assessments.aggregate(
        **{state: Count("pk", filter=Q(state=state)) for state in Assessment.State.values}
    )
    return {state: counts[state] or 0 for state in Assessment.State.values}


def clouds_for_vendor(*, organisation: Organisation) -> QuerySet[Cloud]:
    return Cloud.objects.filter(vendors=organisation)


# ----------------------------------------------------------------------------------------------
# Campaign cockpit: the list, the completeness heat map, overdue items and the lead's review

# Appended by the admin journey; the module head is left as it is.
import datetime  # noqa: E402

from .models import ReviewComment  # noqa: E402


def campaign_list_with_progress(*, user: User) -> QuerySet[Campaign]:
    """The campaigns a user may manage, each annotated ``n_total`` and ``n_<state>`` for every
    assessment state: one query however many campaigns and assessments there are."""
    counts = {
        f"n_{state}": Count("assessments", filter=Q(assessments__state=state))
        for state in Assessment.State.values
    }
    return campaign_list_for(user=user).annotate(n_total=Count("assessments"), **counts)


# What a heat-map cell records about one indicator of one assessment, and how the page's script
# reads it: three digits per indicator (see ``HeatRow.cells``).
ANSWER_CODES = {"none": "0", "partial": "1", "complete": "2"}
# The states' names (lazy: translated when shown), without get_state_display's cost per row.
_STATE_LABELS = dict(Assessment.State.choices)


@dataclass
class HeatCell:
    """How complete one indicator of one assessment is."""

    indicator: Indicator
    answer: str  # "complete": decided and explained; "partial": started; "none"
    evidence: int  # evidence files attached (every version counts)
    rated: int  # current assessors who have decided a rating or met/not met
    expected: int  # current assessors assigned

    @property
    def rated_level(self) -> str:
        if self.rated == 0:
            return "none"
        return "all" if self.rated >= self.expected else "some"


@dataclass
class HeatRow:
    """One assessment's row of the heat map and of the cockpit's table.

    ``cells`` holds, per indicator in catalog order, three digits: the answer (0 none,
    1 started, 2 complete), the evidence files (9 meaning nine or more) and the current
    assessors who rated it (9 meaning nine or more): ``"219"``. The page's script draws the
    row from it; ``cell()`` reads it back. ``assignments`` (the current ones) are loaded only
    for the rows of the table's page (``cockpit_assignments``)."""

    assessment_id: int
    cloud: str
    owner: str
    division_code: str
    state: str
    expected: int  # current assessors
    cells: str
    indicators: list[Indicator]
    assignments: list[Assignment] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return str(_STATE_LABELS.get(self.state, self.state))

    def cell(self, index: int) -> HeatCell:
        digits = self.cells[3 * index : 3 * index + 3]
        answer, evidence, rated = digits[0], digits[1], digits[2]
        answers = {code: name for name, code in ANSWER_CODES.items()}
        return HeatCell(
            self.indicators[index], answers[answer], int(evidence), int(rated), self.expected
        )

    @property
    def answered(self) -> int:
        return self.cells[0::3].count(ANSWER_CODES["complete"])

    @property
    def rated_by_all(self) -> int:
        if not self.expected:
            return 0
        return sum(1 for digit in self.cells[2::3] if int(digit) >= self.expected)


@dataclass
class Heatmap:
    indicators: list[Indicator]
    rows: list[HeatRow]


def cockpit_assessments(*, campaign: Campaign) -> QuerySet[Assessment]:
    """The campaign's assessments as the cockpit shows them, by division and cloud: the cloud
    and its owner, and ``assessor_count``, the current assessors (a subquery, not a join: one
    row per assessment)."""
    return (
        campaign.assessments.select_related("cloud", "cloud__owner")
        .annotate(assessor_count=current_assessors())
        .order_by("cloud__owner__division_code", "cloud__name", "pk")
    )


def campaign_heatmap(*, campaign: Campaign, assessments: QuerySet[Assessment]) -> Heatmap:
    """The completeness of ``assessments`` (from ``cockpit_assessments``, perhaps filtered)
    indicator by indicator, in three queries whatever their number: the indicators, the
    assessments (as values), and one query for the cells: answers, evidence files and ratings,
    each aggregated per assessment and indicator in the database, as one UNION ALL."""
    from django.db.models import Case, F, IntegerField, Value, When

    indicators = list(
        Indicator.objects.filter(framework_id=campaign.framework_id)
        .select_related("dimension")
        .order_by("dimension__order", "order")
    )
    # Plain values, not model objects: a tenth of the time for hundreds of rows.
    rows = list(
        assessments.values(
            "pk",
            "state",
            cloud_name=F("cloud__name"),
            owner_name=F("cloud__owner__name"),
            division_code=F("cloud__owner__division_code"),
            expected=F("assessor_count"),
        )
    )
    # An answer is complete when decided (a self-rating, or met / not met) and explained.
    complete = (Q(self_rating__isnull=False) | Q(self_met__isnull=False)) & ~Q(explanation="")
    answers = (
        Answer.objects.filter(assessment__campaign=campaign)
        .annotate(
            kind=Value("a"),
            n=Case(When(complete, then=Value(2)), default=Value(1), output_field=IntegerField()),
        )
        .values_list("assessment_id", "indicator_id", "kind", "n")
    )
    evidence = (
        Evidence.objects.filter(assessment__campaign=campaign)
        .order_by()
        .values("assessment_id", "indicator_id")
        .annotate(kind=Value("e"), n=Count("pk"))
        .values_list("assessment_id", "indicator_id", "kind", "n")
    )
    ratings = (
        Rating.objects.filter(
            assignment__assessment__campaign=campaign, assignment__removed_at__isnull=True
        )
        .filter(Q(rating__isnull=False) | Q(met__isnull=False))
        .order_by()
        .values("assignment__assessment_id", "indicator_id")
        .annotate(kind=Value("r"), n=Count("pk"))
        .values_list("assignment__assessment_id", "indicator_id", "kind", "n")
    )
    # Each assessment's digits, filled from the aggregates: answer, evidence, ratings.
    offsets = {"a": 0, "e": 1, "r": 2}
    position = {indicator.pk: 3 * n for n, indicator in enumerate(indicators)}
    digits = {row["pk"]: ["0"] * (3 * len(indicators)) for row in rows}
    for assessment_id, indicator_id, kind, n in answers.union(evidence, ratings, all=True):
        cells = digits.get(assessment_id)
        if cells is not None and indicator_id in position:
            cells[position[indicator_id] + offsets[kind]] = str(min(n, 9))
    heat_rows = [
        HeatRow(
            row["pk"],
            row["cloud_name"],
            row["owner_name"],
            row["division_code"],
            row["state"],
            row["expected"],
            "".join(digits[row["pk"]]),
            indicators,
        )
        for row in rows
    ]
    return Heatmap(indicators, heat_rows)


def cockpit_assignments(*, rows: Sequence[HeatRow]) -> None:
    """Loads the current assignments, with their assessors, of ``rows`` (a page of the
    cockpit's table) into ``row.assignments``, in one query."""
    by_assessment = {row.assessment_id: row for row in rows}
    for row in rows:
        row.assignments = []
    for assignment in (
        Assignment.objects.filter(assessment_id__in=by_assessment, removed_at__isnull=True)
        .select_related("assessor")
        .order_by("assigned_at", "pk")
    ):
        by_assessment[assignment.assessment_id].assignments.append(assignment)


def overdue_assessments(*, campaign: Campaign, today: datetime.date) -> QuerySet[Assessment]:
    """Assessments still with the vendor (draft or returned) after their deadline (the
    window's close, or the new deadline they were given), most overdue first, each annotated
    ``due``; filtered in the database."""
    from django.db.models import DateField, Value
    from django.db.models.functions import Coalesce

    return (
        campaign.assessments.filter(state__in=[Assessment.State.DRAFT, Assessment.State.RETURNED])
        .annotate(
            due=Coalesce(
                "self_assessment_due_on", Value(campaign.closes_on), output_field=DateField()
            )
        )
        .filter(due__lt=today)
        .order_by("due", "cloud__name", "pk")
    )


def campaign_overdue(*, campaign: Campaign, today: datetime.date) -> list[tuple[Assessment, int]]:
    """The overdue assessments (``overdue_assessments``) with the number of days they are
    overdue, most overdue first: one query."""
    found = []
    for assessment in overdue_assessments(campaign=campaign, today=today).select_related("cloud"):
        assessment.campaign = campaign
        found.append((assessment, (today - annotated(assessment, "due")).days))
    return found


def assessors_with_conflicts(*, cloud: Cloud) -> list[tuple[User, list[str]]]:
    """Every active assessor with the reasons (possibly none) they may not score ``cloud``:
    three queries however many assessors there are."""
    assessors = list(
        User.objects.filter(role__in=policy.roles_for(Action.RATING_SAVE), is_active=True)
        .select_related("organisation")
        .order_by("username")
    )
    parties = _cloud_parties(cloud)
    declared: dict[int, list[ConflictDeclaration]] = {}
    for declaration in ConflictDeclaration.objects.filter(
        assessor__in=[a.pk for a in assessors], organisation_id__in=parties
    ).select_related("organisation"):
        declared.setdefault(declaration.assessor_id, []).append(declaration)
    return [
        (
            assessor,
            _conflict_reasons(
                assessor=assessor, parties=parties, declarations=declared.get(assessor.pk, [])
            ),
        )
        for assessor in assessors
    ]


def clouds_not_in_campaign(*, campaign: Campaign) -> QuerySet[Cloud]:
    return (
        Cloud.objects.exclude(assessments__campaign=campaign)
        .filter(archived_at__isnull=True)
        .select_related("owner")
        .order_by("owner__division_code", "name")
    )


@dataclass
class ReviewRow:
    """One indicator on the lead's review page."""

    indicator: Indicator
    answer: Answer | None
    ratings: list[Rating | None]  # one per assignment, in assignment order
    consolidated: Consolidated
    settlement: Settlement | None


def assessment_review_rows(*, assessment: Assessment) -> tuple[list[Assignment], list[ReviewRow]]:
    """The assignments (current ones first, then removed ones, whose ratings are shown but no
    longer count) and, per indicator, every assessor's rating, the vendor's answer, the
    consolidated rating and any settlement: a fixed number of queries."""
    assignments = sorted(
        assessment.assignments.select_related("assessor", "removed_by", "replaced_by__assessor"),
        key=lambda a: a.removed_at is not None,
    )
    ratings = {
        (r.assignment_id, r.indicator_id): r
        for r in Rating.objects.filter(assignment__assessment=assessment)
    }
    answers = {a.indicator_id: a for a in Answer.objects.filter(assessment=assessment)}
    settlements = {
        s.indicator_id: s
        for s in Settlement.objects.filter(assessment=assessment).select_related("settled_by")
    }
    # Consolidated from what is read above, as ``consolidated_ratings`` does: the current
    # assessors' ratings, in the order they were assigned.
    current = sorted(
        (a for a in assignments if a.removed_at is None), key=lambda a: (a.assigned_at, a.pk)
    )
    consolidated = {
        indicator.pk: consolidate(
            indicator=indicator,
            ratings=[r for a in current if (r := ratings.get((a.pk, indicator.pk))) is not None],
            settlement=settlements.get(indicator.pk),
        )
        for indicator in indicators_of(assessment=assessment)
    }
    rows = [
        ReviewRow(
            indicator,
            answers.get(indicator.pk),
            [ratings.get((a.pk, indicator.pk)) for a in assignments],
            consolidated[indicator.pk],
            settlements.get(indicator.pk),
        )
        for indicator in indicators_of(assessment=assessment)
    ]
    return assignments, rows


def review_comments_pending(*, assessment: Assessment) -> QuerySet[ReviewComment]:
    """Comments written during the review that go to the vendor with the next return."""
    return ReviewComment.objects.filter(
        assessment=assessment, returned_at__isnull=True
    ).select_related("author", "indicator")


# ----------------------------------------------------------------------------------------------
# Campaign operations: closing, exclusions, and what can happen next to an assessment


def state_before_exclusion(*, assessment: Assessment) -> str:
    """The state an excluded assessment was excluded from (its latest exclusion in the audit
    trail); without that record, a draft, or submitted if it was ever submitted."""
    from audit.models import AuditEvent

    event = (
        AuditEvent.objects.filter(
            action="assessments.assessment.excluded",
            target_type=Assessment._meta.label_lower,
            target_id=str(assessment.pk),
        )
        .order_by("-at", "-id")
        .first()
    )
    state = (event.changes or {}).get("from") if event is not None else None
    if state in Assessment.State.values and state != Assessment.State.EXCLUDED:
        return str(state)
    return Assessment.State.SUBMITTED if assessment.submitted_at else Assessment.State.DRAFT


@dataclass
class Unfinished:
    """An assessment that keeps its campaign from closing, and what it still lacks."""

    assessment: Assessment
    missing: str


def _what_is_missing(assessment: Assessment, current: list[Assignment]) -> str:
    from django.utils.translation import gettext as _

    state = assessment.state
    if state == Assessment.State.DRAFT:
        return _("The vendor has not submitted the self-assessment (due %(date)s).") % {
            "date": assessment.due_on.isoformat()
        }
    if state == Assessment.State.RETURNED:
        return _("Returned to the vendor and not resubmitted (due %(date)s).") % {
            "date": assessment.due_on.isoformat()
        }
    if not current:
        return _("No assessor is assigned.")
    submitted = sum(1 for a in current if a.state == Assignment.State.SUBMITTED)
    if state in (Assessment.State.SUBMITTED, Assessment.State.IN_REVIEW):
        return _("%(done)s of %(total)s assessors have submitted their scores.") % {
            "done": submitted,
            "total": len(current),
        }
    return _("Scored; waiting for the office's approval.")


def campaign_unfinished(*, campaign: Campaign) -> list[Unfinished]:
    """The assessments neither approved nor excluded, by cloud, each with what it lacks: a
    campaign closes only once there are none. Two queries."""
    assessments = (
        campaign.assessments.exclude(
            state__in=[Assessment.State.APPROVED, Assessment.State.EXCLUDED]
        )
        .select_related("campaign", "cloud", "cloud__owner")
        .prefetch_related(
            Prefetch("assignments", queryset=Assignment.objects.filter(removed_at__isnull=True))
        )
        .order_by("cloud__owner__division_code", "cloud__name")
    )
    return [Unfinished(a, _what_is_missing(a, list(a.assignments.all()))) for a in assessments]


@dataclass(frozen=True)
class NextAction:
    """Something a user might do next with an assessment: allowed, or why not."""

    key: str
    label: str
    allowed: bool
    reason: str = ""
    url: str = ""


@dataclass(frozen=True)
class NextActions:
    """What the assessment page says can happen next, for one user."""

    summary: str
    actions: list[NextAction]
    # A banner for the vendor: why the self-assessment was returned or reopened, and until when.
    notice: str = ""
    excluded: bool = False


def _latest_reason(assessment: Assessment) -> str:
    comment = (
        ReviewComment.objects.filter(
            assessment=assessment, indicator__isnull=True, returned_at__isnull=False
        )
        .order_by("-returned_at", "-id")
        .first()
    )
    return comment.text if comment is not None else ""


def _summary(assessment: Assessment) -> str:
    from django.utils.translation import gettext as _

    return {
        Assessment.State.DRAFT: _(
            "The vendor fills in the self-assessment and submits it by %(date)s."
        ),
        Assessment.State.RETURNED: _(
            "Returned to the vendor, who corrects and resubmits it by %(date)s."
        ),
        Assessment.State.SUBMITTED: _("Submitted; the assessors rate it next."),
        Assessment.State.IN_REVIEW: _(
            "The assessors are rating it; when all have submitted it is scored."
        ),
        Assessment.State.SCORED: _(
            "Scored; the evaluation office settles disagreements and approves it."
        ),
        Assessment.State.APPROVED: _("Approved: it no longer changes."),
        Assessment.State.EXCLUDED: _(
            "Excluded from the campaign: it is not scored, ranked or reported."
        ),
    }[Assessment.State(assessment.state)] % {"date": assessment.due_on.isoformat()}


def _decide(user: User, action: Action, obj: object) -> tuple[bool, str]:
    decision = policy.decide(user, action, obj)
    return decision.allowed, decision.message


def next_actions(
    *,
    user: User,
    assessment: Assessment,
    unsettled: int | None = None,
    assignment: Assignment | None = None,
    ratings: dict[int, Rating] | None = None,
) -> NextActions:
    """The actions the assessment's page offers ``user`` (admin, vendor, assessor) with, for
    each, whether it is allowed now and why not, from ``accounts.policy`` and the state rules.
    Owners and others get the summary only.

    A page that has read them already passes what the actions depend on, so that they are not
    read twice: the number of unsettled disagreements (admins), the assessor's assignment and
    ratings (assessors)."""
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import gettext as _

    actions: list[NextAction] = []
    pk = assessment.pk
    role = user.role
    notice = ""
    if role == User.Role.ADMIN:
        review = reverse("assessments:assessment_review", args=[pk])
        allowed, reason = _decide(user, Action.ASSESSMENT_APPROVE, assessment)
        if allowed:
            if unsettled is None:
                unsettled = len(unsettled_disagreements(assessment=assessment))
            if unsettled:
                allowed = False
                reason = _("%(n)s disagreements between assessors are not settled yet.") % {
                    "n": unsettled
                }
        actions.append(NextAction("approve", _("Approve"), allowed, reason, review))
        allowed, reason = _decide(user, Action.ASSESSMENT_RETURN, assessment)
        actions.append(
            NextAction("return", _("Return to the vendor"), allowed, reason, review + "#return")
        )
        allowed, reason = _decide(user, Action.ASSESSMENT_REOPEN, assessment)
        actions.append(
            NextAction(
                "reopen",
                _("Reopen the self-assessment"),
                allowed,
                reason,
                reverse("assessments:assessment_reopen", args=[pk]),
            )
        )
        assessors = reverse("assessments:assessment_assessors", args=[pk])
        current = getattr(assessment, "current_assessors", None)
        if current is None:
            current = assessment.assignments.filter(removed_at__isnull=True).count()
        allowed, reason = _decide(user, Action.ASSIGNMENT_CREATE, assessment)
        if allowed and current >= assessment.campaign.assessors_per_assessment:
            allowed = False
            reason = _("The cloud has the campaign's number of assessors.")
        actions.append(NextAction("assign", _("Assign an assessor"), allowed, reason, assessors))
        allowed, reason = _decide(user, Action.ASSIGNMENT_REPLACE, assessment)
        if allowed and not current:
            allowed, reason = False, _("No assessor is assigned.")
        actions.append(
            NextAction("replace", _("Replace or remove an assessor"), allowed, reason, assessors)
        )
        if assessment.state == Assessment.State.EXCLUDED:
            allowed, reason = _decide(user, Action.ASSESSMENT_INCLUDE, assessment)
            actions.append(
                NextAction(
                    "include",
                    _("Re-include in the campaign"),
                    allowed,
                    reason,
                    reverse("assessments:assessment_exclude", args=[pk]),
                )
            )
        else:
            allowed, reason = _decide(user, Action.ASSESSMENT_EXCLUDE, assessment)
            actions.append(
                NextAction(
                    "exclude",
                    _("Exclude from the campaign"),
                    allowed,
                    reason,
                    reverse("assessments:assessment_exclude", args=[pk]),
                )
            )
    elif policy.can(user, Action.ASSESSMENT_SUBMIT, assessment):  # the cloud's vendor
        detail = reverse("assessments:detail", args=[pk])
        allowed, reason = _decide(user, Action.ASSESSMENT_ANSWER, assessment)
        actions.append(NextAction("answer", _("Fill in the self-assessment"), allowed, reason))
        if allowed:
            missing = len(answers_missing(assessment=assessment))
            if missing:
                allowed = False
                reason = _("%(n)s indicators still need an answer.") % {"n": missing}
        actions.append(NextAction("submit", _("Submit"), allowed, reason, detail + "#submit"))
        if (
            assessment.state
            in (
                Assessment.State.DRAFT,
                Assessment.State.RETURNED,
            )
            and assessment.self_assessment_due_on
            and policy.can(user, Action.ASSESSMENT_ANSWER, assessment)
        ):
            why = _latest_reason(assessment) or "—"
            date = assessment.due_on.isoformat()
            if assessment.state == Assessment.State.RETURNED:
                notice = _(
                    "The evaluation office returned this self-assessment: correct it and "
                    "submit it again by %(date)s. Reason: %(reason)s"
                ) % {"date": date, "reason": why}
            else:
                notice = _(
                    "The evaluation office reopened this self-assessment until %(date)s. "
                    "Reason: %(reason)s"
                ) % {"date": date, "reason": why}
    else:
        if assignment is None:
            assignment = assignment_for(user=user, assessment=assessment)
        if assignment is not None:
            assignment.assessment = assessment
            score = reverse("assessments:score", args=[pk])
            allowed, reason = _decide(user, Action.RATING_SAVE, assignment)
            actions.append(NextAction("rate", _("Rate the indicators"), allowed, reason, score))
            if allowed:
                missing = len(ratings_missing(assignment=assignment, ratings=ratings))
                if missing:
                    allowed = False
                    reason = _("%(n)s indicators still need a rating and its rationale.") % {
                        "n": missing
                    }
            actions.append(
                NextAction("submit_scores", _("Submit your scores"), allowed, reason, score)
            )
    if assessment.state == Assessment.State.EXCLUDED:
        notice = _("Excluded from the campaign on %(date)s. Reason: %(reason)s") % {
            "date": (
                timezone.localtime(assessment.excluded_at).date().isoformat()
                if assessment.excluded_at
                else ""
            ),
            "reason": assessment.excluded_reason or "—",
        }
    return NextActions(
        _summary(assessment),
        actions,
        notice=notice,
        excluded=assessment.state == Assessment.State.EXCLUDED,
    )


# ----------------------------------------------------------------------------------------------
# The assessment list (every role's): one query a page


def assessment_list_rows(*, user: User) -> QuerySet[Assessment]:
    """The assessments the user may see, as the list shows them, in one query however many
    rows: ``answered`` and ``indicator_count`` come from subqueries, not joined counts (joins
    multiply rows, and the assessor's scope joins assignments already), and ``level`` is the
    current score's level only where the user may read the score (``policy.score_scope``:
    vendors and owners once approved), empty elsewhere. Removed assignments and draft
    campaigns are out through the policy's scope."""
    from django.db.models import Case, CharField, FilteredRelation, OuterRef, Subquery, Value, When
    from django.db.models.functions import Coalesce

    from .models import Answer

    answered = (
        Answer.objects.filter(assessment=OuterRef("pk"))
        .exclude(explanation="")
        .order_by()
        .values("assessment")
        .annotate(n=Count("pk"))
        .values("n")
    )
    indicators = (
        Indicator.objects.filter(framework=OuterRef("campaign__framework"))
        .order_by()
        .values("framework")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        assessment_list_for(user=user)
        .select_related("campaign__framework", "cloud__owner")
        .annotate(
            current_score=FilteredRelation(
                "score_results", condition=Q(score_results__is_current=True)
            ),
            answered=Coalesce(Subquery(answered), 0),
            indicator_count=Coalesce(Subquery(indicators), 0),
        )
    )
    scores = policy.score_scope(user)
    level: Coalesce | Value | Case
    if scores.relation == "all":
        level = Coalesce("current_score__level_code", Value(""))
    elif scores.is_empty:
        level = Value("")
    else:
        readable = Assessment.objects.filter(scores.q).values("pk")
        level = Case(
            When(pk__in=readable, then=Coalesce("current_score__level_code", Value(""))),
            default=Value(""),
            output_field=CharField(),
        )
    return rows.annotate(level=level)
