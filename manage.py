#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    from django.core.management import execute_from_command_line

    from config.runtime import gc_tune

    gc_tune()  # runserver, the queue worker and the benchmarks run as the WSGI process does
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
