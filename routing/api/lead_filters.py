"""Query-string filters of the lead routing lists (django-filter: a value a filter cannot use, such as an
unknown status, is a 400 naming the parameter; an empty value means the parameter is not given)."""

from __future__ import annotations

import django_filters

from config.filters import StrictBooleanFilter
from routing.models import (
    ExperimentStatus,
    Lead,
    LeadStatus,
    LeadTier,
    RoutingExperiment,
    RoutingRule,
    RuleType,
)


class LeadFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=LeadStatus.choices, label="Lead status.")
    tier = django_filters.ChoiceFilter(choices=LeadTier.choices, label="Score tier.")
    insurance_line = django_filters.CharFilter(label="Insurance line (exact), e.g. auto.")
    customer_segment = django_filters.CharFilter(label="Customer segment (exact), e.g. enterprise.")

    class Meta:
        model = Lead
        fields = ["status", "tier", "insurance_line", "customer_segment"]


class RoutingRuleFilter(django_filters.FilterSet):
    rule_type = django_filters.ChoiceFilter(choices=RuleType.choices, label="Rule type.")
    is_active = StrictBooleanFilter(label="true: only active rules; false: only inactive ones.")

    class Meta:
        model = RoutingRule
        fields = ["rule_type", "is_active"]


class RoutingExperimentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ExperimentStatus.choices, label="Experiment status.")

    class Meta:
        model = RoutingExperiment
        fields = ["status"]
