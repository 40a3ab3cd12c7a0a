#!/usr/bin/env python3
"""Per-request latency of single writes under a background load (bench/mixed.sh).

    python3 bench/probe.py BASE_URL DATA_FILE SECONDS KIND,KIND...

wrk reports one latency distribution for its whole mix; this probe, run
alongside it, sends one request at a time over one keep-alive connection,
taking the KINDs in turn (`read`: PUT /alerts/{id}/read, `ack`: PUT
/alerts/{id}/acknowledge), each on a random alert of a random agent of
DATA_FILE (as bench/mixed.sh writes it), and prints one line
`probe {json}`: per kind the requests, non-2xx answers, p50, p99 and max in
milliseconds. The kinds alternate, so each meets the same load.
"""
import http.client
import json
import random
import sys
import time
import urllib.parse

PATHS = {"read": "/api/v1/alerts/{}/read", "ack": "/api/v1/alerts/{}/acknowledge"}


def main():
    base, data, seconds, kinds = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4].split(",")
    agents = []
    for line in open(data):
        fields = line.split()
        if fields[0] == "agent":
            agents.append((fields[2], fields[3].split(",")))
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    rng = random.Random(7)
    latencies = {k: [] for k in kinds}
    failed = {k: 0 for k in kinds}
    end = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < end:
        kind = kinds[turn % len(kinds)]
        turn += 1
        token, ids = rng.choice(agents)
        path = PATHS[kind].format(rng.choice(ids))
        t0 = time.perf_counter()
        conn.request("PUT", path, headers={"Authorization": "Bearer " + token, "Content-Length": "0"})
        response = conn.getresponse()
        response.read()
        latencies[kind].append((time.perf_counter() - t0) * 1000)
        if response.status >= 300:
            failed[kind] += 1
    out = {}
    for kind, values in latencies.items():
        values.sort()
        q = lambda p: round(values[min(len(values) - 1, int(p / 100 * len(values)))], 2) if values else None
        out[kind] = {"requests": len(values), "non_2xx": failed[kind], "p50_ms": q(50), "p99_ms": q(99),
                     "max_ms": round(values[-1], 2) if values else None}
    print("probe " + json.dumps(out))


if __name__ == "__main__":
    main()
