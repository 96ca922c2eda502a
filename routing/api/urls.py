"""Routing API, mounted at /api/v1/routing/ by config.urls.

`<case_id:...>` matches exactly the characters a case id may hold (routing.models
CASE_ID_CHARACTERS, the pattern of the model's validator), so every case the API creates is reachable at its own URL and a path that could
never name a case is not routed to the views at all. Length is left to the views, so an over-long id
gets the API's JSON 404 rather than the site's page.
"""

from django.urls import path, register_converter

from config.views import ApiIndexView
from routing.api import lead_views
from routing.api.views import CaseCompleteApi, CaseDetailApi, CaseRouteApi, CaseStartApi, QueueListApi
from routing.models import CASE_ID_CHARACTERS


class CaseIdConverter:
    regex = CASE_ID_CHARACTERS

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(CaseIdConverter, "case_id")

app_name = "routing-api"

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}

urlpatterns = [
    path(
        "",
        ApiIndexView.as_view(
            name="Routing",
            links=(
                ("queue", "routing-api:queue-list"),
                ("leads", "routing-api:lead-list"),
                ("assignment_queue", "routing-api:assignment-queue"),
                ("rules", "routing-api:rule-list"),
                ("experiments", "routing-api:experiment-list"),
            ),
        ),
        name="index",
    ),
    path("cases/", CaseRouteApi.as_view(), name="case-route"),
    path("cases/<case_id:case_id>/", CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<case_id:case_id>/start/", CaseStartApi.as_view(), name="case-start"),
    path("cases/<case_id:case_id>/complete/", CaseCompleteApi.as_view(), name="case-complete"),
    path("queue/", QueueListApi.as_view(), name="queue-list"),
    # Lead routing: ids are UUIDs (`<uuid:...>`), so a path that cannot name a row is a JSON 404.
    path("leads/", lead_views.LeadViewSet.as_view(LIST), name="lead-list"),
    path("leads/<uuid:id>/", lead_views.LeadViewSet.as_view({"get": "retrieve"}), name="lead-detail"),
    path("leads/<uuid:id>/route/", lead_views.LeadRouteApi.as_view(), name="lead-route"),
    path("leads/<uuid:id>/outcome/", lead_views.LeadOutcomeApi.as_view(), name="lead-outcome"),
    path("leads/<uuid:id>/events/", lead_views.LeadEventsApi.as_view(), name="lead-events"),
    path("leads/<uuid:id>/history/", lead_views.LeadRoutingHistoryApi.as_view(), name="lead-history"),
    path("assignment-queue/", lead_views.AssignmentQueueApi.as_view(), name="assignment-queue"),
    path("rules/", lead_views.RoutingRuleViewSet.as_view(LIST), name="rule-list"),
    path("rules/<uuid:id>/", lead_views.RoutingRuleViewSet.as_view(DETAIL), name="rule-detail"),
    path("rules/<uuid:id>/test/", lead_views.RuleTestApi.as_view(), name="rule-test"),
    path("experiments/", lead_views.RoutingExperimentViewSet.as_view(LIST), name="experiment-list"),
    path(
        "experiments/<uuid:id>/",
        lead_views.RoutingExperimentViewSet.as_view(DETAIL),
        name="experiment-detail",
    ),
    path("experiments/<uuid:id>/start/", lead_views.ExperimentStartApi.as_view(), name="experiment-start"),
    path("experiments/<uuid:id>/pause/", lead_views.ExperimentPauseApi.as_view(), name="experiment-pause"),
    path(
        "experiments/<uuid:id>/complete/",
        lead_views.ExperimentCompleteApi.as_view(),
        name="experiment-complete",
    ),
    path(
        "experiments/<uuid:id>/results/",
        lead_views.ExperimentResultsApi.as_view(),
        name="experiment-results",
    ),
]
