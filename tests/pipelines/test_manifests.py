from pathlib import Path

import yaml

from pipelines.manifests import LAUNCHER_RULES, render_tree, write_manifests

REPO = Path(__file__).resolve().parents[2]


def test_checked_in_manifests_are_exactly_what_kwp_manifests_generates():
    rendered = render_tree()
    on_disk = {
        str(p.relative_to(REPO / "manifests")): p.read_text()
        for p in (REPO / "manifests").rglob("*.yaml")
    }
    stale = sorted(set(on_disk) - set(rendered))
    missing = sorted(set(rendered) - set(on_disk))
    assert not stale and not missing, f"run `kwp manifests --out manifests`: stale {stale}, missing {missing}"
    differing = sorted(p for p in rendered if rendered[p] != on_disk[p])
    assert not differing, f"run `kwp manifests --out manifests`: {differing} differ"


def test_every_kustomization_lists_files_that_exist(tmp_path):
    write_manifests(tmp_path)
    for kustomization in tmp_path.rglob("kustomization.yaml"):
        doc = yaml.safe_load(kustomization.read_text())
        assert not doc.get("patches"), "patches need their target among the resources; we ship none"
        for entry in doc.get("resources", []):
            assert (kustomization.parent / entry).exists(), f"{kustomization}: {entry} missing"


def test_launcher_role_is_least_privilege():
    verbs = {(g, r): set(rule["verbs"]) for rule in LAUNCHER_RULES
             for g in rule["apiGroups"] for r in rule["resources"]}
    assert verbs[("kubeflow.org", "pytorchjobs")] == {"create", "get", "watch", "delete"}
    assert verbs[("trainer.kubeflow.org", "trainjobs")] == {"create", "get", "watch", "delete"}
    assert verbs[("kubeflow.org", "experiments")] == {"create", "get", "watch", "delete"}
    assert verbs[("kubeflow.org", "trials")] == {"get", "list"}  # found by the experiment's label
    assert verbs[("", "pods")] == {"get", "list"}  # found by the job's labels
    assert verbs[("", "pods/log")] == {"get"}
    assert not any("*" in rule["verbs"] or "*" in rule["resources"] for rule in LAUNCHER_RULES)
    assert not any(v & {"update", "patch"} for v in verbs.values())


def test_every_generated_document_is_a_kubernetes_object():
    for path, text in render_tree().items():
        doc = yaml.safe_load(text)
        assert {"apiVersion", "kind"} <= set(doc), path
