"""Voice API: thin views. Serializers validate, voice.services write, voice.selectors read.

Every view reads through selectors that take the caller (voice.api.base resolves it per request), so
tenant isolation is decided in voice.access and nowhere here: another organization's row is a 404,
and lists never contain one. Each write is one service call, so one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from config.api import rendered
from voice.api import filters
from voice.api.base import VoiceViewMixin, errors
from voice.api.serializers import (
    ActiveConfigSerializer,
    AgentConfigPublishSerializer,
    AgentConfigSerializer,
    AppointmentChangeSerializer,
    AppointmentSerializer,
    ConfigDiffSerializer,
    KnowledgeEntrySerializer,
    KnowledgeFactSerializer,
    LocationSerializer,
    OrganizationSerializer,
    ProviderSerializer,
    QuerySerializer,
    ServiceSerializer,
    SlotsQuerySerializer,
    SlotsSerializer,
)
from voice.api.telemetry_serializers import (
    CallAnalyticsSerializer,
    CallDetailSerializer,
    CallEndingSerializer,
    CallEventSerializer,
    CallIngestSerializer,
    CallOpeningSerializer,
    CallSerializer,
    EventsAppendSerializer,
    TurnsAppendSerializer,
    TurnSerializer,
)
from voice.features import Feature
from voice.models import (
    AgentConfig,
    Appointment,
    Call,
    KnowledgeCategory,
    KnowledgeEntry,
    Location,
    Organization,
    Provider,
    Service,
)
from voice.selectors import (
    MAX_LOOKUP,
    appointment_get,
    appointment_list,
    call_analytics,
    call_get,
    call_list,
    config_active,
    config_by_version,
    config_diff,
    config_get,
    config_list,
    knowledge_get,
    knowledge_list,
    knowledge_lookup,
    location_free_slots,
    location_get,
    location_list,
    organization_list,
    provider_get,
    provider_list,
    service_get,
    service_list,
)
from voice.services import (
    TRANSITIONS,
    appointment_book,
    appointment_update,
    call_append_events,
    call_append_turns,
    call_close,
    call_ingest,
    call_open,
    config_activate,
    config_deactivate,
    config_publish,
    knowledge_create,
    knowledge_delete,
    knowledge_update,
    location_create,
    location_delete,
    location_update,
    provider_create,
    provider_delete,
    provider_update,
    service_create,
    service_delete,
    service_update,
)

ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The row's id.")


class VoiceViewSet(VoiceViewMixin, GenericViewSet):
    lookup_value_regex = r"[0-9]+"

    def context(self) -> dict[str, Any]:
        return {"caller": self.caller, "request": self.request}

    def validated(
        self, serializer_class: type[serializers.Serializer], **kwargs: Any
    ) -> serializers.Serializer:
        payload = serializer_class(context=self.context(), **kwargs)
        payload.is_valid(raise_exception=True)
        return payload

    def page(self, queryset: QuerySet, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return self.get_paginated_response(rendered(serializer_class, page, many=True))


# --- organizations -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Your organizations",
        description="The organizations you belong to, with your role; every organization for a superuser. "
        "Name one with the `organization` parameter when you belong to several.",
    )
)
class OrganizationViewSet(VoiceViewSet):
    queryset = Organization.objects.none()
    serializer_class = OrganizationSerializer
    filter_backends: list[Any] = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Listing one's organizations is how one learns which to choose: no choice is required here.
        from voice.access import caller_for_user

        super(VoiceViewMixin, self).initial(request, *args, **kwargs)
        request.voice_caller = caller_for_user(
            request.user, organization_slug=request.query_params.get("organization")
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(organization_list(caller=self.caller))
        return self.get_paginated_response(
            OrganizationSerializer(page, many=True, context=self.context()).data
        )


# --- locations, services, providers ----------------------------------------------------------------------

LOCATION_WRITES = (
    "Managers of the organization only. `hours` (weekday intervals), `exceptions` (dated: closed, or "
    "special hours), `service_ids` and `provider_ids` replace the stored sets when given and are left "
    "alone when omitted; send `[]` to clear one. Country codes, postal codes and region codes are "
    "upper-cased, whitespace is trimmed."
)


@extend_schema_view(
    list=extend_schema(
        summary="List locations", responses={200: LocationSerializer(many=True), **errors(400)}
    ),
    retrieve=extend_schema(
        summary="Get a location",
        parameters=[ID_PARAMETER],
        responses={200: LocationSerializer, **errors(404)},
    ),
    create=extend_schema(
        summary="Create a location",
        description=LOCATION_WRITES,
        responses={201: LocationSerializer, **errors(400)},
    ),
    update=extend_schema(
        summary="Replace a location",
        description=LOCATION_WRITES,
        parameters=[ID_PARAMETER],
        responses={200: LocationSerializer, **errors(400, 404)},
    ),
    partial_update=extend_schema(
        summary="Update a location",
        description=LOCATION_WRITES,
        parameters=[ID_PARAMETER],
        responses={200: LocationSerializer, **errors(400, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a location",
        description="Only a location nothing refers to; one with appointments, calls, configurations or "
        "facts is a 409 `in_use` (deactivate it instead: `is_active: false`).",
        parameters=[ID_PARAMETER],
        responses={204: OpenApiResponse(description="Deleted."), **errors(404, 409)},
    ),
)
class LocationViewSet(VoiceViewSet):
    feature = Feature.LOCATIONS
    queryset = Location.objects.none()
    serializer_class = LocationSerializer
    filterset_class = filters.LocationFilter
    search_fields = ["name", "city", "street", "postal_code"]
    ordering_fields = ["name", "city", "created_at"]
    ordering = ["name"]
    action_permissions = {"slots": "view"}

    def list(self, request: Request) -> Response:
        return self.page(location_list(caller=self.caller), LocationSerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(rendered(LocationSerializer, location_get(caller=self.caller, pk=pk)))

    def create(self, request: Request) -> Response:
        payload = self.validated(LocationSerializer, data=request.data)
        location = location_create(caller=self.caller, **payload.validated_data)
        return Response(
            rendered(LocationSerializer, location_get(caller=self.caller, pk=location.pk)),
            status=status.HTTP_201_CREATED,
        )

    def update(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=True)

    def _update(self, request: Request, pk: str, *, partial: bool) -> Response:
        location = location_get(caller=self.caller, pk=pk)
        payload = self.validated(LocationSerializer, instance=location, data=request.data, partial=partial)
        location_update(caller=self.caller, location=location, **payload.validated_data)
        return Response(rendered(LocationSerializer, location_get(caller=self.caller, pk=pk)))

    def destroy(self, request: Request, pk: str) -> Response:
        location_delete(caller=self.caller, location=location_get(caller=self.caller, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Free appointment slots at a location",
        description="Slots for a service over local dates date_from..date_to (at most 31 days), in the "
        "location's time zone: inside its opening hours (dated exceptions first), with the providers "
        "of the location who perform the service and have no appointment then (at any location). "
        "Slots start every `step_minutes` from each opening and last the service's duration; none "
        "starts before now plus the active configuration's `booking_lead_time_minutes`.",
        parameters=[ID_PARAMETER, SlotsQuerySerializer],
        responses={200: SlotsSerializer, **errors(400, 404)},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def slots(self, request: Request, pk: str) -> Response:
        location = location_get(caller=self.caller, pk=pk)
        query = self.validated(SlotsQuerySerializer, data=request.query_params).validated_data
        lead = 0
        from voice.features import feature_enabled

        if feature_enabled(Feature.AGENT_CONFIGS) and self.caller.organization is not None:
            active = config_active(caller=self.caller, location_id=location.pk).config
            if active is not None:
                lead = int(active.policies.get("business_rules", {}).get("booking_lead_time_minutes", 0))
        slots = location_free_slots(
            caller=self.caller,
            location=location,
            service=query["service"],
            date_from=query["date_from"],
            date_to=query["date_to"],
            provider=query.get("provider"),
            step_minutes=query["step_minutes"],
            lead_minutes=lead,
        )
        return Response(
            {
                "location": location.pk,
                "service": query["service"].pk,
                "time_zone": location.time_zone,
                "date_from": query["date_from"].isoformat(),
                "date_to": query["date_to"].isoformat(),
                "slots": [
                    {
                        "start": slot.start.isoformat(),
                        "end": slot.end.isoformat(),
                        "provider_ids": list(slot.provider_ids),
                    }
                    for slot in slots
                ],
            }
        )


def _crud_schema(kind: str, serializer: Any, *, delete_note: str = "") -> dict[str, Any]:
    return {
        "list": extend_schema(summary=f"List {kind}s", responses={200: serializer(many=True), **errors(400)}),
        "retrieve": extend_schema(
            summary=f"Get a {kind}", parameters=[ID_PARAMETER], responses={200: serializer, **errors(404)}
        ),
        "create": extend_schema(summary=f"Create a {kind}", responses={201: serializer, **errors(400)}),
        "update": extend_schema(
            summary=f"Replace a {kind}",
            parameters=[ID_PARAMETER],
            responses={200: serializer, **errors(400, 404)},
        ),
        "partial_update": extend_schema(
            summary=f"Update a {kind}",
            parameters=[ID_PARAMETER],
            responses={200: serializer, **errors(400, 404)},
        ),
        "destroy": extend_schema(
            summary=f"Delete a {kind}",
            description=delete_note,
            parameters=[ID_PARAMETER],
            responses={204: OpenApiResponse(description="Deleted."), **errors(404, 409)},
        ),
    }


IN_USE = "Only one nothing refers to; otherwise 409 `in_use` (deactivate it instead: `is_active: false`)."


@extend_schema_view(**_crud_schema("service", ServiceSerializer, delete_note=IN_USE))
class ServiceViewSet(VoiceViewSet):
    feature = Feature.LOCATIONS
    queryset = Service.objects.none()
    serializer_class = ServiceSerializer
    filterset_class = filters.ServiceFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "duration_minutes"]
    ordering = ["name"]

    def list(self, request: Request) -> Response:
        return self.page(service_list(caller=self.caller), ServiceSerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(rendered(ServiceSerializer, service_get(caller=self.caller, pk=pk)))

    def create(self, request: Request) -> Response:
        payload = self.validated(ServiceSerializer, data=request.data)
        service = service_create(caller=self.caller, **payload.validated_data)
        return Response(rendered(ServiceSerializer, service), status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=True)

    def _update(self, request: Request, pk: str, *, partial: bool) -> Response:
        service = service_get(caller=self.caller, pk=pk)
        payload = self.validated(ServiceSerializer, instance=service, data=request.data, partial=partial)
        return Response(
            rendered(
                ServiceSerializer,
                service_update(caller=self.caller, service=service, **payload.validated_data),
            )
        )

    def destroy(self, request: Request, pk: str) -> Response:
        service_delete(caller=self.caller, service=service_get(caller=self.caller, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(**_crud_schema("provider", ProviderSerializer, delete_note=IN_USE))
class ProviderViewSet(VoiceViewSet):
    feature = Feature.LOCATIONS
    queryset = Provider.objects.none()
    serializer_class = ProviderSerializer
    filterset_class = filters.ProviderFilter
    search_fields = ["name", "title", "email"]
    ordering_fields = ["name"]
    ordering = ["name"]

    def list(self, request: Request) -> Response:
        return self.page(provider_list(caller=self.caller), ProviderSerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(rendered(ProviderSerializer, provider_get(caller=self.caller, pk=pk)))

    def create(self, request: Request) -> Response:
        payload = self.validated(ProviderSerializer, data=request.data)
        provider = provider_create(caller=self.caller, **payload.validated_data)
        return Response(
            rendered(ProviderSerializer, provider_get(caller=self.caller, pk=provider.pk)),
            status=status.HTTP_201_CREATED,
        )

    def update(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=True)

    def _update(self, request: Request, pk: str, *, partial: bool) -> Response:
        provider = provider_get(caller=self.caller, pk=pk)
        payload = self.validated(ProviderSerializer, instance=provider, data=request.data, partial=partial)
        provider_update(caller=self.caller, provider=provider, **payload.validated_data)
        return Response(rendered(ProviderSerializer, provider_get(caller=self.caller, pk=pk)))

    def destroy(self, request: Request, pk: str) -> Response:
        provider_delete(caller=self.caller, provider=provider_get(caller=self.caller, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- appointments -------------------------------------------------------------------------------------------

TRANSITION_TEXT = "; ".join(
    f"{current} -> {', '.join(sorted(targets)) or 'nothing (final)'}"
    for current, targets in TRANSITIONS.items()
)
BOOKING_RULES = (
    "Refused with the reason (400) when the location, service or provider is inactive, the location "
    "does not offer the service, the provider does not work there or does not perform it, the time "
    "is in the past, or it is outside the location's opening hours in its own time zone "
    "(`outside_opening_hours`); 409 `provider_double_booked` when the provider has another "
    "appointment overlapping it (at any location)."
)


@extend_schema_view(
    list=extend_schema(
        summary="List appointments", responses={200: AppointmentSerializer(many=True), **errors(400)}
    ),
    retrieve=extend_schema(
        summary="Get an appointment",
        parameters=[ID_PARAMETER],
        responses={200: AppointmentSerializer, **errors(404)},
    ),
    create=extend_schema(
        summary="Book an appointment",
        description=BOOKING_RULES,
        request=AppointmentSerializer,
        responses={201: AppointmentSerializer, **errors(400, 409)},
    ),
    partial_update=extend_schema(
        summary="Reschedule, change the status of, or edit an appointment",
        description=f"A new time or provider is checked like a booking. Status transitions: {TRANSITION_TEXT}. "
        "A final appointment cannot change (409 `invalid_transition`). " + BOOKING_RULES,
        parameters=[ID_PARAMETER],
        request=AppointmentChangeSerializer,
        responses={200: AppointmentSerializer, **errors(400, 404, 409)},
    ),
)
class AppointmentViewSet(VoiceViewSet):
    feature = Feature.LOCATIONS
    queryset = Appointment.objects.none()
    serializer_class = AppointmentSerializer
    filterset_class = filters.AppointmentFilter
    search_fields = ["customer_name", "customer_phone"]
    ordering_fields = ["start_at", "created_at"]
    ordering = ["start_at", "pk"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def list(self, request: Request) -> Response:
        return self.page(appointment_list(caller=self.caller), AppointmentSerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(rendered(AppointmentSerializer, appointment_get(caller=self.caller, pk=pk)))

    def create(self, request: Request) -> Response:
        data = self.validated(AppointmentSerializer, data=request.data).validated_data
        appointment = appointment_book(caller=self.caller, **data)
        return Response(
            rendered(AppointmentSerializer, appointment_get(caller=self.caller, pk=appointment.pk)),
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request: Request, pk: str) -> Response:
        appointment = appointment_get(caller=self.caller, pk=pk)
        data = self.validated(AppointmentChangeSerializer, data=request.data, partial=True).validated_data
        appointment_update(caller=self.caller, appointment=appointment, **data)
        return Response(rendered(AppointmentSerializer, appointment_get(caller=self.caller, pk=pk)))


# --- agent configurations ---------------------------------------------------------------------------------


class DiffQuerySerializer(QuerySerializer):
    old = serializers.IntegerField(min_value=1, help_text="The older version number.")
    new = serializers.IntegerField(min_value=1, help_text="The newer version number.")


class ActiveQuerySerializer(QuerySerializer):
    location = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The location calling: its override if it has one, else the organization's.",
    )


@extend_schema_view(
    list=extend_schema(
        summary="List configuration versions",
        description="Newest first; every version ever published, active or not.",
        responses={200: AgentConfigSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(
        summary="Get a configuration version",
        parameters=[ID_PARAMETER],
        responses={200: AgentConfigSerializer, **errors(404)},
    ),
    create=extend_schema(
        summary="Publish a configuration version",
        description="Managers only. A new version number for the organization (counting across all its "
        "scopes); with `location`, an override for that location. Active at once unless "
        "`activate` is false. `policies` and `script_overrides` are validated against their "
        "documented schemas (unknown keys are refused). Published versions never change.",
        request=AgentConfigPublishSerializer,
        responses={201: AgentConfigSerializer, **errors(400)},
    ),
)
class AgentConfigViewSet(VoiceViewSet):
    feature = Feature.AGENT_CONFIGS
    queryset = AgentConfig.objects.none()
    serializer_class = AgentConfigSerializer
    filterset_class = filters.ConfigFilter
    ordering_fields = ["version", "created_at"]
    ordering = ["-version"]
    action_permissions = {"activate": "change", "deactivate": "change", "active": "view", "diff": "view"}

    def list(self, request: Request) -> Response:
        return self.page(config_list(caller=self.caller), AgentConfigSerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(rendered(AgentConfigSerializer, config_get(caller=self.caller, pk=pk)))

    def create(self, request: Request) -> Response:
        data = self.validated(AgentConfigPublishSerializer, data=request.data).validated_data
        config = config_publish(caller=self.caller, **data)
        return Response(
            rendered(AgentConfigSerializer, config_get(caller=self.caller, pk=config.pk)),
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="The active configuration (the voice pipeline's lookup)",
        description="The location's active override if it has one, else the organization's active "
        "configuration; `source` says which (`none`: no active configuration). An unknown location "
        "is a 400.",
        parameters=[ActiveQuerySerializer],
        responses={200: ActiveConfigSerializer, **errors(400)},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def active(self, request: Request) -> Response:
        query = self.validated(ActiveQuerySerializer, data=request.query_params)
        result = config_active(caller=self.caller, location_id=query.validated_data.get("location"))
        return Response(
            {
                "source": result.source,
                "config": rendered(AgentConfigSerializer, result.config) if result.config else None,
            }
        )

    @extend_schema(
        summary="Activate a configuration version (roll back or forward)",
        description="Managers only. The version becomes its scope's active configuration and the one "
        "active before is switched off; the history of versions is kept. Activating the active "
        "version changes nothing.",
        request=None,
        parameters=[ID_PARAMETER],
        responses={200: AgentConfigSerializer, **errors(404)},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def activate(self, request: Request, pk: str) -> Response:
        config = config_activate(caller=self.caller, config=config_get(caller=self.caller, pk=pk))
        return Response(rendered(AgentConfigSerializer, config_get(caller=self.caller, pk=config.pk)))

    @extend_schema(
        summary="Retire a location override",
        description="Managers only. The location falls back to the organization's configuration. The "
        "organization-wide configuration cannot be switched off (409 `organization_config_required`): "
        "activate another version instead.",
        request=None,
        parameters=[ID_PARAMETER],
        responses={200: AgentConfigSerializer, **errors(404, 409)},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def deactivate(self, request: Request, pk: str) -> Response:
        config = config_deactivate(caller=self.caller, config=config_get(caller=self.caller, pk=pk))
        return Response(rendered(AgentConfigSerializer, config_get(caller=self.caller, pk=config.pk)))

    @extend_schema(
        summary="What changed between two versions",
        description="Path by path (policies.escalation_policy.max_failed_attempts, script_overrides.greeting, "
        "notes, location): added, removed or changed, with both values.",
        parameters=[DiffQuerySerializer],
        responses={200: ConfigDiffSerializer, **errors(400, 404)},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def diff(self, request: Request) -> Response:
        query = self.validated(DiffQuerySerializer, data=request.query_params)
        old = config_by_version(caller=self.caller, version=query.validated_data["old"])
        new = config_by_version(caller=self.caller, version=query.validated_data["new"])
        return Response(rendered(ConfigDiffSerializer, config_diff(old=old, new=new)))


# --- calls ----------------------------------------------------------------------------------------------------

IDEMPOTENT = (
    "Idempotent on `call_id`: sending the same call again returns the stored one (200) and writes "
    "nothing; the same `call_id` with different content is a 409 `call_id_conflict`."
)


class AnalyticsQuerySerializer(QuerySerializer):
    since = serializers.DateTimeField(
        required=False, help_text="Calls started at or after (default: 30 days ago)."
    )
    until = serializers.DateTimeField(required=False, help_text="Calls started before (default: now).")
    location = serializers.IntegerField(required=False, min_value=1, help_text="Only this location's calls.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        until = attrs.get("until") or timezone.now()
        since = attrs.get("since") or until - dt.timedelta(days=30)
        if since >= until:
            raise serializers.ValidationError({"since": ["Must be before until."]})
        return {**attrs, "since": since, "until": until}


@extend_schema_view(
    list=extend_schema(
        summary="List calls",
        description="Newest first.",
        responses={200: CallSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(
        summary="A call with its turns and events",
        description="Turns carry the latency breakdown (ASR, LLM, TTS, total) and token counts; text and "
        "transcript are empty once sanitized.",
        parameters=[ID_PARAMETER],
        responses={200: CallDetailSerializer, **errors(404)},
    ),
    create=extend_schema(
        summary="Ingest a whole call",
        description="A finished call with its turns and events, in one transaction. " + IDEMPOTENT,
        request=CallIngestSerializer,
        responses={
            201: OpenApiResponse(CallDetailSerializer, description="Stored."),
            200: OpenApiResponse(CallDetailSerializer, description="Already stored with this content."),
            **errors(400, 409),
        },
    ),
)
class CallViewSet(VoiceViewSet):
    feature = Feature.TELEMETRY
    queryset = Call.objects.none()
    serializer_class = CallSerializer
    filterset_class = filters.CallFilter
    ordering_fields = ["started_at"]
    ordering = ["-started_at", "-pk"]
    action_permissions = {
        "stream": "add",
        "turns": "change",
        "events": "change",
        "close": "change",
        "analytics": "view",
    }

    def list(self, request: Request) -> Response:
        return self.page(call_list(caller=self.caller), CallSerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(rendered(CallDetailSerializer, call_get(caller=self.caller, pk=pk)))

    def _detail(self, call: Call, created: bool) -> Response:
        body = rendered(CallDetailSerializer, call_get(caller=self.caller, pk=call.pk))
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def create(self, request: Request) -> Response:
        payload = self.validated(CallIngestSerializer, data=request.data)
        call, created = call_ingest(
            caller=self.caller,
            opening=payload.opening(),
            ending=payload.ending(),
            turns=payload.turns_input(),
            events=payload.events_input(),
        )
        return self._detail(call, created)

    @extend_schema(
        summary="Open a streamed call",
        description="Starts a call in progress; add turns and events as they happen, then close it. "
        "Sending the same opening again returns the open call (200); the same `call_id` with a "
        "different opening, or of a call ingested whole, is a 409 `call_id_conflict`.",
        request=CallOpeningSerializer,
        responses={
            201: OpenApiResponse(CallDetailSerializer, description="Opened."),
            200: OpenApiResponse(CallDetailSerializer, description="Already open with this opening."),
            **errors(400, 409),
        },
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def stream(self, request: Request) -> Response:
        payload = self.validated(CallOpeningSerializer, data=request.data)
        call, created = call_open(caller=self.caller, opening=payload.opening())
        return self._detail(call, created)

    @extend_schema(
        summary="Append turns to a streamed call",
        description="Turns already stored under the same index with the same content are skipped (a "
        "retry); a different turn under a stored index is a 409 `turn_conflict`; a closed call takes "
        "nothing (409 `call_closed`). Answers the turns stored by this request.",
        request=TurnsAppendSerializer,
        parameters=[ID_PARAMETER],
        responses={200: TurnSerializer(many=True), **errors(400, 404, 409)},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def turns(self, request: Request, pk: str) -> Response:
        call = call_get(caller=self.caller, pk=pk)
        payload = self.validated(TurnsAppendSerializer, data=request.data)
        from voice.api.telemetry_serializers import TurnInputSerializer

        turns = [TurnInputSerializer().to_input(row) for row in payload.validated_data["turns"]]
        stored = call_append_turns(caller=self.caller, call=call, turns=turns)
        return Response(rendered(TurnSerializer, stored, many=True))

    @extend_schema(
        summary="Append events to a streamed call",
        description="An event identical to a stored one is skipped (a retry). `turn_index` must name a "
        "turn of the call. A closed call takes nothing (409 `call_closed`). Answers the events stored.",
        request=EventsAppendSerializer,
        parameters=[ID_PARAMETER],
        responses={200: CallEventSerializer(many=True), **errors(400, 404, 409)},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def events(self, request: Request, pk: str) -> Response:
        call = call_get(caller=self.caller, pk=pk)
        payload = self.validated(EventsAppendSerializer, data=request.data)
        from voice.api.telemetry_serializers import EventInputSerializer

        events = [EventInputSerializer.to_input(row) for row in payload.validated_data["events"]]
        stored = call_append_events(caller=self.caller, call=call, events=events)
        return Response(rendered(CallEventSerializer, stored, many=True))

    @extend_schema(
        summary="Close a streamed call",
        description="Its end, final status, outcome and transcript. Closing again with the same values "
        "returns the call; different values are a 409 `call_closed`.",
        request=CallEndingSerializer,
        parameters=[ID_PARAMETER],
        responses={200: CallDetailSerializer, **errors(400, 404, 409)},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def close(self, request: Request, pk: str) -> Response:
        call = call_get(caller=self.caller, pk=pk)
        payload = self.validated(CallEndingSerializer, data=request.data)
        call_close(caller=self.caller, call=call, ending=payload.ending())
        return self._detail(call, False)

    @extend_schema(
        summary="Call analytics per configuration version and per location",
        description="For calls started in [since, until): calls, completion and transfer rates, "
        "escalations, turns, interruptions, and the mean and p95 (nearest rank) turn latency of each "
        "stage (ASR, LLM, TTS, total).",
        parameters=[AnalyticsQuerySerializer],
        responses={200: CallAnalyticsSerializer, **errors(400)},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def analytics(self, request: Request) -> Response:
        query = self.validated(AnalyticsQuerySerializer, data=request.query_params)
        location_id = query.validated_data.get("location")
        if location_id is not None:
            location_get(caller=self.caller, pk=location_id)  # 404 for a location outside the scope
        result = call_analytics(
            caller=self.caller,
            since=query.validated_data["since"],
            until=query.validated_data["until"],
            location_id=location_id,
        )
        return Response(rendered(CallAnalyticsSerializer, result))


# --- knowledge base ----------------------------------------------------------------------------------------------


class LookupQuerySerializer(QuerySerializer):
    category = serializers.ChoiceField(choices=KnowledgeCategory.choices, required=False)
    tags = serializers.CharField(
        required=False, help_text="Comma-separated; facts with any of these tags (e.g. hours,parking)."
    )
    q = serializers.CharField(
        required=False, max_length=200, help_text="Text to search in title and content."
    )
    location = serializers.IntegerField(
        required=False, min_value=1, help_text="The calling location: its facts and the organization's."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LOOKUP, default=5)


@extend_schema_view(
    **_crud_schema(
        "knowledge base entry", KnowledgeEntrySerializer, delete_note="The entry's history is kept."
    )
)
class KnowledgeViewSet(VoiceViewSet):
    feature = Feature.KNOWLEDGE_BASE
    queryset = KnowledgeEntry.objects.none()
    serializer_class = KnowledgeEntrySerializer
    filterset_class = filters.KnowledgeFilter
    search_fields = ["title", "content"]
    ordering_fields = ["priority", "updated_at", "title"]
    ordering = ["category", "-priority", "pk"]
    action_permissions = {"lookup": "view"}

    def list(self, request: Request) -> Response:
        return self.page(knowledge_list(caller=self.caller), KnowledgeEntrySerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(rendered(KnowledgeEntrySerializer, knowledge_get(caller=self.caller, pk=pk)))

    def create(self, request: Request) -> Response:
        data = self.validated(KnowledgeEntrySerializer, data=request.data).validated_data
        entry = knowledge_create(caller=self.caller, **data)
        return Response(
            rendered(KnowledgeEntrySerializer, knowledge_get(caller=self.caller, pk=entry.pk)),
            status=status.HTTP_201_CREATED,
        )

    def update(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=True)

    def _update(self, request: Request, pk: str, *, partial: bool) -> Response:
        entry = knowledge_get(caller=self.caller, pk=pk)
        data = self.validated(
            KnowledgeEntrySerializer, instance=entry, data=request.data, partial=partial
        ).validated_data
        knowledge_update(caller=self.caller, entry=entry, **data)
        return Response(rendered(KnowledgeEntrySerializer, knowledge_get(caller=self.caller, pk=pk)))

    def destroy(self, request: Request, pk: str) -> Response:
        knowledge_delete(caller=self.caller, entry=knowledge_get(caller=self.caller, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Look up facts (the voice pipeline's knowledge lookup)",
        description="Active facts of the category with any of the tags, matching the text query "
        "(PostgreSQL full-text search: quoted phrases, -word to exclude, `or`), for the location (its "
        "own and the organization's) or the organization; highest priority first, then relevance, "
        "then the most recently updated; at most `limit`.",
        parameters=[LookupQuerySerializer],
        responses={200: KnowledgeFactSerializer(many=True), **errors(400)},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def lookup(self, request: Request) -> Response:
        query = self.validated(LookupQuerySerializer, data=request.query_params)
        data = query.validated_data
        facts = knowledge_lookup(
            caller=self.caller,
            category=data.get("category"),
            tags=[tag for tag in data.get("tags", "").split(",") if tag.strip()],
            query=data.get("q", ""),
            location_id=data.get("location"),
            limit=data["limit"],
        )
        return Response(rendered(KnowledgeFactSerializer, facts, many=True))
