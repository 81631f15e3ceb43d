"""WSGI entry point for gunicorn and `cardfile serve`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cardfile.core.settings")

application = get_wsgi_application()
