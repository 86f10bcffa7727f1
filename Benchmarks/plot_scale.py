#!/usr/bin/env python3
"""Plots `fleet-bench scale` output: plan time and peak RSS against N, one line per host count.

    .build/release/fleet-bench scale 100,1000,10000 1,5,20 | tee scale.txt
    python3 Benchmarks/plot_scale.py scale.txt docs/scale.png

Needs matplotlib (pip install matplotlib).
"""
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, out):
    rows = defaultdict(list)
    for line in open(src):
        parts = line.strip().split(",")
        if len(parts) != 6 or parts[0] != "csv" or parts[1] == "hosts":
            continue
        hosts, vms, apply_s, plan_s, rss_kib = int(parts[1]), int(parts[2]), float(parts[3]), float(parts[4]), int(parts[5])
        rows[hosts].append((vms, apply_s, plan_s, rss_kib / 1024))
    if not rows:
        sys.exit(f"no csv lines in {src}")
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4.2))
    for hosts in sorted(rows):
        pts = sorted(rows[hosts])
        n = [p[0] for p in pts]
        label = f"{hosts} host{'s' if hosts > 1 else ''}"
        ax1.plot(n, [p[2] for p in pts], marker="o", label=label)
        ax2.plot(n, [p[3] for p in pts], marker="o", label=label)
        ax3.plot(n, [p[1] for p in pts], marker="o", label=label)
    for ax, title, unit in ((ax1, "no-op plan", "seconds"), (ax2, "plan peak RSS", "MiB"), (ax3, "apply from nothing", "seconds")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("VMs")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    ax1.axhline(3, color="grey", linestyle="--", linewidth=1)
    ax2.axhline(1024, color="grey", linestyle="--", linewidth=1)
    ax3.axhline(30, color="grey", linestyle="--", linewidth=1)
    fig.suptitle("fleet over test-driver daemons (fleet-bench scale); dashed: issue 12's targets")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
