"""Create the first supervisor login for `make run`, once.

The password comes from DJANGO_SUPERUSER_PASSWORD or is generated and printed a single time; a second
run finds the login and leaves it alone.
"""

from __future__ import annotations

import os
import secrets

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Create the supervisor superuser if it does not exist (password printed once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default=os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin"))
        parser.add_argument("--email", default=os.environ.get("DJANGO_SUPERUSER_EMAIL", "admin@example.com"))

    @transaction.atomic
    def handle(self, *args, username: str, email: str, **options) -> None:
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Supervisor login '{username}' already exists; leaving it unchanged.")
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email=email, password=password)
        supervisors = Group.objects.filter(name="Supervisors").first()
        if supervisors:
            user.groups.add(supervisors)
        self.stdout.write(self.style.SUCCESS(f"Created supervisor login '{username}'."))
        if generated:
            self.stdout.write(self.style.WARNING(f"Password (shown once, store it now): {password}"))
