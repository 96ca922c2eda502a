"""Routing API, mounted at /api/v1/routing/ by config.urls.

`<case_id:...>` matches exactly the characters a case id may hold (routing.models
CASE_ID_CHARACTERS, the pattern of the model's validator), so every case the API creates is reachable at its own URL and a path that could
never name a case is not routed to the views at all. Length is left to the views, so an over-long id
gets the API's JSON 404 rather than the site's page.
"""

from django.urls import path, register_converter

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

urlpatterns = [
    path("cases/", CaseRouteApi.as_view(), name="case-route"),
    path("cases/<case_id:case_id>/", CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<case_id:case_id>/start/", CaseStartApi.as_view(), name="case-start"),
    path("cases/<case_id:case_id>/complete/", CaseCompleteApi.as_view(), name="case-complete"),
    path("queue/", QueueListApi.as_view(), name="queue-list"),
]
