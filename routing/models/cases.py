"""Support cases, their assignments and the escalation queue (the audit trail: routing.models.audit).

Seed 000 kept `case_id` as a bare string in case_assignments and escalation_queue (a lost foreign key:
there was no cases table). Here a SupportCase row owns the case and both tables point at it through a
real foreign key stored in the seed's `case_id` column.

Invariants held by the database:
- a case has at most one open assignment (assigned or in progress): partial unique constraint;
- a case waits in the queue at most once: partial unique constraint;
- ratings and scores stay in range: CHECK constraints.
Capacity (an agent's open assignments never exceed max_concurrent_work) spans two tables, so it is held
by the routing services under the agent's AgentAvailability row lock (see routing/services/__init__.py).

The queue position is derived from the serving order (overdue first, then priority, then age) using
the stored `priority_rank` and `wait_deadline` columns and their partial indexes; no position column is
renumbered on insert. The sweep's work is found through indexed columns too: `next_escalation_at` (when
an entry is next escalated) and (`widen_level`, `queued_at`), so escalation and widening are range
updates rather than a pass over every waiting row.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from agents.models import HumanAgent


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"

    @classmethod
    def rank(cls, value: str) -> int:
        return [choice.value for choice in cls].index(value) + 1

    @classmethod
    def raised(cls, value: str) -> str:
        members = [choice.value for choice in cls]
        return members[min(members.index(value) + 1, len(members) - 1)]


class Complexity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Frustration(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class CaseStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    ESCALATED = "escalated", "Escalated"
    TRANSFERRED = "transferred", "Transferred"


OPEN_ASSIGNMENT_STATUSES = [AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS]
# The assignment ended, whatever the way (archivable, counted in the metrics' rates); resolved: ended by the
# agent's own work (completed, or escalated after working it).
FINISHED_ASSIGNMENT_STATUSES = [
    AssignmentStatus.COMPLETED,
    AssignmentStatus.ESCALATED,
    AssignmentStatus.TRANSFERRED,
]
RESOLVED_ASSIGNMENT_STATUSES = [AssignmentStatus.COMPLETED, AssignmentStatus.ESCALATED]
_OPEN, _FINISHED = set(OPEN_ASSIGNMENT_STATUSES), set(FINISHED_ASSIGNMENT_STATUSES)
if _OPEN & _FINISHED or set(AssignmentStatus.values) != _OPEN | _FINISHED:
    raise ImportError("every assignment status is open or finished, never both")
# Open, stated as not finished: the same rows (the status CHECK allows no other value). The fatigue
# lockout's count of an agent's open difficult work says it this way, and so does its index
# (assignment_open_difficult_idx), so that one_open_assignment_per_case, whose predicate is the list of
# open statuses, never matches that count: with statistics taken on an idle floor (no open rows) the
# planner took that index for a one-row read and filtered every open assignment by agent, per
# candidate (15 ms of a route at 1,400 open assignments, against 0.1 ms).
OPEN_AS_NOT_FINISHED_Q = ~Q(status__in=FINISHED_ASSIGNMENT_STATUSES)

# A difficult case (routing.engine.rules.is_difficult, kept in step by tests/routing/test_engine_rules.py)
# as a filter on assignment and queue columns.
DIFFICULT_ASSIGNMENT_Q = Q(complexity="high") | Q(customer_frustration__in=["high", "critical"])


class QueueStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    ASSIGNED = "assigned", "Assigned"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


def _priority_rank_expression() -> models.Case:
    return models.Case(
        *[
            models.When(priority=value, then=models.Value(rank))
            for rank, value in enumerate(Priority.values, 1)
        ],
        default=models.Value(0),
        output_field=models.SmallIntegerField(),
    )


# --- case ids ------------------------------------------------------------------------------------------
#
# The one statement of what a case id may be, used by the model field, the API's input serializer, the
# routing service's own check (every other door) and the URL converter of /cases/{case_id}/. A case id
# is a path segment of that URL, so it must survive a URL unescaped: ASCII letters, digits, `_`, `-` and
# `.`, starting with a letter or digit (so `.` and `..`, which clients collapse as path segments, can
# never be ids).

CASE_ID_CHARACTERS = r"[A-Za-z0-9][A-Za-z0-9._-]*"
CASE_ID_MAX_LENGTH = 50
CASE_ID_MESSAGE = (
    "Letters, digits, '_', '-' and '.', starting with a letter or digit (at most 50 characters)."
)
validate_case_id = RegexValidator(rf"\A{CASE_ID_CHARACTERS}\Z", CASE_ID_MESSAGE, code="invalid_case_id")


def is_valid_case_id(value: object) -> bool:
    """Whether `value` is a case id: a string of the characters above, at most CASE_ID_MAX_LENGTH long."""
    return (
        isinstance(value, str)
        and len(value) <= CASE_ID_MAX_LENGTH
        and validate_case_id.regex.search(value) is not None
    )


class SupportCase(models.Model):
    """A customer's support case: what it needs, and where it stands now."""

    case_id = models.CharField(max_length=CASE_ID_MAX_LENGTH, unique=True, validators=[validate_case_id])
    customer_id = models.CharField(max_length=50, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    complexity = models.CharField(max_length=10, choices=Complexity.choices)
    required_skills = models.JSONField(default=list, blank=True, help_text="Skill domain codes.")
    special_requirements = models.JSONField(default=dict, blank=True)
    customer_frustration = models.CharField(
        max_length=10, choices=Frustration.choices, default=Frustration.LOW
    )
    language = models.CharField(max_length=10, blank=True, help_text="ISO 639-1 code the customer speaks.")
    estimated_resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    max_wait_minutes = models.PositiveIntegerField(default=30)
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(max_wait_minutes__gt=0), name="case_max_wait_positive"),
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="case_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="case_priority_valid"),
            models.CheckConstraint(
                condition=Q(complexity__in=Complexity.values), name="case_complexity_valid"
            ),
            models.CheckConstraint(
                condition=Q(customer_frustration__in=Frustration.values), name="case_frustration_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="case_status_created_idx")]

    def __str__(self) -> str:
        return self.case_id


class CaseAssignmentBase(models.Model):
    """Every column of seed 000's case_assignments; shared by the live table and its archive."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # seed assignment_id
    case = models.ForeignKey(SupportCase, on_delete=models.PROTECT, to_field="case_id", db_column="case_id")
    agent = models.ForeignKey(HumanAgent, on_delete=models.PROTECT)
    customer_id = models.CharField(max_length=50, blank=True)
    assigned_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=AssignmentStatus.choices, default=AssignmentStatus.ASSIGNED
    )
    priority = models.CharField(max_length=10, choices=Priority.choices)
    complexity = models.CharField(max_length=10, choices=Complexity.choices)
    required_skills = models.JSONField(default=list, blank=True)
    customer_frustration = models.CharField(
        max_length=10, choices=Frustration.choices, default=Frustration.LOW
    )
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    csat_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    escalated = models.BooleanField(default=False)
    routing_strategy = models.CharField(max_length=50, blank=True)
    routing_confidence = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    match_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.case_id} → {self.agent.name} ({self.get_status_display()})"


def _assignment_checks(prefix: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(csat_rating__isnull=True) | Q(csat_rating__gte=1, csat_rating__lte=5),
            name=f"{prefix}_csat_range",
        ),
        models.CheckConstraint(
            condition=Q(routing_confidence__isnull=True)
            | Q(routing_confidence__gte=0, routing_confidence__lte=1),
            name=f"{prefix}_confidence_range",
        ),
        models.CheckConstraint(
            condition=Q(match_score__isnull=True) | Q(match_score__gte=0, match_score__lte=100),
            name=f"{prefix}_match_score_range",
        ),
        models.CheckConstraint(
            condition=Q(status__in=AssignmentStatus.values), name=f"{prefix}_status_valid"
        ),
        models.CheckConstraint(condition=Q(priority__in=Priority.values), name=f"{prefix}_priority_valid"),
        models.CheckConstraint(
            condition=Q(complexity__in=Complexity.values), name=f"{prefix}_complexity_valid"
        ),
        models.CheckConstraint(
            condition=Q(customer_frustration__in=Frustration.values), name=f"{prefix}_frustration_valid"
        ),
    ]


class CaseAssignment(CaseAssignmentBase):
    agent = models.ForeignKey(HumanAgent, on_delete=models.PROTECT, related_name="case_assignments")
    case = models.ForeignKey(
        SupportCase,
        on_delete=models.PROTECT,
        to_field="case_id",
        db_column="case_id",
        related_name="assignments",
    )

    class Meta:
        ordering = ["-assigned_at"]
        constraints = [
            *_assignment_checks("assignment"),
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status__in=OPEN_ASSIGNMENT_STATUSES),
                name="one_open_assignment_per_case",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "completed_at"], name="assignment_agent_completed_idx"),
            models.Index(fields=["case", "status"], name="assignment_case_status_idx"),
            models.Index(
                fields=["assigned_at"], condition=Q(status="assigned"), name="assignment_unstarted_idx"
            ),
            # The fatigue lockout counts an agent's open difficult cases with its completed streak
            # (open as not finished: see OPEN_AS_NOT_FINISHED_Q).
            models.Index(
                fields=["agent"],
                condition=OPEN_AS_NOT_FINISHED_Q & DIFFICULT_ASSIGNMENT_Q,
                name="assignment_open_difficult_idx",
            ),
            models.Index(fields=["completed_at"], name="assignment_completed_idx"),
            # A completion rebuilds the agent's performance figures from its assignments of the window
            # (routing.metrics): this range holds what the rebuild reads, so PostgreSQL reads the agent's
            # entries from a few index pages instead of a heap page per assignment.
            models.Index(
                fields=["agent", "assigned_at"],
                include=["status", "escalated", "resolution_minutes", "csat_rating"],
                name="assignment_agent_assigned_idx",
            ),
        ]


class CaseAssignmentArchive(CaseAssignmentBase):
    """Completed assignments older than the retention window, moved here by run_maintenance."""

    agent = models.ForeignKey(HumanAgent, on_delete=models.PROTECT, related_name="archived_assignments")
    case = models.ForeignKey(
        SupportCase,
        on_delete=models.PROTECT,
        to_field="case_id",
        db_column="case_id",
        related_name="archived_assignments",
    )
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-assigned_at"]
        constraints = _assignment_checks("archive")
        indexes = [
            models.Index(fields=["agent", "completed_at"], name="archive_agent_completed_idx"),
            models.Index(fields=["case", "status"], name="archive_case_status_idx"),
        ]


class EscalationQueueEntry(models.Model):
    """A case waiting for an agent (seed 000 escalation_queue, every column but the stored position)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # seed queue_entry_id
    case = models.ForeignKey(
        SupportCase,
        on_delete=models.PROTECT,
        to_field="case_id",
        db_column="case_id",
        related_name="queue_entries",
    )
    customer_id = models.CharField(max_length=50, blank=True)
    language = models.CharField(
        max_length=10,
        blank=True,
        help_text="The case's language, copied so the queue is scanned without a join.",
    )
    priority = models.CharField(max_length=10, choices=Priority.choices)
    priority_rank = models.GeneratedField(
        expression=_priority_rank_expression(), output_field=models.SmallIntegerField(), db_persist=True
    )
    complexity = models.CharField(max_length=10, choices=Complexity.choices)
    required_skills = models.JSONField(default=list)
    special_requirements = models.JSONField(default=dict, blank=True)
    customer_frustration = models.CharField(
        max_length=10, choices=Frustration.choices, default=Frustration.LOW
    )
    estimated_resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    estimated_assignment_at = models.DateTimeField(null=True, blank=True)
    max_wait_minutes = models.PositiveIntegerField(default=30)
    wait_deadline = models.DateTimeField(help_text="queued_at + max wait; past it the entry is served first.")
    assigned_agent = models.ForeignKey(
        HumanAgent, on_delete=models.PROTECT, null=True, blank=True, related_name="queue_assignments"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=QueueStatus.choices, default=QueueStatus.QUEUED)
    widen_level = models.PositiveSmallIntegerField(default=0, help_text="Requirement rings relaxed so far.")
    escalation_count = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="queued_at + max wait x (escalations + 1): when the sweep next raises the priority.",
    )
    excluded_agents = models.JSONField(
        default=list, blank=True, help_text="Agent ids never to offer it again."
    )
    routing_strategy = models.CharField(
        max_length=50,
        blank=True,
        help_text="The strategy the case was routed with, which its dispatch keeps; blank: the default.",
    )
    strategy_parameters = models.JSONField(
        default=dict, blank=True, help_text="The parameters of that strategy (empty: its defaults)."
    )

    class Meta:
        verbose_name = "escalation queue entry"
        verbose_name_plural = "escalation queue"
        constraints = [
            models.CheckConstraint(condition=Q(max_wait_minutes__gt=0), name="queue_max_wait_positive"),
            models.CheckConstraint(condition=Q(status__in=QueueStatus.values), name="queue_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="queue_priority_valid"),
            models.CheckConstraint(
                condition=Q(complexity__in=Complexity.values), name="queue_complexity_valid"
            ),
            models.CheckConstraint(
                condition=Q(customer_frustration__in=Frustration.values), name="queue_frustration_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="assigned", assigned_agent__isnull=False) | ~Q(status="assigned"),
                name="queue_assigned_has_agent",
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="queued"), name="one_waiting_entry_per_case"
            ),
        ]
        indexes = [
            # Serving order within a band (overdue or not) and the counts of entries ahead (queue
            # position): both read a prefix of this index and test wait_deadline from it (INCLUDE on
            # PostgreSQL, so the scans are index-only on all-visible pages).
            models.Index(
                fields=["-priority_rank", "queued_at", "id"],
                include=["wait_deadline"],
                condition=Q(status="queued"),
                name="queue_serving_order_idx",
            ),
            models.Index(fields=["wait_deadline"], condition=Q(status="queued"), name="queue_deadline_idx"),
            # Queue position: the overdue (or punctual) entries of one priority are one range here.
            models.Index(
                fields=["priority_rank", "wait_deadline"],
                condition=Q(status="queued"),
                name="queue_rank_deadline_idx",
            ),
            # "Is anything waiting ahead of new work in a language this agent speaks?" (the serving-order
            # guard, routing.selectors.queue_anything_ahead): two range probes per language.
            models.Index(
                fields=["language", "wait_deadline"],
                include=["priority_rank"],
                condition=Q(status="queued"),
                name="queue_language_deadline_idx",
            ),
            # A dispatch walk per language in serving order (routing.selectors.queue_waiting): one
            # ordered range per language, the band (overdue or not) tested on the index's last key.
            models.Index(
                fields=["language", "-priority_rank", "queued_at", "id", "wait_deadline"],
                condition=Q(status="queued"),
                name="queue_language_serving_idx",
            ),
            models.Index(fields=["priority", "queued_at"], name="queue_priority_queued_idx"),
            models.Index(
                fields=["next_escalation_at"], condition=Q(status="queued"), name="queue_next_escalation_idx"
            ),
            models.Index(
                fields=["widen_level", "queued_at"], condition=Q(status="queued"), name="queue_widen_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} ({self.get_priority_display()}, {self.get_status_display()})"

    def save(self, *args, **kwargs) -> None:
        """Fill the derived columns a caller may leave out (the services set them; other doors may not)."""
        if self._state.adding:
            if self.next_escalation_at is None and self.wait_deadline is not None:
                self.next_escalation_at = self.queued_at + dt.timedelta(
                    minutes=self.max_wait_minutes * (self.escalation_count + 1)
                )
            if not self.language and self.case_id:
                case = self._state.fields_cache.get("case")
                self.language = (
                    case.language
                    if case is not None
                    else SupportCase.objects.filter(case_id=self.case_id)
                    .values_list("language", flat=True)
                    .first()
                ) or ""
        super().save(*args, **kwargs)
