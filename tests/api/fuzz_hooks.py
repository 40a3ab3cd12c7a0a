"""schemathesis hooks for the fuzz test (tests/api/fuzz.rs, via SCHEMATHESIS_HOOKS).

`date-time` values: the extremes a parser takes but date arithmetic does not
(chrono's first and last years, year 0, year 10000, either side of the Unix
epoch, the last microsecond of 9999) alongside ordinary instants of every
year from 1 to 9999. The default strategy rarely leaves four-digit years,
which is how an endless loop at chrono's last date went unseen (issue 15).
"""
from datetime import timezone

import schemathesis
from hypothesis import strategies as st

EXTREMES = [
    "-262143-01-01T00:00:00Z",
    "+262142-12-31T23:59:59Z",
    "+262142-12-31T23:59:59.999999999Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59+00:01",
    "10000-01-01T00:00:00Z",
]

ORDINARY = st.datetimes(timezones=st.just(timezone.utc)).map(
    lambda d: d.isoformat().replace("+00:00", "Z")
)

schemathesis.openapi.format("date-time", st.one_of(st.sampled_from(EXTREMES), ORDINARY))
