"""Container images the components run in.

Every lightweight component imports this package inside its body, so its ``base_image`` must have the
package installed (images/runtime/Dockerfile). Override the registry with KWP_IMAGE_REGISTRY when
compiling for a private registry.
"""

from __future__ import annotations

import os

VERSION = "0.1.0"
REGISTRY = os.environ.get("KWP_IMAGE_REGISTRY", "ghcr.io/kubeflow-warehouse-pipelines")

RUNTIME_IMAGE = f"{REGISTRY}/kwp-runtime:{VERSION}"
TRAINER_IMAGE = f"{REGISTRY}/kwp-trainer:{VERSION}"
HYPERBAND_SUGGESTION_IMAGE = f"{REGISTRY}/kwp-hyperband-suggestion:{VERSION}"
DARTS_TRIAL_IMAGE = f"{REGISTRY}/kwp-darts-trial:{VERSION}"
