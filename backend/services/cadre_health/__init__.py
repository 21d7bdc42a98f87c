"""The cadre-health upload (CD-1..CD-4): the roster of covered persons, the ledger of exams whose images and
approved reports go to the provincial cadre-health system, and the outbox job that uploads them."""
