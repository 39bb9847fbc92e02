"""Celery settings, read from the environment; embedded default is the file-system broker under the data folder."""

from __future__ import annotations

import os
from datetime import timedelta

from connector.config import ensure_data_dir, load_settings

_settings = load_settings()
ensure_data_dir(_settings)

broker_url = _settings.broker_url
if broker_url.startswith("filesystem"):
    _folder = str(_settings.broker_folder / "in")
    broker_transport_options = {
        "data_folder_in": _folder,
        "data_folder_out": _folder,
        "processed_folder": str(_settings.broker_folder / "processed"),
        "control_folder": str(_settings.broker_folder / "control"),  # kombu's default is ./control
        "store_processed": False,
        # The worker takes a message per poll: at 0.2 s a chain of five tasks capped the embedded default at
        # about 2 invoices a second, below Exact's own limit for a few divisions; at 0.05 s it does 7, and an
        # idle worker still spends about 0.5% of a core listing the folder.
        "polling_interval": 0.05,
    }
else:
    broker_transport_options = {"visibility_timeout": 3600}
broker_connection_retry_on_startup = True
# A publish to a broker that is down must fail fast: the event stays in the inbox (or the record in the
# database) and the dispatcher or a sweep publishes it later; waiting here would only hold up the others.
broker_connection_timeout = 3
task_publish_retry_policy = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}

# Records, not task results, carry the outcome: no result backend is needed.
result_backend = os.environ.get("CELERY_RESULT_BACKEND") or None
task_ignore_result = True

task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

# Nothing lost: a task is acknowledged only after it ran, and one whose worker died is delivered again.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
# Bounded everything: no task runs for ever. A step makes a handful of HTTP calls, each under a 30 s total
# deadline; beat's batch jobs (vendor sync, polling) page through at most what one run can do. The soft
# limit raises inside the task so it can end cleanly; the hard one kills the child, and the record's run
# bookkeeping (workers.tasks.MAX_WORKER_DEATHS) stops a step that keeps getting killed.
task_soft_time_limit = 25 * 60
task_time_limit = 30 * 60
task_default_queue = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "connector")
worker_hijack_root_logger = False
worker_send_task_events = True
task_send_sent_event = True

beat_schedule_filename = str(_settings.data_dir / "celerybeat-schedule")
# Each task takes a database lease, so a second beat by mistake does no harm; still, run only one.
beat_schedule = {
    "resume-stalled-records": {"task": "connector.resume_stalled_records", "schedule": timedelta(seconds=30)},
    "resume-parked-records": {"task": "connector.resume_parked_records", "schedule": timedelta(seconds=60)},
    "refresh-exact-tokens": {"task": "connector.refresh_exact_tokens", "schedule": timedelta(hours=1)},
    "reauth-reminder-sweep": {"task": "connector.reauth_reminder_sweep", "schedule": timedelta(hours=1)},
    "refresh-master-data": {"task": "connector.refresh_master_data", "schedule": timedelta(hours=1)},
    "poll-basware": {"task": "connector.poll_basware", "schedule": timedelta(seconds=60)},
    "sync-vendors": {"task": "connector.sync_vendors", "schedule": timedelta(minutes=15)},
    "sweep-exact-events": {"task": "connector.sweep_exact_events", "schedule": timedelta(minutes=2)},
    # Each tenant's payment_sync_interval (default 15 minutes) decides; the beat only asks who is due.
    "sync-payments": {"task": "connector.sync_payments", "schedule": timedelta(seconds=60)},
}
