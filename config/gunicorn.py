"""gunicorn's configuration for production: `gunicorn -c python:config.gunicorn config.wsgi`.

Every value can be set in the environment (the README's configuration table):
- GUNICORN_WORKERS: worker processes, default 2 x CPUs + 1 (gunicorn's own advice for sync workers,
  which wait on the database most of the time). `manage.py bench_http` measures routes/s at 1 to 4
  workers and at this default on the machine it runs on.
- GUNICORN_BIND: the address to listen on, default 127.0.0.1:8000 (a reverse proxy in front terminates
  TLS; TRUSTED_PROXY_COUNT tells Django how many there are).
- GUNICORN_TIMEOUT: seconds before a silent worker is restarted, default 30.
A request line (path and query string) longer than gunicorn's 4094 bytes is answered 414 by gunicorn
itself, before Django: the OpenAPI schema documents that answer on every operation (config.openapi).
"""

from __future__ import annotations

import os

workers = int(os.environ.get("GUNICORN_WORKERS", 2 * (os.cpu_count() or 1) + 1))
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
wsgi_app = "config.wsgi:application"
# gunicorn 25+ opens a control socket at one fixed path per user (~/.gunicorn/gunicorn.ctl), which two
# servers on one host (a deployment and `bench_http`, or CI's fuzz run) would fight over; nothing here
# uses it. Older gunicorn versions ignore the name.
control_socket_disable = True
