import os

from django.core.asgi import get_asgi_application

from config.runtime import gc_tune

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_asgi_application()
gc_tune()  # config.runtime: after the settings are loaded
