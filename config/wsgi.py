import os

from django.core.wsgi import get_wsgi_application

from config.runtime import gc_tune

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()
gc_tune()  # config.runtime: after the settings are loaded
