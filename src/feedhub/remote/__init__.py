"""Source feeds from other hosts: the only code that talks to them.

fetch.py fetches (conditional GET, redirects, limits) through fetchguard.py's
address checks; politeness.py spaces retries.  decoding.py finds the text's
encoding, parse.py reads every feed format (feedparser, jsonfeed.py for JSON
Feed), and to_item.py makes a parsed entry an Item.  fulltext.py completes
teasers from the entry's page; websub.py pings hubs when a feed changes.
"""
