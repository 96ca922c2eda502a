"""Routing API, mounted at /api/v1/routing/ by config.urls."""

from django.urls import path

from routing.api.views import CaseCompleteApi, CaseDetailApi, CaseRouteApi, CaseStartApi, QueueListApi

app_name = "routing-api"

urlpatterns = [
    path("cases/", CaseRouteApi.as_view(), name="case-route"),
    path("cases/<str:case_id>/", CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<str:case_id>/start/", CaseStartApi.as_view(), name="case-start"),
    path("cases/<str:case_id>/complete/", CaseCompleteApi.as_view(), name="case-complete"),
    path("queue/", QueueListApi.as_view(), name="queue-list"),
]
