"""How well the article reader tells story from furniture, on the labelled corpus.

    python bench/articles.py

The corpus (bench/data/articles/, written by bench/article_corpus.py) is eight
invented houses' CMS exports, every line labelled; two keep several versions
of some stories (wire updates, a re-export, corrections).  Each house folder is
ingested by the real `run_cycle` (house style learned as in production) into
a fresh database, then every file's stored record is compared with its label:

- boilerplate precision and recall, line by line: a boilerplate line left in
  the body is a miss, a body line left out of it a false positive;
- the share of metadata fields read right (authors, published, updated, tags,
  image, credit, headline, the body blocks, the warnings), file by file (the
  headline and blocks as the file is read with the house style learned: a
  version's stored story may show another version's text);
- a sweep of the house-style thresholds (MIN_FILES, MIN_SHARE), re-reading
  the files with the counts the ingest kept, to show why the defaults.

The figures are the last lines printed.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from common import write_config  # noqa: E402

from feedhub.articles import boilerplate  # noqa: E402
from feedhub.articles.parse import ArticleError, parse_article  # noqa: E402
from feedhub.config import load_config  # noqa: E402
from feedhub.ingest.cycle import run_cycle  # noqa: E402
from feedhub.store import Store  # noqa: E402

CORPUS = REPO / "bench" / "data" / "articles"
FIELDS = ["headline", "authors", "published", "updated", "tags", "image", "credit", "blocks", "warnings"]


def line_outcomes(path: Path, labels: list[str], dropped: set[int]) -> dict[str, int]:
    """tp / fn / fp counts of boilerplate for one file (dropped: line numbers)."""
    numbers = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if line.strip()]
    counts = {"tp": 0, "fn": 0, "fp": 0, "meta_in_body": 0}
    for number, label in zip(numbers, labels):
        left_out = number in dropped
        if label == "boilerplate":
            counts["tp" if left_out else "fn"] += 1
        elif label == "body" and left_out:
            counts["fp"] += 1
        elif label == "meta" and not left_out:
            counts["meta_in_body"] += 1
    return counts


def fields_right(expect: dict, got: dict) -> dict[str, bool]:
    return {name: expect[name] == got[name] for name in FIELDS}


def score(outcomes: list[dict]) -> tuple[float, float, int, int]:
    tp, fn, fp = (sum(o[k] for o in outcomes) for k in ("tp", "fn", "fp"))
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), fp, fn


def main() -> None:
    expected = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        records, counts, summaries = {}, {}, {}
        # A database per house: the houses carry some of the same stories,
        # which in one database would be filed as duplicates of each other.
        for house, settings in expected["houses"].items():
            shutil.copytree(CORPUS / house, root / house / house)
            folder = {"path": str(root / house / house), "timezone": settings["timezone"]}
            config = load_config(write_config(root / house, articles=[folder]))
            with Store(config.database) as store:
                summaries[house] = dict(run_cycle(config, store).counts[f"articles:{house}"])
                counts[house] = store.house_lines(str(root / house / house), 1)
                total, lines = counts[house]
                rules = boilerplate.HouseStyle(house=boilerplate.learned(lines, total))
                for name in [n for n in expected["files"] if n.startswith(f"{house}/")]:
                    row = store.file_state(str(root / house / name))
                    try:
                        read = parse_article(root / house / name, rules, ZoneInfo(settings["timezone"]))
                    except ArticleError:  # learned away to nothing (its record says so)
                        read = None
                    records[name] = (row, read)

        outcomes, field_hits, misses = [], {name: 0 for name in FIELDS}, []
        for name, expect in expected["files"].items():
            row, article = records[name]
            parse = json.loads(row.parse or "{}")
            dropped = {number for number, _, _ in parse.get("dropped", [])}
            path = root / name.split("/")[0] / name
            outcome = line_outcomes(path, expect["labels"], dropped)
            outcomes.append(outcome)
            got = {
                "headline": article and article.headline, "authors": parse.get("authors"), "published": parse.get("published"),
                "updated": parse.get("updated"), "tags": parse.get("tags"), "image": parse.get("image"),
                "credit": parse.get("credit"), "warnings": len(parse.get("warnings", [])),
                "blocks": article and article.blocks,
            }
            want = {**expect, "blocks": [tuple(block) for block in expect["blocks"]]}
            for field, right in fields_right(want, got).items():
                field_hits[field] += right
                if not right:
                    misses.append(f"  {name}: {field}: expected {want[field]!r}, read {got[field]!r}")
            if outcome["fp"] or outcome["fn"]:
                misses.append(f"  {name}: {outcome['fp']} body lines dropped, {outcome['fn']} boilerplate lines kept")

        print(f"ingest: {summaries}")
        print("\nhouse-style thresholds (min files, min share) -> boilerplate precision, recall, body lines dropped:")
        sweep = []
        for min_files in (2, 3, 5):
            for min_share in (0.25, 0.35, 0.5, 0.75, 0.95):
                sweep_outcomes = []
                for name, expect in expected["files"].items():
                    house = name.split("/")[0]
                    total, lines = counts[house]
                    rules = boilerplate.HouseStyle(house=boilerplate.learned(lines, total, min_files, min_share))
                    path = root / house / name
                    try:
                        dropped = {number for number, _, _ in parse_article(path, rules).dropped}
                    except ArticleError:  # nothing of it is served
                        dropped = set(range(1, len(path.read_text(encoding="utf-8").splitlines()) + 1))
                    sweep_outcomes.append(line_outcomes(path, expect["labels"], dropped))
                precision, recall, fp, fn = score(sweep_outcomes)
                mark = "  <- default" if (min_files, min_share) == (boilerplate.MIN_FILES, boilerplate.MIN_SHARE) else ""
                sweep.append(f"  {min_files} files, share {min_share:.2f}: precision {precision:.3f}, recall {recall:.3f}, "
                             f"{fp} body lines dropped, {fn} boilerplate kept{mark}")
        print("\n".join(sweep))
        if misses:
            print("\nmisses:")
            print("\n".join(misses))
        precision, recall, fp, fn = score(outcomes)
        files = len(expected["files"])
        total_fields = files * len(FIELDS)
        right = sum(field_hits.values())
        print("\nper field right: " + ", ".join(f"{k} {v}/{files}" for k, v in field_hits.items()))
        print(f"corpus: {files} files in {len(expected['houses'])} houses, "
              f"{sum(o['tp'] + o['fn'] for o in outcomes)} boilerplate lines")
        print(f"boilerplate precision {precision:.3f}, recall {recall:.3f} (body lines dropped: {fp}, boilerplate lines kept: {fn})")
        print(f"metadata fields right: {right}/{total_fields} = {right / total_fields:.3f}")


if __name__ == "__main__":
    main()
