"""``kwp katib run X.yaml --local`` through ``main(argv)``: exit codes, output, clear errors."""

from __future__ import annotations

from katib.experiments import Algorithm, experiment_to_yaml
from katib.local import main


def test_runs_a_yaml_file_and_prints_the_result_files(make_experiment, tmp_path, capsys):
    path = tmp_path / "quad.yaml"
    path.write_text(experiment_to_yaml(make_experiment(Algorithm.random(seed=1), parallel=2, max=2)))
    code = main(
        ["run", str(path), "--local", "--out", str(tmp_path / "out"), "--max-parallel", "1", "--seed", "2"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "[quad] trial 1/2 started quad-001" in out
        and "best_trial.json:" in out
        and "best trial quad-00" in out
    )
    assert (tmp_path / "out" / "results.md").exists()


def test_failed_experiment_exits_1(make_experiment, tmp_path):
    path = tmp_path / "fail.yaml"
    experiment = make_experiment(
        Algorithm.random(seed=1), extra_args=("--fail-above", "-5"), parallel=1, max=2, failed=1
    )
    path.write_text(experiment_to_yaml(experiment))
    assert main([str(path), "--out", str(tmp_path / "out")]) == 1


def test_bad_input_exits_2_with_a_clear_message(make_experiment, tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: kubeflow.org/v1beta1\nkind: Experiment\nspec: [oops\n")
    assert main([str(broken), "--out", str(tmp_path / "a")]) == 2
    assert "is not valid YAML" in capsys.readouterr().err
    unknown = make_experiment(Algorithm.random(seed=1))
    unknown["spec"]["trialTemplate"]["trialParameters"][0]["reference"] = "momentum"
    path = tmp_path / "unknown.yaml"
    path.write_text(experiment_to_yaml(unknown))
    assert main([str(path), "--out", str(tmp_path / "b")]) == 2
    assert "'momentum' is not a parameter of spec.parameters" in capsys.readouterr().err
    assert main([str(path), "--data", "oops"]) == 2
    assert "--data expects NAME=VALUE" in capsys.readouterr().err


def test_default_output_directory_is_named_after_the_experiment(make_experiment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "file-name.yaml"
    path.write_text(
        experiment_to_yaml(make_experiment(Algorithm.random(seed=1), name="named", parallel=1, max=1))
    )
    assert main([str(path), "--local"]) == 0
    assert (tmp_path / ".kwp" / "katib" / "named" / "best_trial.json").exists()
