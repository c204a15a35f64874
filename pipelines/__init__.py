"""Compiled pipelines of kwp and the ``kwp`` command line."""
