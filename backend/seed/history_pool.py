"""Appointment slots and patients for the history: slot places booked within capacity, returning patients."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from backend.seed import history_data as data
from backend.seed.bulk import BulkLoader, TimeFormat
from backend.seed.history_plan import between, pick
from backend.seed.reference import SLOT_CAPACITY, SLOT_HOURS

DAY = 86400
SLOT_COLS = ("id", "queue_id", "day", "band", "starts_at", "ends_at", "capacity", "booked", "active")
PATIENT_COLS = ("id", "mrn", "name", "sex", "birth_date", "id_card", "phone", "insurance_no", "cadre_health",
                "created_at")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


class SlotBook:
    """Slots by (queue, start): existing ones from the reference seed, missing ones created on demand.

    A record is [id, queue_id, day, band, start_ts, capacity, booked, dirty].
    """

    def __init__(self, existing: list[Any], *, queue_code: dict[int, str], factor: int, loader: BulkLoader,
                 fmt: TimeFormat, next_id: int) -> None:
        self.queue_code, self.factor, self.loader, self.fmt = queue_code, factor, loader, fmt
        self.next_id = next_id
        self.by_key: dict[tuple[int, int], list[Any]] = {}
        for sid, qid, day, band, starts_at, cap, booked in existing:
            start = int(starts_at.timestamp())
            want = max(cap, self._capacity(qid))
            self.by_key[(qid, start)] = [sid, qid, day, band, start, want, booked, want != cap]
        loader.declare("slots", SLOT_COLS)

    def _capacity(self, queue_id: int) -> int:
        return SLOT_CAPACITY.get(self.queue_code.get(queue_id, ""), 4) * self.factor

    def _get(self, queue_id: int, day_start: int, day: date, hour: int) -> list[Any]:
        start = day_start + hour * 3600
        rec = self.by_key.get((queue_id, start))
        if rec is None:
            rec = [self.next_id, queue_id, day, "am" if hour < 12 else "pm", start, self._capacity(queue_id), 0, True]
            self.next_id += 1
            self.by_key[(queue_id, start)] = rec
            self.loader.add("slots", (rec[0], queue_id, day.isoformat(), rec[3], self.fmt(start),
                                      self.fmt(start + 3600), rec[5], 0, True))
        return rec

    def book(self, queue_id: int | None, t_order: int, day_start: int, day: date, lead: int,
             rng: random.Random) -> list[Any]:
        """Book a place from `lead` days after `day`, at a random hour, moving later while full."""
        assert queue_id is not None
        first = between(rng, 0, len(SLOT_HOURS))
        fallback = None
        for k in range(24):
            d, i = divmod(first + k, len(SLOT_HOURS))
            offset = lead + d
            rec = self._get(queue_id, day_start + offset * DAY, day + timedelta(days=offset), SLOT_HOURS[i][0])
            if rec[4] < t_order + 1800:
                continue
            fallback = fallback or rec
            if rec[6] < rec[5]:
                rec[6] += 1
                rec[7] = True
                return rec
        assert fallback is not None
        fallback[6] += 1
        fallback[5] = fallback[6]  # the hospital added capacity that day
        fallback[7] = True
        return fallback

    def release(self, rec: list[Any]) -> None:
        rec[6] -= 1
        rec[7] = True

    def updates(self) -> list[tuple[int, int, int]]:
        """(capacity, booked, id) of every slot whose counts changed, for one executemany UPDATE."""
        return [(r[5], r[6], r[0]) for r in self.by_key.values() if r[7]]


class PatientPool:
    """New patients with plausible identities, and returning patients (priors) picked mostly from recent ones."""

    def __init__(self, rng: random.Random, loader: BulkLoader, fmt: TimeFormat, next_id: int) -> None:
        self.rng, self.loader, self.fmt, self.next_id = rng, loader, fmt, next_id
        self.by_sex: dict[str, list[int]] = {"M": [], "F": []}
        self.created = 0
        loader.declare("patients", PATIENT_COLS)

    def pick(self, *, sex: str | None, at: int, day: date, return_rate: float = 0.35) -> int:
        rng = self.rng
        s = sex or ("F" if rng.random() < 0.52 else "M")
        pool = self.by_sex[s]
        if pool and rng.random() < return_rate:
            n = len(pool)
            return pool[n - 1 - min(n - 1, int(rng.expovariate(1.0) * n * 0.2))]
        return self._new(s, at, day)

    def _new(self, sex: str, at: int, day: date) -> int:
        rng = self.rng
        pid = self.next_id
        self.next_id += 1
        self.created += 1
        name = pick(rng, data.SURNAMES) + pick(rng, data.GIVEN)
        if rng.random() < 0.6:
            name += pick(rng, data.GIVEN)
        age = int(rng.triangular(18, 90, 58))
        birth = day - timedelta(days=age * 365 + between(rng, 0, 365))
        seq = between(rng, 100, 999)
        seq += (seq % 2 == 0) if sex == "M" else (seq % 2 == 1)
        body = f"{pick(rng, data.REGIONS)}{birth:%Y%m%d}{seq % 1000:03d}"
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True)) % 11]
        phone = f"1{pick(rng, '3578')}{between(rng, 0, 10**9):09d}"
        insurance = f"{body[:6]}{between(rng, 0, 10**10):010d}" if rng.random() < 0.6 else None
        self.loader.add("patients", (pid, f"8{pid:08d}", name, sex, birth.isoformat(), body + check, phone,
                                     insurance, rng.random() < 0.015, self.fmt(at)))
        self.by_sex[sex].append(pid)
        return pid
