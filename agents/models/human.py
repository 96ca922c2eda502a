"""Who does the work: human agents and everything routing needs to know about them.

Invariants live in the database (CHECK and UNIQUE constraints), so no door, be it the admin, the API, a
management command or raw SQL, can store a rate above 1, a CSAT of 7 or a capacity of 0.

One source of truth for load: `AgentAvailability.current_load` is the number of cases an agent holds now.
Seed 000 also kept it as `agent_performance_metrics.current_workload`; here the performance snapshot
derives it (`AgentPerformance.current_workload`) instead of storing a second copy that could drift.
The availability row is also the lock that guards capacity: every writer that changes a load locks it.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_slug
from django.db import models
from django.db.models import Case, F, Func, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.deconstruct import deconstructible

from agents.languages import ISO_639_1, LANGUAGE_CHOICES
from config.history import HistoricalRecords

__all__ = [
    "MAX_CONCURRENT_WORK_LIMIT",
    "TERRITORY_MAX_LENGTH",
    "validate_timezone",
    "validate_printable_name",
    "validate_language_codes",
    "validate_territories",
    "IsJSONArray",
    "SqliteSafeIndex",
    "UNIT_INTERVAL",
    "CSAT_RANGE",
    "SkillLevel",
    "FrustrationTolerance",
    "Proficiency",
    "LanguageProficiency",
    "Weekday",
    "ScheduleType",
    "AvailabilityStatus",
    "SkillDomain",
    "HumanAgent",
    "AgentSkill",
    "AgentSpecialization",
    "AgentLanguage",
    "AgentSchedule",
    "AgentAvailability",
    "AgentPerformance",
    "AgentPeriodMetrics",
    "AgentPeriodMetricsArchive",
    "snapshot_period_starts",
]

# An agent holds at most this many cases at once; the CHECK constraint and the validator share it.
MAX_CONCURRENT_WORK_LIMIT = 50
# ISO 3166-2 subdivision codes (e.g. US-CA) are at most 6 characters; 10 leaves room for local codes.
TERRITORY_MAX_LENGTH = 10


def validate_timezone(value: str) -> None:
    if value not in _timezones():
        raise ValidationError(
            "%(value)s is not an IANA time zone (use e.g. America/Los_Angeles, not PST).",
            code="invalid_timezone",
            params={"value": value},
        )


_TIMEZONES: frozenset[str] | None = None


def _timezones() -> frozenset[str]:
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(available_timezones())
    return _TIMEZONES


def validate_printable_name(value: Any) -> None:
    """A name routing matches on (a specialization, an insurance line, a segment, a territory): printable
    characters only, no surrounding spaces. A control character in a name once broke every routing
    search whose candidates included the agent; every door (API, admin, import) runs this validator."""
    if not isinstance(value, str) or not value.strip():
        return  # blanks are the field's own business (required, or NULL for a line or segment)
    bad = sorted({f"U+{ord(char):04X}" for char in value if not char.isprintable()})
    if bad:
        raise ValidationError(
            "Use printable characters only (found %(chars)s).",
            code="unprintable",
            params={"chars": ", ".join(bad)},
        )
    if value != value.strip():
        raise ValidationError("Remove the spaces around the name.", code="surrounding_space")


def validate_language_codes(value: Any) -> None:
    """A JSON list of ISO 639-1 codes (agents.languages), e.g. ["en", "es"]."""
    if not isinstance(value, list):
        raise ValidationError(
            'Must be a list of ISO 639-1 language codes, e.g. ["en", "es"].', code="not_a_list"
        )
    unknown = [code for code in value if not isinstance(code, str) or code not in ISO_639_1]
    if unknown:
        raise ValidationError(
            "Not ISO 639-1 language codes: %(codes)s (use e.g. en, es, zh).",
            code="invalid_language_code",
            params={"codes": ", ".join(map(str, unknown))},
        )


def validate_territories(value: Any) -> None:
    """A JSON list of non-empty territory codes, e.g. ["US-CA", "US-NY"]."""
    if not isinstance(value, list):
        raise ValidationError('Must be a list of territory codes, e.g. ["US-CA"].', code="not_a_list")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError("Territory codes must be non-empty strings.", code="invalid_territory")
        validate_printable_name(item)
        if len(item) > TERRITORY_MAX_LENGTH:
            raise ValidationError(
                "Territory code %(code)s is longer than %(limit)s characters.",
                code="invalid_territory",
                params={"code": item, "limit": TERRITORY_MAX_LENGTH},
            )


@deconstructible(path="agents.models.IsJSONArray")
class IsJSONArray(Func):
    """True when a JSON column holds an array, for CHECK constraints on both supported databases.

    SQLite stores JSON as text and has json_type(); PostgreSQL stores jsonb and has jsonb_typeof().
    """

    arity = 1
    template = "JSON_TYPE(%(expressions)s) = 'array'"
    output_field = models.BooleanField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="JSONB_TYPEOF(%(expressions)s) = 'array'", **extra_context
        )


class SqliteSafeIndex(models.Index):
    """An index whose columns may say NULLS FIRST. SQLite refuses the clause in CREATE INDEX (so a table
    rebuild of a model with such an index failed there) but puts NULLs first when ascending anyway, so
    on SQLite the index is created without it; PostgreSQL gets the clause as written."""

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        statement = super().create_sql(model, schema_editor, using=using, **kwargs)
        if schema_editor.connection.vendor == "sqlite" and "columns" in statement.parts:
            statement.parts["columns"] = str(statement.parts["columns"]).replace(" NULLS FIRST", "")
        return statement


def _between(field: str, low: float, high: float) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": low, f"{field}__lte": high})


UNIT_INTERVAL = [MinValueValidator(0), MaxValueValidator(1)]
CSAT_RANGE = [MinValueValidator(1), MaxValueValidator(5)]


class SkillLevel(models.TextChoices):
    JUNIOR = "junior", "Junior"
    INTERMEDIATE = "intermediate", "Intermediate"
    SENIOR = "senior", "Senior"
    EXPERT = "expert", "Expert"


class FrustrationTolerance(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Proficiency(models.TextChoices):
    """Skill proficiency, weakest first; `Proficiency.rank()` orders them for routing."""

    BASIC = "basic", "Basic"
    INTERMEDIATE = "intermediate", "Intermediate"
    ADVANCED = "advanced", "Advanced"
    EXPERT = "expert", "Expert"

    @classmethod
    def rank(cls, value: str) -> int:
        return [choice.value for choice in cls].index(value) + 1


class LanguageProficiency(models.TextChoices):
    BASIC = "basic", "Basic"
    CONVERSATIONAL = "conversational", "Conversational"
    FLUENT = "fluent", "Fluent"
    NATIVE = "native", "Native"


class Weekday(models.TextChoices):
    """Named as in the seeds; `Weekday.from_iso(datetime.isoweekday())` maps a date onto them."""

    MONDAY = "monday", "Monday"
    TUESDAY = "tuesday", "Tuesday"
    WEDNESDAY = "wednesday", "Wednesday"
    THURSDAY = "thursday", "Thursday"
    FRIDAY = "friday", "Friday"
    SATURDAY = "saturday", "Saturday"
    SUNDAY = "sunday", "Sunday"

    @classmethod
    def from_iso(cls, iso_weekday: int) -> Weekday:
        return list(cls)[iso_weekday - 1]

    @classmethod
    def week_position(cls, field: str = "day_of_week") -> Case:
        """Monday 1 .. Sunday 7 for a weekday column, to order rows by the week: the stored names sort
        alphabetically (friday, monday, ...)."""
        whens = [When(**{field: day}, then=Value(position)) for position, day in enumerate(cls, start=1)]
        return Case(*whens, default=Value(8), output_field=models.IntegerField())


class ScheduleType(models.TextChoices):
    REGULAR = "regular", "Regular"
    TEMPORARY = "temporary", "Temporary"
    EXCEPTION = "exception", "Exception"


class AvailabilityStatus(models.TextChoices):
    """Union of seed 000 (available/busy/break/meeting/training/offline) and seed 001 (in_call)."""

    AVAILABLE = "available", "Available"
    BUSY = "busy", "Busy"
    IN_CALL = "in_call", "In call"
    BREAK = "break", "Break"
    MEETING = "meeting", "Meeting"
    TRAINING = "training", "Training"
    OFFLINE = "offline", "Offline"


class SkillDomain(models.Model):
    """The vocabulary of skills. Cases name required skills by `code`; an unknown code is an error."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)

    history = HistoricalRecords()  # supervisors edit the vocabulary

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class HumanAgent(models.Model):
    # Letters, digits, "_" and "-" only: the code is the agent's address in the API (/agents/{code}/),
    # so a dot, slash or space would make the agent unreachable by URL. Validated, not CHECKed: the
    # check would need a regular expression, which SQLite lacks outside Django's connections (Django
    # registers REGEXP per connection; the sqlite3 shell would then fail every write to this table).
    code = models.CharField(
        max_length=50,
        unique=True,
        validators=[validate_slug],
        help_text="The agent's stable identifier (seed `agent_id`), e.g. agent_001: letters, digits, _ and -.",
    )
    name = models.CharField(max_length=100)
    email = models.EmailField(max_length=150, unique=True)
    employee_id = models.CharField(max_length=50, unique=True, null=True, blank=True)
    department = models.CharField(max_length=50, blank=True, db_index=True)
    hire_date = models.DateField(null=True, blank=True)
    skill_level = models.CharField(max_length=20, choices=SkillLevel.choices)
    base_hourly_rate = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    max_concurrent_work = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(MAX_CONCURRENT_WORK_LIMIT)]
    )
    frustration_tolerance = models.CharField(
        max_length=10, choices=FrustrationTolerance.choices, default=FrustrationTolerance.MEDIUM
    )
    is_active = models.BooleanField("active", default=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(max_concurrent_work__gt=0), name="agent_capacity_positive"),
            models.CheckConstraint(
                condition=Q(max_concurrent_work__lte=MAX_CONCURRENT_WORK_LIMIT),
                name="agent_capacity_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(base_hourly_rate__isnull=True) | Q(base_hourly_rate__gte=0),
                name="agent_hourly_rate_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(skill_level__in=SkillLevel.values), name="agent_skill_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(frustration_tolerance__in=FrustrationTolerance.values),
                name="agent_frustration_tolerance_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AgentSkill(models.Model):
    agent = models.ForeignKey(HumanAgent, on_delete=models.CASCADE, related_name="skills")
    domain = models.ForeignKey(SkillDomain, on_delete=models.PROTECT, related_name="agent_skills")
    proficiency = models.CharField(max_length=20, choices=Proficiency.choices)
    years_experience = models.DecimalField(
        max_digits=3, decimal_places=1, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    certification_level = models.CharField(max_length=50, blank=True)
    last_updated = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["agent_id", "domain_id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "domain"], name="unique_agent_skill"),
            models.CheckConstraint(
                condition=Q(proficiency__in=Proficiency.values), name="skill_proficiency_valid"
            ),
            models.CheckConstraint(
                condition=Q(years_experience__isnull=True) | Q(years_experience__gte=0),
                name="skill_years_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["domain", "proficiency"], name="skill_domain_proficiency_idx")]

    def __str__(self) -> str:
        return f"{self.domain.name} ({self.get_proficiency_display()})"


class AgentSpecialization(models.Model):
    """Seed 000's specializations merged with seed 001's insurance-line/segment expertise.

    A seed-000 row names a specialization (e.g. `enterprise_accounts`) with confidence and track record;
    a seed-001 row also names an insurance line and customer segment with a 1-5 proficiency, the languages
    and territories it covers.

    Uniqueness follows the seeds. Seed 001: one row per (agent, insurance line, customer segment), so an
    agent may hold auto/smb and auto/enterprise under one name ("auto"). Seed 000 (rows without a line):
    one row per (agent, specialization). A NULL segment means "every segment" and is one value, not many:
    a second (auto, NULL) row for the agent is a duplicate. `UniqueConstraint(nulls_distinct=False)`
    would say that, but SQLite does not support it (Django ignores it there), so the unique index is on
    COALESCE(segment, '') instead, which both databases enforce. That makes '' and NULL the same key, so
    '' is never stored: the CHECKs below reject empty strings and `clean()` (admin, import) and the API
    turn a blank into NULL.

    Names routing matches on are printable (validate_printable_name, at every door). `languages` and
    `territories` are JSON lists, validated element by element in `clean_fields` (the API runs the same
    validators). The database checks that each holds an array; checking every element (language codes in
    the ISO list) would need a subquery over json_each/jsonb_array_elements, which neither database
    allows in a CHECK constraint.
    """

    agent = models.ForeignKey(HumanAgent, on_delete=models.CASCADE, related_name="specializations")
    specialization = models.CharField(max_length=100, validators=[validate_printable_name])
    confidence = models.DecimalField(max_digits=3, decimal_places=2, default=0.5, validators=UNIT_INTERVAL)
    case_count = models.PositiveIntegerField(default=0)
    success_rate = models.DecimalField(max_digits=5, decimal_places=4, default=0, validators=UNIT_INTERVAL)
    insurance_line = models.CharField(
        max_length=50, null=True, blank=True, validators=[validate_printable_name]
    )
    customer_segment = models.CharField(
        max_length=50, null=True, blank=True, validators=[validate_printable_name]
    )
    proficiency = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    languages = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_language_codes],
        help_text='ISO 639-1 codes this line is served in, e.g. ["en", "es"].',
    )
    territories = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_territories],
        help_text='Territory codes, e.g. ["US-CA"].',
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["agent_id", "specialization"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "specialization"],
                condition=Q(insurance_line__isnull=True),
                name="unique_agent_specialization",
                violation_error_message="This agent already has a specialization of that name.",
            ),
            models.UniqueConstraint(
                F("agent"),
                F("insurance_line"),
                Coalesce(F("customer_segment"), Value("")),
                condition=Q(insurance_line__isnull=False),
                name="unique_agent_line_segment",
                violation_error_message=(
                    "This agent already has a specialization for that insurance line and customer segment."
                ),
            ),
            models.CheckConstraint(
                condition=Q(insurance_line__isnull=True) | ~Q(insurance_line=""),
                name="specialization_line_not_blank",
                violation_error_message="Leave the insurance line empty (NULL) rather than blank.",
            ),
            models.CheckConstraint(
                condition=Q(customer_segment__isnull=True) | ~Q(customer_segment=""),
                name="specialization_segment_not_blank",
                violation_error_message="Leave the customer segment empty (NULL) rather than blank.",
            ),
            models.CheckConstraint(
                condition=IsJSONArray("languages"), name="specialization_languages_is_array"
            ),
            models.CheckConstraint(
                condition=IsJSONArray("territories"), name="specialization_territories_is_array"
            ),
            models.CheckConstraint(
                condition=_between("confidence", 0, 1), name="specialization_confidence_range"
            ),
            models.CheckConstraint(
                condition=_between("success_rate", 0, 1), name="specialization_success_range"
            ),
            models.CheckConstraint(
                condition=_between("proficiency", 1, 5), name="specialization_proficiency_range"
            ),
        ]
        indexes = [
            models.Index(fields=["insurance_line"], name="specialization_line_idx"),
            models.Index(fields=["customer_segment"], name="specialization_segment_idx"),
        ]

    def __str__(self) -> str:
        return self.specialization

    def clean(self) -> None:
        # A blank line or segment means "none"; stored as NULL only (see the class docstring).
        if self.insurance_line is not None and not self.insurance_line.strip():
            self.insurance_line = None
        if self.customer_segment is not None and not self.customer_segment.strip():
            self.customer_segment = None


