"""Telemetry ingestion (whole calls, idempotent) and streaming (open, append, close)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.factories.voice import AgentConfigFactory, LocationFactory
from voice.models import Call, CallEvent, Turn

pytestmark = pytest.mark.django_db

URL = "/api/v1/voice/calls/"


def whole_call(location: Any = None, **overrides: Any) -> dict[str, Any]:
    body = {
        "call_id": "vapi-7f3a",
        "location": location.pk if location else None,
        "config_version": 1,
        "caller_phone": "+1 617 555 0100",
        "started_at": "2030-01-07T15:00:00Z",
        "ended_at": "2030-01-07T15:03:10Z",
        "status": "completed",
        "outcome": "appointment_booked",
        "transcript": "caller: hi\nagent: hello",
        "turns": [
            {"index": 0, "speaker": "caller", "text": "I need a cleaning", "asr_confidence": 0.93, "latency_asr_ms": 140, "latency_total_ms": 140},
            {
                "index": 1, "speaker": "agent", "text": "Tuesday at ten?", "prompt_tokens": 812, "completion_tokens": 41,
                "sentiment": 0.4, "latency_llm_ms": 620, "latency_tts_ms": 180, "latency_total_ms": 800, "interrupted": True,
            },
        ],
        "events": [
            {"type": "digression", "turn_index": 1, "data": {"originalIntent": "book_appointment", "digressionTopic": "business_hours", "returnSuccessful": True}},
            {"type": "barge_in", "turn_index": 1},
        ],
    }  # fmt: skip
    body.update(overrides)
    return body


@pytest.fixture
def setup(org_a):
    AgentConfigFactory(organization=org_a)
    return LocationFactory(organization=org_a)


def test_a_whole_call_is_stored_with_its_turns_and_events(client_a, setup) -> None:
    response = client_a.post(URL, whole_call(setup), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["call_id"], body["config_version"], body["caller_phone"], body["turn_count"]) == (
        "vapi-7f3a",
        1,
        "+16175550100",
        2,
    )
    assert [turn["index"] for turn in body["turns"]] == [0, 1]
    assert body["turns"][1]["asr_confidence"] is None  # not reported: unknown, not 1.0
    assert body["turns"][1]["latency_llm_ms"] == 620 and body["turns"][1]["interrupted"] is True
    assert body["events"][0]["data"]["digressionTopic"] == "business_hours"
    call = Call.objects.get()
    assert call.turns.count() == 2 and call.events.count() == 2
    assert Turn.objects.filter(organization=call.organization).count() == 2


def test_sending_the_same_call_again_stores_nothing_new(client_a, setup) -> None:
    first = client_a.post(URL, whole_call(setup), format="json")
    again = client_a.post(URL, whole_call(setup), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert (Call.objects.count(), Turn.objects.count(), CallEvent.objects.count()) == (1, 2, 2)


def test_the_same_call_id_with_other_content_is_a_conflict(client_a, setup) -> None:
    client_a.post(URL, whole_call(setup), format="json")
    response = client_a.post(URL, whole_call(setup, outcome="question_answered"), format="json")
    assert response.status_code == 409 and response.json()["code"] == "call_id_conflict"
    assert Call.objects.get().outcome == "appointment_booked"


def test_the_call_id_is_per_organization(client_a, client_b, setup, org_b) -> None:
    AgentConfigFactory(organization=org_b)
    assert client_a.post(URL, whole_call(setup), format="json").status_code == 201
    assert client_b.post(URL, whole_call(None), format="json").status_code == 201
    assert Call.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"status": "in_progress"}, {"status"}),
        ({"ended_at": "2030-01-07T14:00:00Z"}, {"ended_at"}),
        ({"config_version": 7}, {"config_version"}),
        ({"call_id": "has space"}, {"call_id"}),
        ({"caller_phone": "555-0100"}, {"caller_phone"}),
        ({"extra": 1}, {"extra"}),
    ],
)
def test_invalid_calls_are_a_400_naming_the_field(client_a, setup, change, fields) -> None:
    response = client_a.post(URL, whole_call(setup, **change), format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == fields
    assert not Call.objects.exists()


def test_invalid_turns_and_events_are_named_and_nothing_is_stored(client_a, setup) -> None:
    body = whole_call(setup)
    body["turns"].append(copy.deepcopy(body["turns"][0]))  # index 0 twice
    body["events"].append({"type": "digression", "turn_index": 9, "data": {"originalIntent": "x"}})
    response = client_a.post(URL, body, format="json")
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["turns"] == ["[2]: turn index 0 given twice."]
    assert fields["events"] == [
        "[2]: turn_index 9 is not a turn of this call.",
        "[2].event_data: 'digressionTopic' is a required property",
        "[2].event_data: 'returnSuccessful' is a required property",
    ]
    assert not Call.objects.exists() and not Turn.objects.exists()


def test_a_turn_with_a_confidence_out_of_range_is_named_by_position(client_a, setup) -> None:
    body = whole_call(setup)
    body["turns"][0]["asr_confidence"] = 1.5
    response = client_a.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "turns": {"0": {"asr_confidence": ["Ensure this value is less than or equal to 1."]}}
    }


def test_another_organizations_location_is_a_400_like_a_missing_one(client_a, setup, tenant_b) -> None:
    response = client_a.post(URL, whole_call(tenant_b.location), format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "location": [f'Invalid pk "{tenant_b.location.pk}" - object does not exist.']
    }


# --- streaming --------------------------------------------------------------------------------------------


def opening(location: Any) -> dict[str, Any]:
    return {
        "call_id": "stream-1",
        "location": location.pk,
        "config_version": 1,
        "started_at": "2030-01-07T15:00:00Z",
    }


def test_a_streamed_call_opens_takes_turns_and_events_and_closes(client_a, setup) -> None:
    opened = client_a.post(f"{URL}stream/", opening(setup), format="json")
    assert opened.status_code == 201 and opened.json()["status"] == "in_progress"
    pk = opened.json()["id"]
    turns = client_a.post(f"{URL}{pk}/turns/", {"turns": whole_call()["turns"]}, format="json")
    assert turns.status_code == 200 and [t["index"] for t in turns.json()] == [0, 1]
    events = client_a.post(f"{URL}{pk}/events/", {"events": whole_call()["events"]}, format="json")
    assert events.status_code == 200 and len(events.json()) == 2
    closing = {"ended_at": "2030-01-07T15:04:00Z", "status": "transferred", "outcome": "sent_to_front_desk"}
    closed = client_a.post(f"{URL}{pk}/close/", closing, format="json")
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["turn_count"], len(closed.json()["events"])) == (
        "transferred",
        2,
        2,
    )


def test_streaming_retries_add_nothing(client_a, setup) -> None:
    pk = client_a.post(f"{URL}stream/", opening(setup), format="json").json()["id"]
    assert client_a.post(f"{URL}stream/", opening(setup), format="json").status_code == 200
    payload = {"turns": whole_call()["turns"]}
    client_a.post(f"{URL}{pk}/turns/", payload, format="json")
    again = client_a.post(f"{URL}{pk}/turns/", payload, format="json")
    assert again.status_code == 200 and again.json() == []
    events = {"events": whole_call()["events"][:1]}
    client_a.post(f"{URL}{pk}/events/", events, format="json")
    assert client_a.post(f"{URL}{pk}/events/", events, format="json").json() == []
    assert (Call.objects.count(), Turn.objects.count(), CallEvent.objects.count()) == (1, 2, 1)


def test_a_different_turn_under_a_stored_index_is_a_conflict(client_a, setup) -> None:
    pk = client_a.post(f"{URL}stream/", opening(setup), format="json").json()["id"]
    client_a.post(
        f"{URL}{pk}/turns/", {"turns": [{"index": 0, "speaker": "caller", "text": "hi"}]}, format="json"
    )
    response = client_a.post(
        f"{URL}{pk}/turns/", {"turns": [{"index": 0, "speaker": "caller", "text": "bye"}]}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "turn_conflict"


def test_a_closed_call_takes_nothing_more(client_a, setup) -> None:
    pk = client_a.post(f"{URL}stream/", opening(setup), format="json").json()["id"]
    closing = {"ended_at": "2030-01-07T15:04:00Z", "status": "completed"}
    client_a.post(f"{URL}{pk}/close/", closing, format="json")
    assert (
        client_a.post(f"{URL}{pk}/close/", closing, format="json").status_code == 200
    )  # same close: a retry
    different = client_a.post(f"{URL}{pk}/close/", {**closing, "status": "failed"}, format="json")
    late_turn = client_a.post(
        f"{URL}{pk}/turns/", {"turns": [{"index": 0, "speaker": "caller"}]}, format="json"
    )
    assert (different.status_code, late_turn.status_code) == (409, 409)
    assert late_turn.json()["code"] == "call_closed"


def test_an_ingested_call_id_cannot_be_opened_as_a_stream(client_a, setup) -> None:
    client_a.post(URL, whole_call(setup, call_id="stream-1"), format="json")
    assert client_a.post(f"{URL}stream/", opening(setup), format="json").status_code == 409


def test_an_event_must_name_a_turn_of_the_streamed_call(client_a, setup) -> None:
    pk = client_a.post(f"{URL}stream/", opening(setup), format="json").json()["id"]
    response = client_a.post(
        f"{URL}{pk}/events/", {"events": [{"type": "barge_in", "turn_index": 3}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"events": ["[0]: turn_index 3 is not a turn of this call."]}


def test_the_call_list_and_detail_query_counts_do_not_grow(
    client_a, setup, django_assert_num_queries
) -> None:
    for number in range(3):
        client_a.post(URL, whole_call(setup, call_id=f"c{number}"), format="json")
    pk = Call.objects.first().pk
    with django_assert_num_queries(6):
        assert client_a.get(URL).json()["count"] == 3
    # token, permissions (2), memberships, the call, its turns, its events
    with django_assert_num_queries(7):
        client_a.get(f"{URL}{pk}/")
    for number in range(3, 10):
        client_a.post(URL, whole_call(setup, call_id=f"c{number}"), format="json")
    with django_assert_num_queries(6):
        assert client_a.get(URL).json()["count"] == 10


@pytest.mark.parametrize("value", ["2030-01-07T15:00:00+20:00", "2030-01-07T15:00:00-23:59"])
def test_an_offset_postgresql_cannot_hold_is_converted_to_utc(client_a, setup, value) -> None:
    assert client_a.post(URL, whole_call(setup), format="json").status_code == 201
    response = client_a.get(URL, {"started_after": value})
    assert response.status_code == 200, response.content
    expected = 1 if value.endswith("+20:00") else 0  # 19:00Z the day before; 14:59Z the day after
    assert response.json()["count"] == expected


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:00-05:00", "yesterday"])
def test_an_instant_outside_the_calendar_is_400_naming_the_filter(client_a, setup, value) -> None:
    response = client_a.get(URL, {"started_before": value})
    assert response.status_code == 400, response.content
    assert "started_before" in response.json()["fields"]


@pytest.mark.parametrize("value", ["1.5", "99999999999", "one"])
def test_config_version_is_a_whole_number_in_range(client_a, setup, value) -> None:
    response = client_a.get(URL, {"config_version": value})
    assert response.status_code == 400, response.content
    assert "config_version" in response.json()["fields"]
