"""Annotation: the work queue (``next``), the item views it shows, and submit, skip and undo.

Owns leases and the human answers in ``annotations``. Imports models (for live suggestions) and
below; never quality or the loop.
"""
