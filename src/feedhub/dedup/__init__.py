"""What makes two items the same story, in two parts that the store sees
differently:

- fingerprint.py: what the store indexes (exact keys, shingles, MinHash
  signatures and their LSH bands), worked out from an item alone;
- candidates.py: what the store finds under those keys and bands, and the
  match it records;
- decide.py: the decision (a new story, a copy, or the better copy), from
  the candidates alone.  The store never imports it: the filing step
  (ingest/filing.py) runs it between the store's reads and writes.
"""
