#!/usr/bin/env python3
"""Writes the benchmark data (deterministic) that bench/jsonata/cases.json reads, as one JSON object:
orders (10,000 objects), numbers (1..10,000) and state (a small ASL-like state input)."""
import json
import sys


def main() -> None:
    orders = [{"id": i, "name": f"item{i}", "price": (i * 37) % 1000 / 10, "qty": i % 7,
               "category": f"c{i % 10}", "tags": [f"t{i % 3}", f"t{i % 5}"]} for i in range(10000)]
    state = {"order": {"id": "o-1", "items": [{"sku": f"s{i}", "price": 1.5 * i, "qty": i % 3} for i in range(5)]},
             "customer": {"name": "ada", "tier": "gold"}}
    json.dump({"orders": orders, "numbers": list(range(1, 10001)), "state": state}, sys.stdout)


if __name__ == "__main__":
    main()
