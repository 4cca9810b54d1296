"""``factbench merge``: join the run directories of ``--shard 0/N`` ... ``--shard N-1/N`` into one run directory.

The shards must be one run cut in N: every shard present once, the same metrics with the same signatures, the
same datasets, split, limit, profile and seed. Every record must be present exactly once, in the shard its hash
names, and the datasets complete (the counts the shards recorded before sharding). The merged ``scores.csv``,
``results.jsonl``, ``groups.csv`` and ``texts.jsonl`` list the records in the order of the unsharded run, with
each stored value copied as written (sources renumbered across shards), so they equal the files of the unsharded
run; the reports are then recomputed from them. Lines are found through byte offsets: the texts and details are
never all held in memory.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .. import rundir
from ..errors import RunError
from ..io import atomic_open, read_json, write_json
from ..report.grouping import GROUPS_FILE
from ..report.texts import TEXTS_FILE, SourceIds, read_line, text_offsets
from .local import sum_nested
from .shard import read_shard_file, shard_of

# run.json fields that must agree between shards (besides the metrics' signatures).
SAME = ("factbench_version", "seed", "profile", "split", "limit")
KEYS = ("dataset", "split", "example_id", "doc_id", "system")


def merge(run_dirs: list[str | Path], out: str | Path, command: str = "") -> Path:
    """Merge shard run directories into ``out``; return ``out``.

    Raises
    ------
    RunError
        A directory that is not a finished shard run, shards of different runs, a shard missing or given twice,
        a record in two shards, in the wrong shard, or missing.
    """
    dirs = [Path(d) for d in run_dirs]
    out = Path(out)
    if (out / "run.json").exists():
        raise RunError(f"{out} already holds a finished run; choose another --out")
    shards = [_read_shard(d) for d in dirs]
    count = shards[0][1]["count"]
    first_meta = shards[0][0]
    for d, (meta, info) in zip(dirs, shards):
        if info["count"] != count:
            raise RunError(f"{d} is shard {info['index']}/{info['count']}, {dirs[0]} is one of {count} shards")
        for key in SAME:
            if meta.get(key) != first_meta.get(key):
                raise RunError(f"{d} and {dirs[0]} differ in {key}: {meta.get(key)!r} vs {first_meta.get(key)!r}")
        mine = {k: v["signature"] for k, v in meta["metrics"].items()}
        theirs = {k: v["signature"] for k, v in first_meta["metrics"].items()}
        if mine != theirs:
            differ = sorted(set(mine) ^ set(theirs) | {k for k in mine if k in theirs and mine[k] != theirs[k]})
            raise RunError(f"{d} and {dirs[0]} ran other metrics or settings: {', '.join(differ)} differ")
        if info["selected"] != shards[0][1]["selected"]:
            raise RunError(f"{d} and {dirs[0]} selected other datasets or counts: {info['selected']} vs {shards[0][1]['selected']}")
    indexes = sorted(info["index"] for _, info in shards)
    if indexes != list(range(count)):
        twice = sorted({i for i in indexes if indexes.count(i) > 1})
        missing = sorted(set(range(count)) - set(indexes))
        raise RunError(
            f"merge needs each of the {count} shards exactly once: "
            + "; ".join(p for p in (f"missing {missing}" if missing else "", f"given twice {twice}" if twice else "") if p)
        )

    order = _record_order(dirs, shards)
    out.mkdir(parents=True, exist_ok=True)
    _write_scores(out, dirs, order)
    _write_results(out, dirs, order, list(first_meta["metrics"]))
    if all((d / GROUPS_FILE).is_file() for d in dirs):
        _write_groups(out, dirs, order)
    if all((d / TEXTS_FILE).is_file() for d in dirs):
        _write_texts(out, dirs, order)
    _write_meta(out, dirs, shards, command)
    from ..report import write_reports

    write_reports(out)
    return out


def _read_shard(d: Path) -> tuple[dict, dict]:
    for name in ("run.json", "scores.csv", "results.jsonl"):
        if not (d / name).is_file():
            raise RunError(f"{d} is not a finished run directory: {name} is missing")
    info = read_shard_file(d)
    if info is None:
        raise RunError(f"{d} is not a shard run (it has no shard.json; score shards with --shard I/N)")
    return read_json(d / "run.json"), info


def _record_order(dirs: list[Path], shards) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(dataset, example_id) -> (dataset rank, position in the unsharded selection, shard dir index); checks
    that each record is in exactly one shard, the shard its hash names, and that no record is missing."""
    datasets = list(shards[0][1]["selected"])
    rank = {name: i for i, name in enumerate(datasets)}
    order: dict[tuple[str, str], tuple[int, int, int]] = {}
    for n, (d, (_, info)) in enumerate(zip(dirs, shards)):
        seen = {name: 0 for name in datasets}
        with open(d / "scores.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                key = (row["dataset"], row["example_id"])
                if row["dataset"] not in rank:
                    raise RunError(f"{d}: record {key[1]} of dataset {key[0]!r}, which shard.json does not list")
                if key in order:
                    raise RunError(f"record {key[0]}/{key[1]} is in two shards: {dirs[order[key][2]]} and {d}")
                if shard_of(key[0], key[1], info["count"]) != info["index"]:
                    raise RunError(f"{d}: record {key[0]}/{key[1]} does not belong to shard {info['index']}/{info['count']}")
                position = info["positions"][key[0]][seen[key[0]]]
                seen[key[0]] += 1
                order[key] = (rank[key[0]], position, n)
    for name, total in shards[0][1]["selected"].items():
        have = sum(1 for k in order if k[0] == name)
        if have != total:
            raise RunError(f"dataset {name!r}: the shards hold {have} of its {total} selected records")
    return order


def _write_scores(out: Path, dirs: list[Path], order) -> None:
    """One scores.csv: the union of the shards' label columns (sorted, as the runner writes them), rows in the
    unsharded order, every cell copied as stored."""
    headers, rows = [], {}
    for d in dirs:
        with open(d / "scores.csv", newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            headers.append(header)
            for row in reader:
                cells = dict(zip(header, row))
                rows[(cells["dataset"], cells["example_id"])] = cells
    labels = sorted({c for h in headers for c in h if c.startswith("label:")})
    scores = [c for c in headers[0] if c not in KEYS and not c.startswith("label:")]
    for d, h in zip(dirs, headers):
        if [c for c in h if c not in KEYS and not c.startswith("label:")] != scores:
            raise RunError(f"{d}: score columns differ from {dirs[0]}")
    columns = [*KEYS, *labels, *scores]
    with atomic_open(out / "scores.csv", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for key in sorted(order, key=order.get):
            writer.writerow([rows[key].get(c, "") for c in columns])


def _write_results(out: Path, dirs: list[Path], order, labels: list[str]) -> None:
    """results.jsonl in the runner's order (metric by metric, records in order), each line copied as stored;
    lines are found through byte offsets so that the details are never all held in memory."""
    offsets: dict[tuple[str, str, str], tuple[int, int]] = {}
    for n, d in enumerate(dirs):
        with open(d / "results.jsonl", "rb") as fh:
            while True:
                at = fh.tell()
                line = fh.readline()
                if not line:
                    break
                row = json.loads(line)
                offsets[(row["metric"], row["dataset"], row["example_id"])] = (n, at)
    handles = [open(d / "results.jsonl", "rb") for d in dirs]
    try:
        with atomic_open(out / "results.jsonl", "wb") as fh:
            for label in labels:
                for key in sorted(order, key=order.get):
                    where = offsets.get((label, *key))
                    if where is None:
                        raise RunError(f"{dirs[order[key][2]]}: results.jsonl has no {label} result for {key[0]}/{key[1]}")
                    src = handles[where[0]]
                    src.seek(where[1])
                    fh.write(src.readline())
    finally:
        for h in handles:
            h.close()


def _write_groups(out: Path, dirs: list[Path], order) -> None:
    """One groups.csv. The runner names a meta field where a record first has it; from the shards' files, a field
    first shows as a non-empty cell, in the unsharded order (fields that are empty everywhere come last)."""
    headers, rows = [], {}
    for n, d in enumerate(dirs):
        with open(d / GROUPS_FILE, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            headers.append(next(reader)[2:])
            for row in reader:
                rows[(row[0], row[1])] = dict(zip(headers[n], row[2:]))
    fields: dict[str, None] = {}
    ranked = sorted(order, key=order.get)
    for key in ranked:
        for name, value in rows.get(key, {}).items():
            if value != "":
                fields.setdefault(name, None)
    for header in headers:
        fields.update((name, None) for name in header if name not in fields)
    with atomic_open(out / GROUPS_FILE, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["dataset", "example_id", *fields])
        for key in ranked:
            if key not in rows:
                raise RunError(f"{dirs[order[key][2]]}: {GROUPS_FILE} has no row for {key[0]}/{key[1]}")
            writer.writerow([*key, *(rows[key].get(name, "") for name in fields)])


def _write_texts(out: Path, dirs: list[Path], order) -> None:
    """One texts.jsonl: sources numbered in the order the unsharded run first meets them (a source shared by
    records of two shards is stored once), then the summaries in the unsharded order."""
    offsets = [text_offsets(d) for d in dirs]
    handles = [open(d / TEXTS_FILE, "rb") for d in dirs]
    ranked = sorted(order, key=order.get)
    try:
        global_id: dict[tuple[int, int], int] = {}  # (shard, its source id) -> merged source id
        merged_id = SourceIds()
        with atomic_open(out / TEXTS_FILE) as fh:
            for key in ranked:
                n = order[key][2]
                if key not in offsets[n][1]:
                    raise RunError(f"{dirs[n]}: {TEXTS_FILE} has no line for {key[0]}/{key[1]}")
                sid = read_line(handles[n], offsets[n][1][key])["source_id"]
                if (n, sid) in global_id:
                    continue
                source = read_line(handles[n], offsets[n][0][sid])["source"]
                merged, new = merged_id(source)
                global_id[(n, sid)] = merged
                if new:
                    fh.write(json.dumps({"source_id": merged, "source": source}, ensure_ascii=False) + "\n")
            for key in ranked:
                n = order[key][2]
                row = read_line(handles[n], offsets[n][1][key])
                row["source_id"] = global_id[(n, row["source_id"])]
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        for h in handles:
            h.close()


def _write_meta(out: Path, dirs: list[Path], shards, command: str) -> None:
    meta = dict(shards[0][0])
    selected = shards[0][1]["selected"]
    meta["command"] = command or meta.get("command", "")
    meta["started"] = min(m["started"] for m, _ in shards)
    meta["ended"] = max(m["ended"] for m, _ in shards)
    meta["shard"] = None
    meta["engine"] = {"name": "merge", "shards": [
        {"dir": str(d), "index": info["index"], "count": info["count"], "engine": m.get("engine"),
         "git_commit": m.get("git_commit"), "host": m.get("machine", {}).get("host")}
        for d, (m, info) in zip(dirs, shards)
    ]}
    meta["datasets"] = [{**d, "n": selected[d["name"]]} for d in meta["datasets"]]
    timings = [read_json(d / "timings.json") for d in dirs if (d / "timings.json").is_file()]
    write_json(out / "timings.json", _sum_timings(timings))
    meta["files"] = rundir.fingerprints(out)  # of the merged files, not of shard 0's
    write_json(out / "run.json", meta)


def _sum_timings(parts: list[dict]) -> dict:
    """Summaries and seconds added over the shards (wall seconds are shard seconds, not elapsed time)."""
    metrics: dict = {}
    for part in parts:
        for label, t in part["metrics"].items():
            m = metrics.setdefault(label, {"summaries": 0, "resumed": 0, "wall_s": 0.0, "cpu_s": 0.0,
                                           "stages": {}, "cache": {}, "settings": t.get("settings", {})})
            for key in ("summaries", "resumed", "wall_s", "cpu_s"):
                m[key] += t.get(key, 0) or 0
            m["stages"] = sum_nested([m["stages"], t.get("stages", {})])
            m["cache"] = sum_nested([m["cache"], t.get("cache", {})])
    for m in metrics.values():
        m["summaries_per_s"] = m["summaries"] / m["wall_s"] if m["wall_s"] > 0 and m["summaries"] else None
    return {"peak_memory_mb": max((p.get("peak_memory_mb", 0.0) for p in parts), default=0.0),
            "metrics": metrics, "note": "summed over the merged shards"}
