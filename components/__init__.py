"""KFP components of kwp.

Each sub-package keeps its logic in plain modules (importable without KFP or Kubernetes) and a thin
``component.py`` that wraps that logic as a lightweight KFP component.
"""
