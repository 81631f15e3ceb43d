"""The Celery app of Cardfile (`cardfile worker` runs it); configured from Django's CELERY_ names.

Imported only by the worker and by job dispatch in celery mode, never by `import cardfile.core`,
so the embedded default (no Redis) does not load Celery at all.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cardfile.core.settings")

app = Celery("cardfile")
# Broker and result backend are REDIS_URL; late acks, one task per worker process at a time.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
