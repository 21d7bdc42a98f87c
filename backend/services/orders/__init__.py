"""Orders: registration (登记), health-check order intake, patients, the exam list and one exam's detail.

Owns the exam row from order to registration and the read models that find exams; the catalog lookups
(campuses, items, rooms, queues) shared by the registration desk and the exam list live here too.
"""
