"""The trial command, run as Katib runs it: a subprocess with Katib's argument forms."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import torch

from katib.darts.cli import main
from katib.darts.genotype import load_genotype, parse_genotype
from katib.darts.network import build_network

REPO_ROOT = Path(__file__).resolve().parents[3]
GENOTYPE_FILTER = re.compile(r"([\w-]+)=(Genotype.*)")
KATIB_METRIC = re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)")
SETTINGS = (
    "{'num_epochs': '2', 'batch_size': '16', 'num_workers': '0', 'init_channels': '4', 'num_nodes': '2', "
    "'print_step': '1', 'w_lr': 0.025, 'unrolled': 'True'}"
)
SPACE = "['separable_convolution_3x3', 'dilated_convolution_3x3', 'avg_pooling_3x3', 'skip_connection']"


def test_trial_command_end_to_end(tmp_path, digits_parquet, digits_stats):
    out = tmp_path / "out"
    # The argument forms of Katib's example trial template: quotes included, since no shell strips them.
    command = [sys.executable, "-m", "katib.darts", f'--algorithm-settings="{SETTINGS}"',
               f'--search-space="{SPACE}"', '--num-layers="2"', "--data", str(digits_parquet),
               "--stats", str(digits_stats), "--output-dir", str(out), "--device", "cpu"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    genotypes = [m.groups() for line in lines if (m := GENOTYPE_FILTER.search(line))]
    assert len(genotypes) == 1 and genotypes[0][0] == "Best-Genotype"
    assert " " not in genotypes[0][1]
    saved = load_genotype(out / "genotype.json")
    assert parse_genotype(genotypes[0][1]) == saved
    metrics = [m.groups()[:2] for line in lines if (m := KATIB_METRIC.fullmatch(line))]
    accuracies = [float(value) for name, value in metrics if name == "validation-accuracy"]
    assert len(accuracies) == 2 and all(0 <= a <= 1 for a in accuracies)
    report = json.loads((out / "search_metrics.json").read_text())
    assert report["settings"]["unrolled"] is True and report["num_layers"] == 2
    assert report["best_genotype"] == str(saved)
    net = build_network(report["model_options"], input_dim=64, num_classes=len(report["classes"]))
    assert net(torch.randn(2, 64)).shape == (2, 3)


def test_bad_settings_exit_2_with_the_valid_names(tmp_path, digits_parquet, capsys):
    code = main(
        ["--algorithm-settings", "{'epochs': '3'}", "--num-layers", "2", "--data", str(digits_parquet)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown DARTS settings ['epochs']" in err and "num_epochs" in err


def test_bad_search_space_layers_device_and_threads_exit_2(tmp_path, digits_parquet, capsys):
    assert main(["--search-space", "['conv_9x9']", "--num-layers", "2", "--data", str(digits_parquet)]) == 2
    assert "unknown operation 'conv_9x9'" in capsys.readouterr().err
    assert main(["--num-layers", "two", "--data", str(digits_parquet)]) == 2
    assert "--num-layers must be a positive integer, got 'two'" in capsys.readouterr().err
    assert main(["--num-layers", "1", "--data", str(digits_parquet), "--device", "gpu0"]) == 2
    assert "--device 'gpu0' is not a torch device" in capsys.readouterr().err
    assert main(["--num-layers", "1", "--data", str(digits_parquet), "--threads", "0"]) == 2
    assert "--threads must be a positive integer" in capsys.readouterr().err


def test_existing_outputs_are_kept_before_any_search_runs(tmp_path, digits_parquet, capsys):
    (tmp_path / "genotype.json").write_text("{}")
    code = main(["--num-layers", "1", "--data", str(digits_parquet), "--output-dir", str(tmp_path)])
    assert code == 2 and "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "genotype.json").read_text() == "{}"
