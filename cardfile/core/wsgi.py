"""WSGI entry point for gunicorn and `cardfile serve`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cardfile.core.settings")

application = get_wsgi_application()

# `cardfile serve` asks for the in-process reminder scheduler (embedded default, no beat).
if os.environ.get("CARDFILE_SCHEDULER") == "1":
    from cardfile.metamodel.notify.scheduler import scheduler_start_if_asked

    scheduler_start_if_asked()
