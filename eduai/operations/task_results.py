"""Where Celery records task states and results: django-celery-results' database table (shown in
the admin), written on a best-effort basis.

A task's durable outcome is in the app's own rows (a submission's grade, an answer's text), not
in its result record. So when PostgreSQL is unreachable, failing to record a state (STARTED,
RETRY, FAILURE) must not turn the task's own retry into an error outside its body (which leaves
its message unacknowledged until the broker's visibility timeout): the write is skipped with a
warning, and the task retries or is redelivered as its policy says.
"""

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django_celery_results.backends.database import DatabaseBackend

logger = logging.getLogger(__name__)


class BestEffortDatabaseBackend(DatabaseBackend):
    def _store_result(self, task_id: str, result: Any, status: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return super()._store_result(task_id, result, status, *args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            logger.warning(
                "task %s: state %s not recorded (database unavailable): %s", task_id, status, error
            )
            return result
