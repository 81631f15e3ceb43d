"""`cardfile bench`: speed of the list API, record creation, schema changes, formulas,
permissions and the due-reminder scan on PostgreSQL.

Every figure is a ratio against a baseline measured in the same run on the same machine (hand
written SQL through psycopg, plain Django ORM bulk inserts, raw DDL), so results compare across
machines. The benchmarks run in a scratch database that is dropped at the end; they never touch
the database DATABASE_URL names.
"""

SCENARIOS = ("list", "create", "schema", "formula", "permissions", "reminders")
