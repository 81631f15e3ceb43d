#!/usr/bin/env bash
# The two test passes of `make test`, run at the same time: the whole suite on PostgreSQL and
# Redis, and the embedded-default subset on SQLite with no services. Each is mostly one process
# on one core, so together they take about as long as the longer one. Output lines are prefixed
# with their pass; the exit status is the first failing pass's.
#
#   scripts/test-passes.sh VENV DATABASE_URL REDIS_URL [pytest arguments...]
set -uo pipefail

venv=$1 database_url=$2 redis_url=$3
shift 3

embedded_dir=$(mktemp -d)
status_dir=$(mktemp -d)
trap 'rm -rf "$embedded_dir" "$status_dir"' EXIT

(
	DATABASE_URL=$database_url REDIS_URL=$redis_url CARDFILE_TLS=0 \
		"$venv/bin/pytest" "$@" 2>&1
	echo $? >"$status_dir/postgresql"
) | sed -u 's/^/[postgresql] /' &

(
	unset DATABASE_URL REDIS_URL
	CARDFILE_VAR_DIR=$embedded_dir "$venv/bin/pytest" -m embedded "$@" 2>&1
	echo $? >"$status_dir/sqlite"
) | sed -u 's/^/[sqlite] /' &

wait

failed=0
for pass in postgresql sqlite; do
	status=$(cat "$status_dir/$pass" 2>/dev/null || echo 1)
	if [ "$status" != 0 ]; then
		echo "test-passes: the $pass pass failed (exit $status)" >&2
		[ "$failed" != 0 ] || failed=$status
	fi
done
exit "$failed"
