"""Benchmark: signed requests per second the emulator answers on loopback.

Target (README, "Measured"): at least 1,000 signed requests/s, so the emulator never dominates
another benchmark. The emulator runs as `reconciler emulator serve` in its own process (as in
use); the load comes from other processes:
- light clients: http.client on a keep-alive connection, each request freshly V3-signed
  (new nonce and date) with hmac/hashlib; this measures the server, not the client;
- the same with V1 (HMAC-SHA1) signatures;
- the official KMS SDK from a thread pool, for reference (its own CPU cost, ~1.7 ms a call,
  caps one process near 550 calls/s whatever the server does).
Prints the figures, writes bench-results/emulator.json, exits 3 when the target is missed.
"""

from __future__ import annotations

import http.client
import multiprocessing
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from tests.bench._support import Report
from tests.emulator import wire_client as wc

TARGET_PER_SECOND = 1_000
SECONDS = 3.0
CLIENT_PROCESSES = 2
SDK_THREADS = 8
QUERY = {"KeyId": "alias/acs/rds"}


def _light_client(
    endpoint: str, signature: str, seconds: float, out: multiprocessing.Queue
) -> None:
    conn = http.client.HTTPConnection(endpoint, timeout=10)
    done = errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if signature == "v3":
            headers = wc.sign_v3("POST", endpoint, "DescribeKey", "2016-01-20", QUERY)
            status, _, _ = wc.send(conn, "POST", QUERY, headers)
        else:
            status, _, _ = wc.send(
                conn, "POST", wc.sign_v1("POST", "DescribeKey", "2016-01-20", QUERY), {}
            )
        done += 1
        errors += status != 200
    out.put((done, errors))


def light_rate(endpoint: str, signature: str) -> dict[str, float]:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_light_client, args=(endpoint, signature, SECONDS, queue))
        for _ in range(CLIENT_PROCESSES)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    done = sum(r[0] for r in results)
    return {
        "requests": done,
        "errors": sum(r[1] for r in results),
        "per_second": round(done / elapsed, 1),
    }


def sdk_rate(endpoint: str) -> dict[str, float]:
    from alibabacloud_kms20160120 import models as km

    from tests.emulator.conftest import sdk_client

    client = sdk_client("kms", endpoint)
    request = km.DescribeKeyRequest(key_id="alias/acs/rds")
    client.describe_key(request)
    deadline = time.perf_counter() + SECONDS

    def loop() -> int:
        count = 0
        while time.perf_counter() < deadline:
            client.describe_key(request)
            count += 1
        return count

    started = time.perf_counter()
    with ThreadPoolExecutor(SDK_THREADS) as pool:
        done = sum(pool.map(lambda _: loop(), range(SDK_THREADS)))
    return {"requests": done, "per_second": round(done / (time.perf_counter() - started), 1)}


def main() -> int:
    server = subprocess.Popen(
        # Without the default KMS quotas (50 DescribeKey/s): this measures the server's own
        # ceiling, not the quota it emulates.
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0", "--no-kms-quotas"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip().rsplit(" ", 1)[-1]
        endpoint = url.removeprefix("http://")
        figures = {
            "light_v3": light_rate(endpoint, "v3"),
            "light_v1": light_rate(endpoint, "v1"),
            "sdk_v3_one_process": sdk_rate(endpoint),
            "target_per_second": TARGET_PER_SECOND,
            "client_processes": CLIENT_PROCESSES,
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
    out = Report("emulator", figures)
    out.target(
        "light V3 clients",
        f"{figures['light_v3']['per_second']:.0f} signed requests/s "
        f"({CLIENT_PROCESSES} client processes, {figures['light_v3']['errors']} errors)",
        f">= {TARGET_PER_SECOND}/s, no errors",
        figures["light_v3"]["per_second"] >= TARGET_PER_SECOND
        and not figures["light_v3"]["errors"],
    )
    out.note(
        "light V1 clients",
        f"{figures['light_v1']['per_second']:.0f} signed requests/s "
        f"({figures['light_v1']['errors']} errors)",
    )
    out.note(
        "official SDK",
        f"{figures['sdk_v3_one_process']['per_second']:.0f} calls/s, {SDK_THREADS} threads in "
        "one process (bound by the SDK's own CPU per call, not the emulator)",
    )
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
