"""AdStreamX's PySpark jobs. Run them from the project root with the venv's Python:

.venv/bin/python -m adsx_jobs.stream_ctr --available-now     # the stream engine's Spark peer
"""
