"""Experiments of routing strategies: create and edit them with their variants, start, pause, complete,
assign leads (sticky, routing.engine.experiments) and compute the results (set-based aggregates, then the
pure statistics).

Rules held here (the database holds the rest: one running experiment, at most one control, allocations
in range, one assignment per lead):
- variants' allocations total exactly 100 % and exactly one is the control (checked on every write of
  the variants and again at start);
- a running or paused experiment, or one with assigned leads, refuses edits that would reshuffle them
  (allocations, order, adding or removing variants: routing.engine.experiments.reshuffles); its name,
  description and guardrails may change;
- a completed experiment changes no more.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from routing.engine.experiments import (
    AllocationError,
    Arm,
    ExperimentResults,
    VariantTotals,
    allocation_problems,
    bucket,
    choose_arm,
    experiment_results,
    reshuffles,
)
from routing.errors import ExperimentConflict, InvalidExperiment
from routing.models import (
    AssignmentQueue,
    ConversionOutcome,
    ExperimentStatus,
    Lead,
    LeadExperimentAssignment,
    LeadRoutingHistory,
    RoutingEvent,
    RoutingEventType,
    RoutingExperiment,
    RoutingExperimentVariant,
)
from routing.services.requests import strategy_for

VARIANT_FIELDS = ("name", "strategy", "parameters", "allocation", "is_control", "position")


def _arms(variants: list[dict[str, Any]] | list[RoutingExperimentVariant]) -> list[Arm]:
    arms = []
    for index, variant in enumerate(variants):
        get = variant.get if isinstance(variant, dict) else lambda key, v=variant: getattr(v, key)
        arms.append(
            Arm(
                variant_id=str(get("id") or get("name") or index),
                allocation=Decimal(str(get("allocation"))),
                is_control=bool(get("is_control")),
            )
        )
    return arms


def validate_variants(variants: list[dict[str, Any]]) -> None:
    """Raise InvalidExperiment naming `variants` when the allocations or the control are wrong, or a
    variant's strategy or parameters are not valid."""
    problems = allocation_problems(_arms(variants))
    names = [variant.get("name") for variant in variants]
    if len(set(names)) != len(names):
        problems.append("Variant names must be unique within the experiment.")
    for index, variant in enumerate(variants):
        try:
            strategy_for(variant.get("strategy") or None, variant.get("parameters") or None)
        except Exception as error:  # UnknownStrategy / invalid parameters, as the API reports them
            problems.append(f"Variant {index} ({variant.get('name')}): {getattr(error, 'detail', error)}")
    if problems:
        raise InvalidExperiment(reason=" ".join(problems), fields={"variants": problems})


def _ordered(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        (dict(variant, position=variant.get("position", index)) for index, variant in enumerate(variants)),
        key=lambda variant: (variant["position"], variant["name"]),
    )


@transaction.atomic
def experiment_create(*, variants: list[dict[str, Any]], **values: Any) -> RoutingExperiment:
    """A draft experiment with its variants (validated: allocations total 100 %, one control)."""
    variants = _ordered(variants)
    validate_variants(variants)
    values.pop("status", None)
    experiment = RoutingExperiment.objects.create(**values)
    RoutingExperimentVariant.objects.bulk_create(
        RoutingExperimentVariant(
            experiment=experiment, **{key: variant[key] for key in VARIANT_FIELDS if key in variant}
        )
        for variant in variants
    )
    return experiment


def _locked(experiment_id: Any) -> RoutingExperiment:
    from routing.errors import ExperimentNotFound

    experiment = (
        RoutingExperiment.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk=experiment_id)
        .first()
    )
    if experiment is None:
        raise ExperimentNotFound(experiment_id=experiment_id)
    return experiment


def experiment_frozen(experiment: RoutingExperiment) -> bool:
    """Whether its variants' allocations may no longer move (see the module docstring)."""
    return (
        experiment.status in (ExperimentStatus.RUNNING, ExperimentStatus.PAUSED)
        or LeadExperimentAssignment.objects.filter(experiment=experiment).exists()
    )


