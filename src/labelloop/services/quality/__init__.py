"""Quality: the QA report, agreement, gold items, flags, label-issue detection, the review queue
and auto-acceptance with its audit.

Imports annotation (a resolved review is a reviewer's answer), models and below. The ML side of
these checks (agreement statistics, confident learning, thresholds) is :mod:`labelloop.quality`.
"""
