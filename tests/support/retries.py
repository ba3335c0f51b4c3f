"""The one set of fast retry settings every test uses: the production policy's shape, a short budget.

:data:`FAST_RETRY` for code built in-process; :data:`FAST_RETRIES` is the same budget as the
environment variables a function reads (the environment cannot set the backoff: functions keep
the production backoff), and :data:`FAST_FUNCTION_RETRIES` adds the Function App's BigQuery budget.
"""

from __future__ import annotations

from shared.settings import RetrySettings

FAST_RETRY = RetrySettings(
    attempts=4, initial_backoff_s=0.01, max_backoff_s=0.05, deadline_s=5, attempt_timeout_s=3
)
FAST_RETRIES = {
    "FEDERATION_RETRY_ATTEMPTS": str(FAST_RETRY.attempts),
    "FEDERATION_RETRY_DEADLINE_S": f"{FAST_RETRY.deadline_s:g}",
    "FEDERATION_ATTEMPT_TIMEOUT_S": f"{FAST_RETRY.attempt_timeout_s:g}",
}
FAST_FUNCTION_RETRIES = {**FAST_RETRIES, "BIGQUERY_TIMEOUT_S": f"{FAST_RETRY.deadline_s:g}"}
