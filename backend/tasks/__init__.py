"""Scheduled jobs, one module per area; each declares its jobs with `backend.jobs.job`."""
