#!/usr/bin/python3
"""scripts/bench's A/B mode: an old ringleader binary against the new one on the same three
redis-servers and the same YAML (each on its own listen port), in rounds that run old and new back
to back and alternate which goes first. Reports, per worker count, workload and pipeline depth,
the medians of both, new/old of the medians, the range of the per-round ratios and a verdict
against a threshold, as Markdown (ab.md) and CSV (ab.csv, ab_rounds.csv). The set-up, warm-up and
rounds are bench.py's."""
import argparse
import csv
import datetime
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

ALSO = ("direct", "nutcracker")


def compare(samples, name, pipeline, workers, threshold, also):
    """One row of the report: old-w{workers} against new-w{workers} at (name, pipeline)."""
    old = samples[(name, pipeline, f"old-w{workers}")]
    new = samples[(name, pipeline, f"new-w{workers}")]
    # run_rounds() keeps results in round order, so zip pairs each new run with its round's old.
    ratios = [n["rps"] / o["rps"] for o, n in zip(old, new)]
    mo, mn = bench.median_result(old), bench.median_result(new)
    ratio = mn["rps"] / mo["rps"]
    row = {
        "workers": workers, "workload": name, "pipeline": pipeline, "rounds": len(ratios),
        "old_rps": mo["rps"], "new_rps": mn["rps"], "ratio": ratio,
        "ratio_min": min(ratios), "ratio_max": max(ratios),
        "rounds_below": sum(r < threshold for r in ratios),
        "old_p50_ms": mo["p50"], "new_p50_ms": mn["p50"],
        "old_p99_ms": mo["p99"], "new_p99_ms": mn["p99"],
        "old_cpu_us_proxy": mo["cpu_proxy"], "new_cpu_us_proxy": mn["cpu_proxy"],
        "threshold": threshold, "verdict": "meets" if ratio >= threshold else "below",
    }
    for t in ALSO:
        row[f"{t}_rps"] = (statistics.median(r["rps"] for r in samples[(name, pipeline, t)])
                           if t in also else None)
    return row


def report(args, rows, worker_counts, also, elapsed, load_before, load_after):
    """ab.md's text: the conditions, then a table and its verdict lines per worker count."""
    date = datetime.date.today().isoformat()
    lines = [
        f"`{args.invocation}` on {date}: A/B, old ringleader against new on the same three "
        f"redis-servers and the same YAML; {bench.machine()}, redis-benchmark -c {args.clients} "
        f"-r 100000, about {args.seconds:g} s per run, {args.rounds} round"
        f"{'s' if args.rounds != 1 else ''}, old and new back to back in each and which goes "
        f"first alternating round by round; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after; took {elapsed:.0f} s.",
        "",
        f"- old: {args.baseline_label or args.baseline_binary}",
        f"- new: {args.label or args.ringleader}",
    ]
    if also:
        lines.append(f"- also measured in the same rounds, for context: {', '.join(also)}")
    for w in worker_counts:
        extra_head = "".join(f" {t} rps |" for t in also)
        lines += [
            "",
            f"ringleader with {w} worker{'s' if w != 1 else ''}: medians of {args.rounds} "
            f"round{'s' if args.rounds != 1 else ''}; new/old is the ratio of the medians, and its range is that of the per-round "
            "ratios (each round's new against the same round's old); proxy CPU is µs per request:",
            "",
            "| workload | -P | old rps | new rps | new/old | per-round new/old (min–max) "
            f"| p50 ms old / new | p99 ms old / new | proxy CPU old / new |{extra_head}",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(also),
        ]
        mine = [r for r in rows if r["workers"] == w]
        for r in mine:
            extra = "".join(f" {r[f'{t}_rps']:.0f} |" for t in also)
            lines.append(
                f"| {r['workload']} | {r['pipeline']} | {r['old_rps']:.0f} | {r['new_rps']:.0f} "
                f"| {r['ratio']:.3f} | {r['ratio_min']:.3f}–{r['ratio_max']:.3f} "
                f"| {r['old_p50_ms']:.3f} / {r['new_p50_ms']:.3f} "
                f"| {r['old_p99_ms']:.3f} / {r['new_p99_ms']:.3f} "
                f"| {r['old_cpu_us_proxy']:.1f} / {r['new_cpu_us_proxy']:.1f} |{extra}")
        meets = sum(r["verdict"] == "meets" for r in mine)
        lines += ["", f"Verdict, new/old of the medians against {args.ab_threshold:g} "
                  f"({meets} of {len(mine)} rows meet it):", ""]
        for r in mine:
            lines.append(
                f"- {r['workload']} -P {r['pipeline']}: {r['verdict']} — {r['ratio']:.3f} "
                f"(per-round {r['ratio_min']:.3f}–{r['ratio_max']:.3f}; {r['rounds_below']} of "
                f"{r['rounds']} rounds below {args.ab_threshold:g})")
    return "\n".join(lines)


