"""The percentile both bench scripts report (analyze.py for the monitor's stored runs, driver.py for the exporter).

Nearest rank, the same definition the monitor's alert rules use, so the two sides of the comparison agree.
"""


def percentile(values, p):
    """Nearest-rank percentile of `values` (any order), or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]
