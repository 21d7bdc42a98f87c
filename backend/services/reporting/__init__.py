"""Reporting: write, submit, review (审核), amend and print reports; critical values; emergency reminders.

Owns reports and their versions, critical-value records, report due times and reminders.
"""