@transaction.atomic
def experiment_update(
    *, experiment_id: Any, variants: list[dict[str, Any]] | None = None, **values: Any
) -> RoutingExperiment:
    """Edit an experiment; `variants` (when given) replaces its variants, matched by name."""
    experiment = _locked(experiment_id)
    if experiment.status == ExperimentStatus.COMPLETED:
        raise ExperimentConflict(reason=f"Experiment {experiment.name} is completed and changes no more.")
    frozen = experiment_frozen(experiment)
    values.pop("status", None)
    if frozen and any(key in values for key in ("start_at",)) and experiment.status != ExperimentStatus.DRAFT:
        values.pop("start_at")
    if variants is not None:
        variants = _ordered(variants)
        validate_variants(variants)
        current = list(experiment.variants.order_by("position", "name"))
        by_name = {variant.name: variant for variant in current}
        after = [
            Arm(
                variant_id=str(by_name[v["name"]].pk) if v["name"] in by_name else f"new:{v['name']}",
                allocation=Decimal(str(v["allocation"])),
                is_control=bool(v.get("is_control")),
            )
            for v in variants
        ]
        if frozen:
            before = [Arm(str(v.pk), v.allocation, v.is_control) for v in current]
            changed_treatment = any(
                v["name"] in by_name
                and (
                    by_name[v["name"]].strategy != v.get("strategy")
                    or (by_name[v["name"]].parameters or {}) != (v.get("parameters") or {})
                    or by_name[v["name"]].is_control != bool(v.get("is_control"))
                )
                for v in variants
            )
            if reshuffles(before, after) or changed_treatment:
                raise ExperimentConflict(
                    reason=(
                        f"Experiment {experiment.name} is {experiment.status} (or has assigned leads): its "
                        "variants' allocations, order, strategies and control cannot change, as that would "
                        "reshuffle or re-treat the leads already assigned. Complete it and start a new one."
                    )
                )
        else:
            kept = {v["name"] for v in variants}
            experiment.variants.exclude(name__in=kept).delete()
            # Clear the control first so the partial unique index never sees two during the rewrite.
            experiment.variants.update(is_control=False)
            for variant in variants:
                fields = {key: variant[key] for key in VARIANT_FIELDS if key in variant}
                RoutingExperimentVariant.objects.update_or_create(
                    experiment=experiment, name=variant["name"], defaults=fields
                )
    for key, value in values.items():
        setattr(experiment, key, value)
    experiment.save()
    return experiment


@transaction.atomic
def experiment_start(*, experiment_id: Any, now: dt.datetime | None = None) -> RoutingExperiment:
    """Start a draft or resume a paused experiment: its variants must be valid and no other may run."""
    now = now or timezone.now()
    experiment = _locked(experiment_id)
    if experiment.status not in (ExperimentStatus.DRAFT, ExperimentStatus.PAUSED):
        raise ExperimentConflict(
            reason=f"Experiment {experiment.name} cannot start while {experiment.status}."
        )
    variants = list(experiment.variants.order_by("position", "name"))
    problems = allocation_problems([Arm(str(v.pk), v.allocation, v.is_control) for v in variants])
    if problems:
        raise InvalidExperiment(reason=" ".join(problems), fields={"variants": problems})
    running = (
        RoutingExperiment.objects.filter(status=ExperimentStatus.RUNNING).exclude(pk=experiment.pk).first()
    )
    if running is not None:
        raise ExperimentConflict(
            reason=f"Experiment {running.name} is running; one experiment runs at a time."
        )
    experiment.status = ExperimentStatus.RUNNING
    if experiment.start_at is None:
        experiment.start_at = now
    if experiment.end_at is not None and experiment.end_at <= experiment.start_at:
        experiment.end_at = None
    try:
        with transaction.atomic():
            experiment.save(update_fields=["status", "start_at", "end_at", "updated_at"])
    except IntegrityError:
        raise ExperimentConflict(
            reason="Another experiment started meanwhile; one experiment runs at a time."
        ) from None
    return experiment


@transaction.atomic
def experiment_pause(*, experiment_id: Any) -> RoutingExperiment:
    experiment = _locked(experiment_id)
    if experiment.status != ExperimentStatus.RUNNING:
        raise ExperimentConflict(
            reason=f"Experiment {experiment.name} cannot pause while {experiment.status}."
        )
    experiment.status = ExperimentStatus.PAUSED
    experiment.save(update_fields=["status", "updated_at"])
    return experiment


@transaction.atomic
def experiment_complete(*, experiment_id: Any, now: dt.datetime | None = None) -> RoutingExperiment:
    now = now or timezone.now()
    experiment = _locked(experiment_id)
    if experiment.status not in (ExperimentStatus.RUNNING, ExperimentStatus.PAUSED):
        raise ExperimentConflict(
            reason=f"Experiment {experiment.name} cannot complete while {experiment.status}."
        )
    experiment.status = ExperimentStatus.COMPLETED
    experiment.end_at = max(now, (experiment.start_at or now) + dt.timedelta(microseconds=1))
    experiment.save(update_fields=["status", "end_at", "updated_at"])
    return experiment


@transaction.atomic
def experiment_delete(*, experiment_id: Any) -> None:
    """Delete a draft experiment no lead was assigned in. One that ran keeps its record (complete it)."""
    experiment = _locked(experiment_id)
    if experiment.status != ExperimentStatus.DRAFT or experiment_frozen(experiment):
        raise ExperimentConflict(
            reason=f"Experiment {experiment.name} is {experiment.status} (or has assigned leads): only a "
            "draft nobody was assigned in can be deleted; complete it instead."
        )
    experiment.delete()


