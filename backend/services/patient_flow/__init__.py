"""Patient flow: check-in (kiosk and desk), queue tickets, calling, hall screens and ultrasound dispatch.

Owns queue tickets, kiosks, screens, shifts and shift sessions: everything between a patient's arrival
and the start of the exam.
"""
