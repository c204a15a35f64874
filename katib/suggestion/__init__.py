"""Katib suggestion service for kwp's Hyperband (``algorithmName: kwp-hyperband``).

Run it with ``python -m katib.suggestion --port 6789``. Only ``service``, ``convert`` and ``health``
need gRPC and Katib's stubs (kubeflow-katib, its own environment); ``config`` is plain Python so the
manifests generator can import it beside kfp.
"""
