"""The seed's step 3: demo data for a newcomer (`manage.py seed_voice_demo`, run by `make run`).

Two businesses: a dental practice with three branches in Boston (America/New_York) and a car
workshop with two in Chicago (America/Chicago); their services and providers, opening hours with a
holiday and special hours, agent configurations with different policies (an older version, the
active one, a location override), FAQ and policy facts, appointments for the coming week, and a
fortnight of calls with turns and events for the analytics.

Idempotent: organizations, locations, services, providers and facts are found by name and created
when missing; configurations, appointments and calls are created only for an organization that has
none yet, so a second run (on any later day) adds nothing. Everything is written through the voice
services, so the demo obeys the rules the back office enforces (hours, double booking, versions).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from voice.access import caller_for_organization
from voice.engine.hours import WEEKDAYS
from voice.errors import DoubleBooked, OutsideOpeningHours
from voice.models import Appointment, Call, KnowledgeEntry, Location, Organization, Provider, Service
from voice.services.appointments import appointment_book
from voice.services.configs import config_publish
from voice.services.knowledge import knowledge_create
from voice.services.locations import location_create, provider_create, service_create
from voice.services.telemetry import CallEnding, CallOpening, EventInput, TurnInput, call_ingest


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + count


def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _weekly(spec: dict[str, list[tuple[str, str]]]) -> list[dict[str, Any]]:
    return [
        {"weekday": day, "opens_at": _t(opens), "closes_at": _t(closes)}
        for day, intervals in spec.items()
        for opens, closes in intervals
    ]


WEEKDAY_SPLIT = {day: [("08:00", "12:00"), ("13:00", "17:00")] for day in WEEKDAYS[:5]}

BUSINESSES: list[dict[str, Any]] = [
    {
        "name": "Bright Smile Dental",
        "slug": "bright-smile",
        "time_zone": "America/New_York",
        "services": [("Cleaning", 45), ("Check-up", 30), ("Whitening", 60), ("Emergency visit", 30)],
        "providers": [
            ("Dr. Ana Ruiz", "Dentist", ["Check-up", "Whitening", "Emergency visit"]),
            ("Dr. Ben Okafor", "Dentist", ["Check-up", "Emergency visit"]),
            ("Mia Chen", "Hygienist", ["Cleaning"]),
            ("Sam Patel", "Hygienist", ["Cleaning", "Whitening"]),
        ],
        "locations": [
            {
                "name": "Downtown",
                "street": "120 Tremont St",
                "city": "Boston",
                "region": "ma",
                "postal_code": "02108",
                "phone": "+1 617 555 0101",
                "hours": {**WEEKDAY_SPLIT, "saturday": [("09:00", "13:00")]},
                "providers": ["Dr. Ana Ruiz", "Mia Chen", "Sam Patel"],
                "services": ["Cleaning", "Check-up", "Whitening", "Emergency visit"],
            },
            {
                "name": "Cambridge",
                "street": "55 Massachusetts Ave",
                "city": "Cambridge",
                "region": "MA",
                "postal_code": "02139",
                "phone": "+1 617 555 0102",
                "hours": WEEKDAY_SPLIT,
                "providers": ["Dr. Ben Okafor", "Mia Chen"],
                "services": ["Cleaning", "Check-up", "Emergency visit"],
            },
            {
                "name": "Somerville",
                "street": "9 Davis Sq",
                "city": "Somerville",
                "region": "MA",
                "postal_code": "02144",
                "phone": "+1 617 555 0103",
                "hours": {day: [("10:00", "18:00")] for day in WEEKDAYS[1:6]},
                "providers": ["Dr. Ben Okafor", "Sam Patel"],
                "services": ["Cleaning", "Check-up", "Whitening"],
            },
        ],
        "configs": [
            (
                {
                    "business_rules": {"booking_lead_time_minutes": 60, "max_booking_days_ahead": 60},
                    "escalation_policy": {"escalate_on_request": True, "max_failed_attempts": 3},
                    "behavior": {"voice": "alloy", "language": "en", "speaking_rate": 1.0},
                },
                {"greeting": "Thanks for calling Bright Smile Dental, how can I help?"},
                "First configuration.",
                None,
            ),
            (
                {
                    "business_rules": {
                        "booking_lead_time_minutes": 120,
                        "max_booking_days_ahead": 90,
                        "cancellation_notice_hours": 24,
                        "require_confirmation": True,
                    },
                    "escalation_policy": {
                        "escalate_on_request": True,
                        "max_failed_attempts": 2,
                        "sentiment_threshold": -0.4,
                        "transfer_number": "+16175550100",
                        "after_hours_action": "callback",
                    },
                    "behavior": {
                        "voice": "alloy",
                        "language": "en",
                        "speaking_rate": 1.05,
                        "interruption_sensitivity": "medium",
                        "confirm_before_booking": True,
                    },
                },
                {
                    "greeting": "Thank you for calling Bright Smile Dental. Are you calling to book, change "
                    "or cancel an appointment?",
                    "after_hours": "Our offices are closed now. I can book you in or arrange a call back.",
                },
                "Escalate sooner on frustrated callers; confirm bookings; 24 h cancellation notice.",
                None,
            ),
            (
                {
                    "business_rules": {"booking_lead_time_minutes": 30, "allow_same_day_booking": True},
                    "escalation_policy": {"max_failed_attempts": 2, "transfer_number": "+16175550101"},
                    "behavior": {"voice": "alloy", "language": "en"},
                },
                {"greeting": "Bright Smile Downtown, open Saturdays too. How can I help?"},
                "Downtown takes same-day and Saturday bookings.",
                "Downtown",
            ),
        ],
        "facts": [
            (
                "hours",
                "Opening hours",
                "Downtown and Cambridge are open Monday to Friday 8 am to noon and 1 to 5 pm; Downtown also Saturdays 9 am to 1 pm. Somerville is open Tuesday to Saturday 10 am to 6 pm.",
                ["hours", "opening"],
                90,
                None,
            ),
            (
                "business_info",
                "Parking",
                "Downtown has no parking of its own; the Boston Common garage is a five minute walk. Cambridge and Somerville have free parking behind the building.",
                ["parking", "directions"],
                70,
                None,
            ),
            (
                "policies",
                "Cancellation policy",
                "Please cancel or reschedule at least 24 hours ahead; late cancellations may be charged a $40 fee.",
                ["cancellation", "fees"],
                80,
                None,
            ),
            (
                "policies",
                "Insurance",
                "We accept Delta Dental, Cigna and MetLife. Bring your insurance card to your first visit.",
                ["insurance", "billing"],
                75,
                None,
            ),
            (
                "services",
                "Teeth whitening",
                "In-office whitening takes about an hour at Downtown and Somerville. It is not covered by insurance.",
                ["whitening", "cosmetic"],
                60,
                None,
            ),
            (
                "faq",
                "Do you take walk-ins?",
                "Emergency visits can be seen the same day when a dentist is free; call and we will find the earliest slot.",
                ["walk-in", "emergency"],
                65,
                None,
            ),
            (
                "faq",
                "New patients",
                "New patients are welcome at every branch. Please arrive 15 minutes early to fill in a health form.",
                ["new-patient", "forms"],
                55,
                None,
            ),
            (
                "business_info",
                "Saturday hours at Downtown",
                "Downtown is open Saturdays from 9 am to 1 pm for check-ups and cleanings.",
                ["hours", "saturday"],
                85,
                "Downtown",
            ),
        ],
    },
    {
        "name": "Northside Auto Care",
        "slug": "northside-auto",
        "time_zone": "America/Chicago",
        "services": [
            ("Oil change", 30),
            ("Brake inspection", 60),
            ("Tire rotation", 30),
            ("Diagnostics", 45),
        ],
        "providers": [
            ("Luis Ortega", "Mechanic", ["Oil change", "Brake inspection", "Diagnostics"]),
            ("Dana Brooks", "Mechanic", ["Oil change", "Tire rotation"]),
            ("Kim Nguyen", "Technician", ["Diagnostics", "Tire rotation"]),
        ],
        "locations": [
            {
                "name": "Lincoln Park",
                "street": "2300 N Clark St",
                "city": "Chicago",
                "region": "IL",
                "postal_code": "60614",
                "phone": "+1 312 555 0201",
                "hours": {
                    **{day: [("07:30", "18:00")] for day in WEEKDAYS[:5]},
                    "saturday": [("08:00", "14:00")],
                },
                "providers": ["Luis Ortega", "Dana Brooks"],
                "services": ["Oil change", "Brake inspection", "Tire rotation"],
            },
            {
                "name": "Evanston",
                "street": "1600 Sherman Ave",
                "city": "Evanston",
                "region": "IL",
                "postal_code": "60201",
                "phone": "+1 847 555 0202",
                "hours": {day: [("08:00", "17:00")] for day in WEEKDAYS[:5]},
                "providers": ["Kim Nguyen", "Dana Brooks"],
                "services": ["Oil change", "Tire rotation", "Diagnostics"],
            },
        ],
        "configs": [
            (
                {
                    "business_rules": {"booking_lead_time_minutes": 240, "allow_same_day_booking": False},
                    "escalation_policy": {
                        "escalate_on_request": True,
                        "max_failed_attempts": 3,
                        "keywords": ["accident", "tow"],
                    },
                    "behavior": {"voice": "verse", "language": "en", "interruption_sensitivity": "high"},
                },
                {"greeting": "Northside Auto Care, what can we do for your car today?"},
                "Workshop configuration.",
                None,
            ),
        ],
        "facts": [
            (
                "hours",
                "Workshop hours",
                "Lincoln Park is open weekdays 7:30 am to 6 pm and Saturdays 8 am to 2 pm; Evanston weekdays 8 am to 5 pm.",
                ["hours"],
                90,
                None,
            ),
            (
                "services",
                "Oil change",
                "A synthetic oil change takes about 30 minutes and costs $79, filter included.",
                ["oil", "pricing"],
                70,
                None,
            ),
            (
                "policies",
                "Towing",
                "We do not tow; for an accident or a car that will not start, call Chicago Towing at 312-555-0299 and ask for delivery to us.",
                ["towing", "accident"],
                85,
                None,
            ),
            (
                "faq",
                "Can I wait while you work?",
                "Yes, both workshops have a waiting room with wifi and coffee.",
                ["waiting", "wifi"],
                40,
                None,
            ),
        ],
    },
]

EXCEPTIONS = [
    ("12-25", True, None, None, "Christmas Day"),
    ("01-01", True, None, None, "New Year's Day"),
    ("12-24", False, "08:00", "12:00", "Christmas Eve"),
]


def _exceptions(today: dt.date) -> list[dict[str, Any]]:
    rows = []
    for month_day, closed, opens, closes, reason in EXCEPTIONS:
        year = today.year if f"{today:%m-%d}" <= month_day else today.year + 1
        rows.append(
            {
                "date": dt.date.fromisoformat(f"{year}-{month_day}"),
                "closed": closed,
                "opens_at": _t(opens) if opens else None,
                "closes_at": _t(closes) if closes else None,
                "reason": reason,
            }
        )
    return rows


@transaction.atomic
def demo_seed(*, now: dt.datetime | None = None, seed: int = 42) -> SeedReport:
    now = now or timezone.now()
    report = SeedReport()
    rng = random.Random(seed)
    for business in BUSINESSES:
        organization, created = Organization.objects.get_or_create(
            slug=business["slug"], defaults={"name": business["name"]}
        )
        if created:
            report.add("organizations")
        _seed_business(organization, business, now=now, rng=rng, report=report)
    return report


def _seed_business(
    organization: Organization,
    business: dict[str, Any],
    *,
    now: dt.datetime,
    rng: random.Random,
    report: SeedReport,
) -> None:
    caller = caller_for_organization(organization)
    zone = ZoneInfo(business["time_zone"])
    services = {}
    for name, minutes in business["services"]:
        service = Service.objects.filter(organization=organization, name=name).first()
        if service is None:
            service = service_create(caller=caller, name=name, duration_minutes=minutes)
            report.add("services")
        services[name] = service
    providers = {}
    for name, title, performs in business["providers"]:
        provider = Provider.objects.filter(organization=organization, name=name).first()
        if provider is None:
            provider = provider_create(
                caller=caller, name=name, title=title, services=[services[s] for s in performs]
            )
            report.add("providers")
        providers[name] = provider
    locations = {}
    for spec in business["locations"]:
        location = Location.objects.filter(organization=organization, name=spec["name"]).first()
        if location is None:
            location = location_create(
                caller=caller,
                name=spec["name"],
                street=spec["street"],
                city=spec["city"],
                region=spec["region"],
                postal_code=spec["postal_code"],
                country="us",
                time_zone=business["time_zone"],
                phone=spec["phone"],
                hours=_weekly(spec["hours"]),
                exceptions=_exceptions(now.astimezone(zone).date()),
                services=[services[s] for s in spec["services"]],
                providers=[providers[p] for p in spec["providers"]],
            )
            report.add("locations")
        locations[spec["name"]] = location
    if not organization.agent_configs.exists():
        # Published in order, each active at once: the last org-wide one stays active, the first is
        # the history (older calls ran it), and the override is active for its location.
        for policies, scripts, notes, location_name in business["configs"]:
            config_publish(
                caller=caller,
                policies=policies,
                script_overrides=scripts,
                notes=notes,
                location=locations[location_name] if location_name else None,
            )
            report.add("agent configurations")
    for category, title, content, tags, priority, location_name in business["facts"]:
        if not KnowledgeEntry.objects.filter(organization=organization, title=title).exists():
            knowledge_create(
                caller=caller,
                category=category,
                title=title,
                content=content,
                tags=tags,
                priority=priority,
                location=locations[location_name] if location_name else None,
            )
            report.add("knowledge base entries")
    if not Appointment.objects.filter(organization=organization).exists():
        _seed_appointments(
            caller, organization, locations, services, now=now, zone=zone, rng=rng, report=report
        )
    if not Call.objects.filter(organization=organization).exists():
        _seed_calls(caller, organization, locations, now=now, rng=rng, report=report)


def _area(organization: Organization) -> str:
    """Local-looking numbers: Boston's area code for the dental practice, Chicago's for the garage."""
    return "+1617555" if organization.slug == "bright-smile" else "+1312555"


CUSTOMERS = [
    "Alex Kim",
    "Jordan Lee",
    "Taylor Morgan",
    "Casey Rivera",
    "Riley Brooks",
    "Jamie Fox",
    "Morgan Diaz",
]


def _seed_appointments(
    caller: Any,
    organization: Organization,
    locations: dict[str, Location],
    services: dict[str, Service],
    *,
    now: dt.datetime,
    zone: ZoneInfo,
    rng: random.Random,
    report: SeedReport,
) -> None:
    today = now.astimezone(zone).date()
    area = _area(organization)
    for offset in range(1, 8):
        day = today + dt.timedelta(days=offset)
        for location in locations.values():
            offered = list(location.services.all())
            staff = list(location.providers.all())
            for hour in (9, 10, 11, 14, 15, 16):
                if rng.random() < 0.45:
                    continue
                service = rng.choice(offered)
                able = [p for p in staff if p.services.filter(pk=service.pk).exists()]
                if not able:
                    continue
                start = dt.datetime.combine(day, dt.time(hour, rng.choice([0, 30])), tzinfo=zone)
                try:
                    appointment_book(
                        caller=caller,
                        location=location,
                        service=service,
                        provider=rng.choice(able),
                        customer_name=rng.choice(CUSTOMERS),
                        customer_phone=f"{area}{rng.randint(1000, 9999)}",
                        start_at=start,
                        status=rng.choice(["scheduled", "confirmed"]),
                        now=now,
                    )
                except (OutsideOpeningHours, DoubleBooked):
                    continue  # closed that day or hour, or the provider is taken: the rules hold
                report.add("appointments")


def _seed_calls(
    caller: Any,
    organization: Organization,
    locations: dict[str, Location],
    *,
    now: dt.datetime,
    rng: random.Random,
    report: SeedReport,
) -> None:
    configs = list(organization.agent_configs.order_by("version"))
    statuses = ["completed"] * 7 + ["transferred"] * 2 + ["abandoned", "failed"]
    outcomes = {"completed": ["appointment_booked", "question_answered", "appointment_rescheduled"]}
    for number in range(1, 41):
        location = rng.choice(list(locations.values()))
        started = now - dt.timedelta(days=rng.uniform(0.2, 14), minutes=rng.randint(0, 600))
        override = next((c for c in configs if c.location_id == location.pk), None)
        org_wide = [c for c in configs if c.location_id is None]
        config = override or (org_wide[0] if started < now - dt.timedelta(days=7) else org_wide[-1])
        status = rng.choice(statuses)
        turns, events, clock = [], [], started
        for index in range(rng.randint(4, 12)):
            asr, llm, tts = rng.randint(80, 260), rng.randint(250, 1400), rng.randint(90, 300)
            speaker = "caller" if index % 2 == 0 else "agent"
            turns.append(
                TurnInput(
                    turn_index=index,
                    speaker=speaker,
                    text="I'd like to book a cleaning next week."
                    if speaker == "caller"
                    else "Sure, which day suits you?",
                    asr_confidence=round(rng.uniform(0.7, 0.99), 2) if speaker == "caller" else None,
                    prompt_tokens=rng.randint(300, 1200) if speaker == "agent" else None,
                    completion_tokens=rng.randint(20, 120) if speaker == "agent" else None,
                    sentiment=round(rng.uniform(-0.6, 0.8), 2),
                    latency_asr_ms=asr if speaker == "caller" else None,
                    latency_llm_ms=llm if speaker == "agent" else None,
                    latency_tts_ms=tts if speaker == "agent" else None,
                    latency_total_ms=asr + llm + tts if speaker == "agent" else asr,
                    interrupted=speaker == "agent" and rng.random() < 0.1,
                    occurred_at=clock,
                )
            )
            clock += dt.timedelta(seconds=rng.randint(4, 20))
        if rng.random() < 0.3:
            events.append(
                EventInput(
                    event_type="digression",
                    event_data={
                        "originalIntent": "book_appointment",
                        "digressionTopic": "business_hours",
                        "returnSuccessful": True,
                    },
                    turn_index=1,
                    occurred_at=started + dt.timedelta(seconds=10),
                )
            )
        if status == "transferred":
            events.append(
                EventInput(
                    event_type="escalation",
                    event_data={"reason": "caller asked for a person", "target": "front desk"},
                    turn_index=len(turns) - 1,
                    occurred_at=clock,
                )
            )
        call_ingest(
            caller=caller,
            opening=CallOpening(
                call_id=f"demo-{organization.slug}-{number:04d}",
                started_at=started,
                location=location,
                agent_config=config,
                caller_phone=f"{_area(organization)}{rng.randint(1000, 9999)}",
            ),
            ending=CallEnding(
                ended_at=clock,
                status=status,
                outcome=rng.choice(outcomes.get(status, ["transferred_to_staff"]))
                if status != "failed"
                else "",
                transcript="\n".join(f"{t.speaker}: {t.text}" for t in turns),
            ),
            turns=turns,
            events=events,
        )
        report.add("calls")