class AgentLanguage(models.Model):
    agent = models.ForeignKey(HumanAgent, on_delete=models.CASCADE, related_name="languages")
    language_code = models.CharField(max_length=10, choices=LANGUAGE_CHOICES)
    proficiency = models.CharField(max_length=20, choices=LanguageProficiency.choices)

    history = HistoricalRecords()

    class Meta:
        ordering = ["agent_id", "language_code"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "language_code"], name="unique_agent_language"),
            # The ISO list itself, so that bulk or raw writes cannot store "english"; a change to
            # agents.languages shows up in makemigrations as a new version of this constraint.
            models.CheckConstraint(
                condition=Q(language_code__in=sorted(ISO_639_1)), name="language_code_iso_639_1"
            ),
            models.CheckConstraint(
                condition=Q(proficiency__in=LanguageProficiency.values), name="language_proficiency_valid"
            ),
        ]
        indexes = [models.Index(fields=["language_code"], name="language_code_idx")]

    def __str__(self) -> str:
        return f"{self.get_language_code_display()} ({self.get_proficiency_display()})"


class AgentSchedule(models.Model):
    """A weekly window in the agent's own IANA time zone, on the local wall clock.

    An end at or before the start crosses midnight (22:00-06:00 is a night shift; 09:00-00:00 runs until
    midnight). `temporary` rows replace the regular rows on the dates they apply to; `exception` rows are
    time off inside their window. routing.engine.schedule states the rules.
    """

    agent = models.ForeignKey(HumanAgent, on_delete=models.CASCADE, related_name="schedules")
    day_of_week = models.CharField(max_length=10, choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    timezone = models.CharField(max_length=64, validators=[validate_timezone], help_text="IANA zone name.")
    effective_from = models.DateField()
    effective_until = models.DateField(null=True, blank=True)
    schedule_type = models.CharField(
        max_length=10, choices=ScheduleType.choices, default=ScheduleType.REGULAR
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["agent_id", "day_of_week", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True) | Q(effective_until__gte=F("effective_from")),
                name="schedule_effective_range",
            ),
            models.CheckConstraint(condition=Q(day_of_week__in=Weekday.values), name="schedule_day_valid"),
            models.CheckConstraint(
                condition=Q(schedule_type__in=ScheduleType.values), name="schedule_type_valid"
            ),
        ]
        indexes = [models.Index(fields=["day_of_week", "timezone"], name="schedule_day_tz_idx")]

    def __str__(self) -> str:
        return (
            f"{self.get_day_of_week_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M} {self.timezone}"
            f"{'' if self.schedule_type == ScheduleType.REGULAR else f' ({self.get_schedule_type_display()})'}"
        )


