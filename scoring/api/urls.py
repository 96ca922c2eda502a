"""Scoring API (outbound calling), mounted at /api/v1/scoring/ by config.urls."""

from django.urls import path

from config.views import ApiIndexView
from scoring.api import views
from scoring.models import QueueType

app_name = "scoring-api"

urlpatterns = [
    path(
        "",
        ApiIndexView.as_view(
            name="Outbound scoring",
            links=(
                ("queue", "scoring-api:queue", f"queue_type={QueueType.UNSIGNED_USERS.value}"),
                ("callbacks", "scoring-api:callbacks"),
                ("conversions", "scoring-api:conversions"),
            ),
        ),
        name="index",
    ),
    path("score/", views.ScoreApi.as_view(), name="score"),
    path("queue/", views.QueueApi.as_view(), name="queue"),
    path("queue/claim/", views.QueueClaimApi.as_view(), name="queue-claim"),
    path("callbacks/", views.CallbacksApi.as_view(), name="callbacks"),
    path("call-sessions/", views.CallSessionsApi.as_view(), name="call-sessions"),
    path("conversions/", views.ConversionsApi.as_view(), name="conversions"),
]
