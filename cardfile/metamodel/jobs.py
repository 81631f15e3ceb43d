"""Background jobs of the metamodel (found by `cardfile.core.jobs` at start-up)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cardfile.core.jobs import Report, job_handler
from cardfile.core.models import Job
from cardfile.metamodel.formulas.recompute import recompute_columns
from cardfile.metamodel.formulas.services import RECOMPUTE_JOB
from cardfile.metamodel.schema.dynamic import pinned_schema


@job_handler(RECOMPUTE_JOB)
def formula_recompute(job: Job, report: Report) -> str:
    """Recompute computed columns over all their rows, in batches; safe to run again."""
    with pinned_schema():
        rows = recompute_columns(list(job.params.get("fields") or []), report)
    return _("Recomputed %(rows)d rows.") % {"rows": rows}
