#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Draw dpsan-perf's JSON (README "dpsan-perf JSON") as one PNG: the ping-pong round-trip CDF
(left) and Gbit/s against message size for stream and RDMA runs (right).

Usage: plot_perf.py RESULTS.json OUT.png   (dpsan-perf --plot OUT.png calls it)
Needs Debian's python3-matplotlib (scripts/setup.sh installs it)."""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402


def size_label(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n >> 10} KiB"
    return f"{n} B"


def label_axes(ax, xlabel, ylabel, title, **legend):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend(**legend)


def draw_cdf(ax, runs):
    for r in runs:
        if r["mode"] != "pingpong" or not r.get("rtt_cdf"):
            continue
        xs = [p[0] for p in r["rtt_cdf"]]
        ys = [p[1] for p in r["rtt_cdf"]]
        label = f'{r["transport"]} {size_label(r["size"])} (p50 {r["rtt_us"]["p50"]:.1f} us)'
        ax.step(xs, ys, where="post", label=label)
    ax.set_xscale("log")
    label_axes(ax, "round trip (us, log scale)", "fraction of round trips",
               "ping-pong round-trip CDF", fontsize=8, loc="lower right")


def draw_throughput(ax, runs):
    series = {}
    for r in runs:
        if r["mode"] == "pingpong" or "error" in r:
            continue
        series.setdefault((r["transport"], r["mode"]), []).append((r["size"], r["gbps"]))
    # One colour per transport, one marker per mode: a dozen lines stay apart.
    transports = sorted({t for t, _ in series})
    colour = {t: plt.get_cmap("tab10")(i % 10) for i, t in enumerate(transports)}
    marker = {"stream": "o", "rdma-write": "s", "rdma-read": "^"}
    for (transport, mode), points in sorted(series.items()):
        points.sort()
        style = "--" if transport.startswith("kernel") else "-"
        ax.plot([p[0] for p in points], [p[1] for p in points], style, color=colour[transport],
                marker=marker.get(mode, "o"), label=f"{transport} {mode}")
    ax.set_xscale("log", base=2)
    sizes = sorted({p[0] for points in series.values() for p in points})
    ax.set_xticks(sizes)
    ax.set_xticklabels([size_label(n) for n in sizes], rotation=45, fontsize=8)
    ax.minorticks_off()
    ax.set_yscale("log")
    label_axes(ax, "message (RDMA: operation) size", "Gbit/s (log scale)",
               "throughput against size", fontsize=7, ncol=2)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    draw_cdf(left, doc["runs"])
    draw_throughput(right, doc["runs"])
    fig.suptitle(doc.get("command", "dpsan-perf"), fontsize=9)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=100)


if __name__ == "__main__":
    main()
