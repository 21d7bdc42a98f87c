"""Admin pages (系统管理): one page per resource, sharing the form-and-table helpers of `crud.py`."""