class AgentAvailability(models.Model):
    """Live state of one agent. Its row is the lock that serialises every change of the agent's load.

    `current_load` is the agent's open work of every kind (routing.work), derived from that work: the
    routing services change it with the work, and the reconcile resets it from the open work.

    `manual_override` says who set the status. Routing sets `busy` itself when the load reaches capacity
    and `available` again when it drops (manual_override false). Any other status a person or an
    integration sets (busy, break, meeting, in call, ...) is their decision (manual_override true, with
    or without a reason): routing never gives such an agent work and never changes the status back.
    `available` set by a person is not an override: it hands the status back to routing.
    """

    # `takes_work` as a filter on availability rows (routing.engine.rules.takes_work, kept equal by
    # tests/routing/test_rules_agree.py).
    TAKES_WORK = Q(status=AvailabilityStatus.AVAILABLE) | Q(
        status=AvailabilityStatus.BUSY, manual_override=False
    )

    agent = models.OneToOneField(
        HumanAgent, on_delete=models.CASCADE, primary_key=True, related_name="availability"
    )
    status = models.CharField(
        max_length=20, choices=AvailabilityStatus.choices, default=AvailabilityStatus.OFFLINE
    )
    status_since = models.DateTimeField()
    expected_available_at = models.DateTimeField(null=True, blank=True)
    manual_override = models.BooleanField(
        default=False,
        help_text="Set by a person or an integration, not by routing; routing leaves this status alone.",
    )
    override_reason = models.CharField(max_length=200, blank=True, help_text="Why, when given (optional).")
    current_load = models.PositiveSmallIntegerField(default=0)
    last_assigned_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the agent was last given work; between equally good agents, the one idle longest goes first.",
    )
    last_status_change = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "agent availabilities"
        constraints = [
            models.CheckConstraint(condition=Q(current_load__gte=0), name="availability_load_not_negative"),
            models.CheckConstraint(
                condition=Q(status__in=AvailabilityStatus.values), name="availability_status_valid"
            ),
        ]
        indexes = [
            # The routing pool walk (routing.selectors.candidates): per status, least loaded first, then
            # longest idle (never assigned first), read in index order so the walk stops once it is full.
            SqliteSafeIndex(
                "status",
                "current_load",
                F("last_assigned_at").asc(nulls_first=True),
                name="availability_status_load_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent.name}: {self.get_status_display()}"

    @property
    def takes_work(self) -> bool:
        """Whether the status lets routing give the agent work: `available`, or `busy` from capacity
        (a person's `busy` takes none until it is lifted). Capacity, activity and schedule are further
        rules (routing.engine.rules)."""
        return self.status == AvailabilityStatus.AVAILABLE or (
            self.status == AvailabilityStatus.BUSY and not self.manual_override
        )


def snapshot_period_starts(now: Any) -> tuple[Any, Any, Any]:
    """The starts of the UTC day, ISO week and month `now` falls in: the periods the snapshot's
    counters count (routing.metrics rebuilds them with these boundaries)."""
    import datetime as dt

    now = now.astimezone(dt.UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today - dt.timedelta(days=today.weekday()), today.replace(day=1)


class AgentPerformance(models.Model):
    """The agent's current performance snapshot (seed 000), rebuilt from case history by recompute and
    kept current by routing (each assignment counts, each completion refreshes the agent's figures).

    The period counters hold for the period they were last updated in; read through `cases_in_periods`
    (the API and the admin do), a counter from an earlier day, week or month reads 0, so nobody is shown
    yesterday's "cases today"."""

    agent = models.OneToOneField(
        HumanAgent, on_delete=models.CASCADE, primary_key=True, related_name="performance"
    )
    cases_today = models.PositiveIntegerField(default=0)
    cases_this_week = models.PositiveIntegerField(default=0)
    cases_this_month = models.PositiveIntegerField(default=0)
    avg_resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    csat_score = models.DecimalField(
        max_digits=3, decimal_places=2, null=True, blank=True, validators=CSAT_RANGE
    )
    escalation_rate = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True, validators=UNIT_INTERVAL
    )
    first_contact_resolution_rate = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True, validators=UNIT_INTERVAL
    )
    consecutive_difficult_cases = models.PositiveIntegerField(default=0)
    last_difficult_case_at = models.DateTimeField(null=True, blank=True)
    last_break_at = models.DateTimeField(null=True, blank=True)
    stress_score = models.DecimalField(max_digits=3, decimal_places=2, default=0, validators=UNIT_INTERVAL)
    legacy_workload = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The workload the previous system showed when the agent was brought over; kept for the "
        "record. The live load counts the agent's open work.",
    )
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "performance snapshot"
        constraints = [
            models.CheckConstraint(condition=_between("csat_score", 1, 5), name="performance_csat_range"),
            models.CheckConstraint(
                condition=_between("escalation_rate", 0, 1), name="performance_escalation_range"
            ),
            models.CheckConstraint(
                condition=_between("first_contact_resolution_rate", 0, 1), name="performance_fcr_range"
            ),
            models.CheckConstraint(condition=_between("stress_score", 0, 1), name="performance_stress_range"),
        ]

    def __str__(self) -> str:
        return self.agent.name

    def cases_in_periods(self, now: Any = None) -> tuple[int, int, int]:
        """(today, this week, this month) as of `now`: a counter last updated in an earlier period is 0."""
        today, week, month = snapshot_period_starts(now or timezone.now())
        stamp = self.last_updated
        if stamp is None:
            return self.cases_today, self.cases_this_week, self.cases_this_month
        return (
            self.cases_today if stamp >= today else 0,
            self.cases_this_week if stamp >= week else 0,
            self.cases_this_month if stamp >= month else 0,
        )

    @property
    def current_cases_today(self) -> int:
        return self.cases_in_periods()[0]

    @property
    def current_cases_this_week(self) -> int:
        return self.cases_in_periods()[1]

    @property
    def current_cases_this_month(self) -> int:
        return self.cases_in_periods()[2]

    @property
    def current_workload(self) -> int:
        """Seed 000's `current_workload`, derived from the one stored load (availability)."""
        availability = getattr(self.agent, "availability", None)
        return availability.current_load if availability else 0