# --- assignment -------------------------------------------------------------------------------------


def experiment_variant_for(*, lead: Lead, now: dt.datetime) -> dict[str, Any] | None:
    """The lead's variant in the running experiment: its stored assignment, or a new sticky one
    (recorded with an `experiment_assigned` event). None when no experiment runs (or the lead was
    assigned in an experiment that no longer runs: it is routed with the default strategy)."""
    stored = (
        LeadExperimentAssignment.objects.filter(lead=lead).select_related("experiment", "variant").first()
    )
    if stored is not None:
        if stored.experiment.status != ExperimentStatus.RUNNING:
            return None
        return _as_choice(stored.experiment, stored.variant, stored.bucket)
    experiment = RoutingExperiment.objects.filter(status=ExperimentStatus.RUNNING).first()
    if experiment is None or (experiment.end_at is not None and experiment.end_at <= now):
        return None
    variants = list(experiment.variants.order_by("position", "name"))
    try:
        position = bucket(experiment.pk, lead.pk)
        arm = choose_arm([Arm(str(v.pk), v.allocation, v.is_control) for v in variants], position)
    except AllocationError:
        return None
    variant = next(v for v in variants if str(v.pk) == arm.variant_id)
    try:
        with transaction.atomic():
            LeadExperimentAssignment.objects.create(
                lead=lead, experiment=experiment, variant=variant, bucket=position, assigned_at=now
            )
    except IntegrityError:  # assigned concurrently: the stored one stands
        stored = LeadExperimentAssignment.objects.select_related("experiment", "variant").get(lead=lead)
        return _as_choice(stored.experiment, stored.variant, stored.bucket)
    RoutingEvent.objects.create(
        lead=lead,
        event_type=RoutingEventType.EXPERIMENT_ASSIGNED,
        created_at=now,
        data={"experiment": experiment.name, "variant": variant.name, "bucket": round(position, 6)},
    )
    return _as_choice(experiment, variant, position)


def _as_choice(
    experiment: RoutingExperiment, variant: RoutingExperimentVariant, position: float
) -> dict[str, Any]:
    return {
        "experiment_id": experiment.pk,
        "experiment": experiment.name,
        "variant_id": variant.pk,
        "variant": variant.name,
        "strategy": variant.strategy,
        "parameters": variant.parameters or {},
        "bucket": position,
    }


# --- results ----------------------------------------------------------------------------------------


def experiment_variant_totals(experiment: RoutingExperiment) -> list[VariantTotals]:
    """Units (leads assigned to the variant), conversions (their leads converted) and the guardrails
    per variant, in three grouped queries however many leads: SLA breach rate (share of the variant's
    leads with a breached queue entry) and mean time to first contact (seconds, contacted leads)."""
    variants = list(experiment.variants.order_by("position", "name"))
    counts = {
        row["variant_id"]: row
        for row in LeadExperimentAssignment.objects.filter(experiment=experiment)
        .values("variant_id")
        .annotate(
            units=Count("pk"),
            conversions=Count("pk", filter=Q(lead__status="converted")),
            contact_seconds=Avg(
                ExpressionWrapper(
                    F("lead__last_contacted_at") - F("lead__created_at"), output_field=DurationField()
                )
            ),
        )
        .order_by()
    }
    breached = dict(
        AssignmentQueue.objects.filter(sla_breached=True, lead__experiment_assignments__experiment=experiment)
        .values("lead__experiment_assignments__variant_id")
        .annotate(leads=Count("lead_id", distinct=True))
        .values_list("lead__experiment_assignments__variant_id", "leads")
        .order_by()
    )
    totals = []
    for variant in variants:
        row = counts.get(variant.pk, {})
        units = row.get("units", 0)
        contact = row.get("contact_seconds")
        totals.append(
            VariantTotals(
                variant_id=str(variant.pk),
                name=variant.name,
                allocation=variant.allocation,
                is_control=variant.is_control,
                units=units,
                conversions=row.get("conversions", 0),
                guardrails={
                    "sla_breach_rate": (breached.get(variant.pk, 0) / units) if units else None,
                    "time_to_first_contact_seconds": None
                    if contact is None
                    else (
                        contact.total_seconds() if hasattr(contact, "total_seconds") else float(contact) / 1e6
                    ),
                },
            )
        )
    return totals


def experiment_results_for(experiment: RoutingExperiment) -> ExperimentResults:
    return experiment_results(experiment_variant_totals(experiment))


__all__ = [
    "ConversionOutcome",
    "LeadRoutingHistory",
    "experiment_complete",
    "experiment_create",
    "experiment_delete",
    "experiment_frozen",
    "experiment_pause",
    "experiment_results_for",
    "experiment_start",
    "experiment_update",
    "experiment_variant_for",
    "validate_variants",
]
