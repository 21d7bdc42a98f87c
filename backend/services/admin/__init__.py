"""Administration: exam items, rooms and queues, appointment slots, staff accounts, runtime settings, audit search.
"""
