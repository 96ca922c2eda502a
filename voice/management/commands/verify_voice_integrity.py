"""The seed's validation queries and the voice app's other integrity checks (voice.integrity)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.management import format_table
from voice.integrity import CHECKS, UnknownCheck, knowledge_by_category, voice_integrity_run
from voice.models import AgentConfig, KnowledgeEntry, Location


class Command(BaseCommand):
    help = "Verify voice data (orphans, cross-tenant links, double bookings, configurations); exit 1 on a problem."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="append", dest="checks", metavar="NAME", help="Only this check."
        )
        parser.add_argument("--list", action="store_true", help="List the checks and exit.")

    def handle(self, *args: object, **options: object) -> None:
        if options["list"]:
            self.stdout.write(
                format_table(["check", "description"], [[c.name, c.description] for c in CHECKS.values()])
            )
            return
        try:
            results = voice_integrity_run(options["checks"])  # type: ignore[arg-type]
        except UnknownCheck as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            format_table(
                ["check", "status", "count", "sample ids"],
                [[r.name, "OK" if r.ok else "FAIL", r.count, ", ".join(r.sample)] for r in results],
            )
        )
        if not options["checks"]:  # the seed's sample-data counts and its knowledge-by-category query
            self.stdout.write("")
            counts = [
                ["locations", Location.objects.count()],
                ["agent configurations", AgentConfig.objects.count()],
                ["knowledge base entries", KnowledgeEntry.objects.count()],
            ]
            self.stdout.write(format_table(["rows", "count"], counts))
            self.stdout.write("")
            self.stdout.write(format_table(["knowledge category", "entries"], knowledge_by_category()))
        failed = ", ".join(f"{r.name} ({r.count})" for r in results if not r.ok)
        if failed:
            raise CommandError(f"Voice integrity problems found: {failed}")
        self.stdout.write(self.style.SUCCESS(f"All {len(results)} voice checks passed."))
