"""Data: importing items (and their labels and predictions) and exporting them.

:mod:`~labelloop.services.data.formats` is pure file I/O (readers and writers, no database);
``importing`` and ``exporting`` are the use-cases that connect it to a project.
Imports: projects, results and the task plug-ins only.
"""
