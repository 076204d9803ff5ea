"""The long-running worker: the scheduler that runs every input job on its
interval (scheduler.py), the claims that let several workers share one
database (claims.py), and retention (retention.py: what old items to prune).
"""
