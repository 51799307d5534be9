#!/usr/bin/env python3
"""Writes test/fixtures/aggregate/split-by-day-10.4.3.json: random (begin, end, count) cases with the UTC-day
slices parsedmarc 10.4.3 gives them, for the splitting test. Needs the original's source, e.g.:

    git -C <parsedmarc.git> show 10.4.3:parsedmarc/__init__.py > /tmp/parsedmarc_init.py
    python3 libs/parser/scripts/split-cases-from-parsedmarc.py /tmp/parsedmarc_init.py > test/fixtures/aggregate/split-by-day-10.4.3.json

Only the day-bucketing function is taken from that file (it depends on the standard library alone).
"""
import json
import random
import sys
from datetime import datetime, timedelta, timezone, tzinfo  # noqa: F401 (used by the loaded function)
from typing import Any  # noqa: F401

source = open(sys.argv[1]).read()
start = source.index("def _bucket_interval_by_day(")
end = source.index("\ndef ", start + 1)
namespace = {"datetime": datetime, "timedelta": timedelta, "tzinfo": tzinfo, "Any": Any}
exec(source[start:end], namespace)
bucket = namespace["_bucket_interval_by_day"]

random.seed(20240401)
cases = []
for _ in range(400):
    begin = random.randint(0, 2_000_000_000)
    if random.random() < 0.2:
        begin -= begin % 86400
    span = random.choice(
        [random.randint(86401, 86400 * 3), random.randint(86401, 86400 * 40), 86400 * random.randint(2, 9)]
    )
    total = random.choice([1, 2, 3, 7, 10, random.randint(1, 1000), random.randint(1, 10**9)])
    slices = bucket(
        datetime.fromtimestamp(begin, timezone.utc), datetime.fromtimestamp(begin + span, timezone.utc), total
    )
    cases.append(
        {
            "begin": begin,
            "end": begin + span,
            "count": total,
            "slices": [[int(s["begin"].timestamp()), int(s["end"].timestamp()), s["count"]] for s in slices],
        }
    )
json.dump(cases, sys.stdout, separators=(",", ":"))
print()
