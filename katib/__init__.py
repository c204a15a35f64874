"""Search with Katib: experiment builders, Hyperband, DARTS and a local experiment runner.

The algorithms are plain Python; only ``katib.suggestion`` needs Katib's gRPC stubs.
"""
