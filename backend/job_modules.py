"""Imports every module that declares scheduled jobs (so `build_scheduler` sees them all)."""