class AgentPeriodMetricsBase(models.Model):
    """Every column of seed 001's AgentPerformanceMetrics; shared by the live table and its archive."""

    period_date = models.DateField()
    conversion_rate_hot = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True, validators=UNIT_INTERVAL
    )
    conversion_rate_warm = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True, validators=UNIT_INTERVAL
    )
    conversion_rate_cold = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True, validators=UNIT_INTERVAL
    )
    avg_handling_seconds = models.PositiveIntegerField(null=True, blank=True)
    csat_score = models.DecimalField(
        max_digits=3, decimal_places=2, null=True, blank=True, validators=CSAT_RANGE
    )
    cross_sell_rate = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True, validators=UNIT_INTERVAL
    )
    upsell_rate = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True, validators=UNIT_INTERVAL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.agent.name}, {self.period_date:%Y-%m-%d}"


def _period_checks(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.UniqueConstraint(fields=["agent", "period_date"], name=f"unique_agent_{prefix}"),
        *[
            models.CheckConstraint(condition=_between(field, 0, 1), name=f"{prefix}_{field}_range")
            for field in (
                "conversion_rate_hot",
                "conversion_rate_warm",
                "conversion_rate_cold",
                "cross_sell_rate",
                "upsell_rate",
            )
        ],
        models.CheckConstraint(condition=_between("csat_score", 1, 5), name=f"{prefix}_csat_range"),
    ]


class AgentPeriodMetrics(AgentPeriodMetricsBase):
    """Seed 001's materialized per-period performance (one row per agent and period date)."""

    agent = models.ForeignKey(HumanAgent, on_delete=models.CASCADE, related_name="period_metrics")

    history = HistoricalRecords()  # supervisors may correct a period's figures

    class Meta:
        verbose_name_plural = "agent period metrics"
        ordering = ["agent_id", "-period_date"]
        constraints = _period_checks("period")


class AgentPeriodMetricsArchive(AgentPeriodMetricsBase):
    """Period metrics older than the retention window, moved here by the monthly maintenance (the
    seed's "archive old performance data"): out of the live table, still queryable."""

    agent = models.ForeignKey(HumanAgent, on_delete=models.CASCADE, related_name="archived_period_metrics")
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "archived period metrics"
        verbose_name_plural = "archived period metrics"
        ordering = ["agent_id", "-period_date"]
        constraints = _period_checks("period_archive")
