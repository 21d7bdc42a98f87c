"""The low-code data API (LC-1): read-only datasets over RadOps data, paged, synced, masked and counted.

Public functions: `read.read` (one page), `formats.dictionary` and `formats.csv_rows`, `access.record_call`
and `access.flush_usage` (the call record), `usage.overview` (the admin page). Its read models read the
other areas' tables through the models; of the other areas it calls only `cockpit.board.compute`.
"""
