#!/usr/bin/env python3
"""The scheduler prometheus-blackbox-exporter does not have: issues GET /probe?module=…&target=… at a fixed rate
(the open model: request n is due at start + n / rate whatever happened before), cycling through the targets
file, over a pool of keep-alive connections to the exporter, as a Prometheus scraping every target once per
interval would. It records how late each request left against its due time (the scheduler lag), how long the
exporter took to answer, and the probe's own verdict (`probe_success`), and prints one JSON object at the end.

Usage: driver.py EXPORTER_HOST:PORT MODULE TARGETS_FILE RATE_PER_S SECONDS
"""
import asyncio
import json
import sys
import time
import urllib.parse

from nearest_rank import percentile

TIMEOUT_S = 15.0  # each exchange with the exporter; the probe's own timeout is in its module


class Pool:
    """Idle keep-alive connections to the exporter; a request with none idle opens a new one."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.idle = []
        self.opened = 0

    async def get(self):
        if self.idle:
            return self.idle.pop()
        self.opened += 1
        return await asyncio.wait_for(asyncio.open_connection(self.host, self.port), TIMEOUT_S)

    def put(self, conn):
        self.idle.append(conn)


async def read_response(reader):
    """Status and body of one HTTP/1.1 response (Content-Length or chunked)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the exporter closed the connection")
    status = int(status_line.split()[1])
    length, chunked, close = None, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body, close = await reader.read(), True
    return status, body, close


async def main(address, module, targets_file, rate, seconds):
    host, _, port = address.rpartition(":")
    with open(targets_file, encoding="utf-8") as f:
        targets = [line.strip() for line in f if line.strip()]
    pool = Pool(host, int(port))
    lags, latencies = [], []
    counts = {"sent": 0, "answered": 0, "probe_ok": 0, "probe_failed": 0, "errors": 0}
    in_flight = {"now": 0, "max": 0}
    first_error = []

    async def probe(n, due):
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        target = targets[n % len(targets)]
        path = f"/probe?module={module}&target={urllib.parse.quote(target, safe='')}"
        try:
            reader, writer = await pool.get()
            lags.append(time.monotonic() - due)
            started = time.monotonic()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n".encode())
            status, body, close = await asyncio.wait_for(read_response(reader), TIMEOUT_S)
            latencies.append(time.monotonic() - started)
            counts["answered"] += 1
            if status == 200 and b"\nprobe_success 1" in b"\n" + body:
                counts["probe_ok"] += 1
            else:
                counts["probe_failed"] += 1
                if not first_error:
                    first_error.append(f"HTTP {status}: {body[:300]!r}")
            if close:
                writer.close()
            else:
                pool.put((reader, writer))
        except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
            counts["errors"] += 1
            if not first_error:
                first_error.append(repr(e))
        finally:
            in_flight["now"] -= 1

    total = int(rate * seconds)
    tasks = set()
    start = time.monotonic() + 0.1
    for n in range(total):
        due = start + n / rate
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        counts["sent"] += 1
        task = asyncio.create_task(probe(n, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=TIMEOUT_S + 5)
    elapsed = time.monotonic() - start
    ms = lambda v: None if v is None else round(v * 1000, 2)
    print(json.dumps({
        **counts,
        "elapsed_s": round(elapsed, 2),
        "answered_per_s": round(counts["answered"] / elapsed, 1),
        "lag_ms": {"p50": ms(percentile(lags, 50)), "p99": ms(percentile(lags, 99)), "max": ms(max(lags, default=None))},
        "latency_ms": {"p50": ms(percentile(latencies, 50)), "p99": ms(percentile(latencies, 99)),
                       "max": ms(max(latencies, default=None))},
        "max_in_flight": in_flight["max"],
        "connections_opened": pool.opened,
        "first_error": first_error[0] if first_error else None,
    }))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])))