def write_csvs(out, rows, samples):
    fields = list(rows[0])
    with open(os.path.join(out, "ab.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if v is None else f"{v:.0f}" if k.endswith("_rps")
                        else f"{v:.4f}" if isinstance(v, float) else v for k, v in r.items()})
    with open(os.path.join(out, "ab_rounds.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "pipeline", "round", "target", "rps", "p50_ms", "p99_ms",
                    "cpu_us_proxy"])
        for (name, pipeline, target), results in samples.items():
            for i, m in enumerate(results):
                w.writerow([name, pipeline, i + 1, target, f"{m['rps']:.0f}", m["p50"], m["p99"],
                            f"{m['cpu_proxy']:.2f}"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bench.add_run_args(ap, workers="1", only="set,get,mset,mget")
    ap.add_argument("--baseline-binary", required=True, help="the old ringleader binary")
    ap.add_argument("--baseline-label", help="what the old binary is (default: its path)")
    ap.add_argument("--label", help="what the new binary (--ringleader) is (default: its path)")
    ap.add_argument("--ab-threshold", type=float, default=0.97,
                    help="new/old of the medians a row must reach to meet (default 0.97)")
    ap.add_argument("--also", default="",
                    help="comma-separated, of direct,nutcracker: also measured in the same rounds")
    ap.add_argument("--invocation", help="the command line to print (default: this one)")
    args = ap.parse_args()
    if args.quick:
        args.rounds = 1
        args.seconds = 0.3
    if args.invocation is None:
        args.invocation = " ".join(sys.argv)
    also = [t.strip() for t in args.also.split(",") if t.strip()]
    if any(t not in ALSO for t in also):
        ap.error(f"--also takes {', '.join(ALSO)}; got {args.also}")
    worker_counts = [int(w) for w in args.workers.split(",") if w]
    loads = bench.select_workloads(args.only)
    if not loads:
        ap.error(f"--only {args.only} names no workload")

    started = time.monotonic()
    load_before = os.getloadavg()
    with bench.Rig() as rig:
        # Old and new of one worker count stand next to each other, so that run_rounds()'s
        # reversal of the order every other round alternates which of the two goes first.
        targets = []
        for w in worker_counts:
            for side, binary in (("old", args.baseline_binary), ("new", args.ringleader)):
                p, port = rig.start_ringleader(binary, f"{side}-w{w}", w)
                targets.append((f"{side}-w{w}", port, p.pid))
        if "direct" in also:
            targets.append(("direct", rig.backends[0], None))
        if "nutcracker" in also:
            p, port = rig.start_nutcracker()
            targets.append(("nutcracker", port, p.pid))
        requests = bench.size_requests(loads, targets, args.seconds, args.clients)
        samples = bench.run_rounds(loads, targets, requests, args.rounds, args.clients,
                                   rig.redis_pids)
    load_after = os.getloadavg()
    elapsed = time.monotonic() - started

    rows = [compare(samples, name, pipeline, w, args.ab_threshold, also)
            for w in worker_counts for name, _ in loads for pipeline in bench.PIPELINES]
    text = report(args, rows, worker_counts, also, elapsed, load_before, load_after)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ab.md"), "w") as f:
        f.write(text + "\n")
    write_csvs(args.out, rows, samples)
    print(f"\n(wrote {args.out}/ab.md, ab.csv and ab_rounds.csv; took {elapsed:.0f} s)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
