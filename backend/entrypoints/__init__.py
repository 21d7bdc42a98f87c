"""Process entrypoints: the embedded one-process run, the web process, the scheduler process."""
