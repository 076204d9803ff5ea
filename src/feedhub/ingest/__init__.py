"""Ingest: article folders and source feeds into the store, one pass at a time.

- cycle.py: one pass over every input (run_cycle), and what comes after it;
- folders.py: the article-folder pipeline (files, batches, reader processes);
- feeds.py: the feed pipeline (fetch threads, reader processes, grouped
  commits, full text, backoff);
- filing.py: one item into the store: keep/block rules, then candidates ->
  dedup.decide -> the store's writes, in one transaction; re-checking stored
  items when the rules change;
- summary.py: what a pass did, per input;
- rules.py: the keep/block rules; pool.py: worker processes.
"""
