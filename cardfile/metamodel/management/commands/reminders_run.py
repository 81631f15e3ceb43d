"""``manage.py reminders_run``: one reminder scan and delivery now (what the periodic task runs)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from cardfile.core.models import Delivery
from cardfile.metamodel.notify.scan import reminders_run


class Command(BaseCommand):
    help = _("Scan the reminders once and send the deliveries that are due.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.CARDFILE_TASK_MODE == "thread":
            # A one-off command: send inline after each commit, not from threads the end of
            # the process would cut short.
            settings.CARDFILE_TASK_MODE = "eager"
        outcome = reminders_run()
        scan = outcome.scan
        self.stdout.write(
            _(
                "Scanned %(reminders)d reminders: %(due)d due, %(created)d deliveries created, "
                "%(sent)d sent, %(failed)d failed."
            )
            % {
                "reminders": scan.reminders,
                "due": scan.due,
                "created": scan.deliveries,
                "sent": outcome.sent,
                "failed": scan.failed,
            }
        )
        if scan.delivery_ids:
            statuses = Counter(
                Delivery.objects.filter(pk__in=scan.delivery_ids).values_list("status", flat=True)
            )
            self.stdout.write(
                _("Deliveries created now: %(statuses)s.")
                % {"statuses": ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))}
            )
        for note in scan.notes:
            self.stdout.write(f"  {note}")
        if scan.failed:
            self.stderr.write(_("Some reminders failed; see the log. They run again next time."))
