import json
import re

import pytest
import torch

from katib.darts.data import load_image_table
from katib.darts.genotype import load_genotype, parse_genotype
from katib.darts.settings import DartsSettings
from katib.darts.trial import check_outputs, metric_line, run_search, write_outputs

KATIB_METRIC = re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)")
TINY = DartsSettings(num_epochs=2, batch_size=16, num_workers=0, init_channels=4, num_nodes=2, print_step=1)


def search(digits_parquet, space, **changes):
    table = load_image_table(digits_parquet)
    lines = []
    settings = DartsSettings(**{**TINY.to_dict(), **changes})
    result = run_search(table, space, settings, num_layers=2, seed=0, log=lines.append)
    return result, lines


def test_search_reports_each_epoch_in_katib_form_and_ends_with_the_best_genotype(digits_parquet, small_space):
    result, lines = search(digits_parquet, small_space, unrolled=False)
    assert [row["epoch"] for row in result.history] == [1, 2]
    metrics = {}
    for line in lines:
        match = KATIB_METRIC.fullmatch(line)
        if match:
            metrics.setdefault(match[1], []).append(float(match[2]))
    assert metrics["epoch"] == [1.0, 2.0]
    assert len(metrics["validation-accuracy"]) == 2 and len(metrics["train-loss"]) == 2
    assert metrics["best-validation-accuracy"] == [pytest.approx(result.best_accuracy, abs=1e-6)]
    assert lines[-1] == f"Best-Genotype={result.genotype.compact()}"
    accuracies = [row["validation-accuracy"] for row in result.history]
    assert result.best_accuracy == max(accuracies)
    assert result.best_epoch == max(i + 1 for i, a in enumerate(accuracies) if a == max(accuracies))


def test_search_is_deterministic_for_a_seed(digits_parquet, small_space):
    first, _ = search(digits_parquet, small_space, num_epochs=1, unrolled=False)
    second, _ = search(digits_parquet, small_space, num_epochs=1, unrolled=False)
    assert first.alphas == second.alphas


def test_second_order_search_with_data_loader_workers_runs(digits_parquet, small_space):
    result, _ = search(digits_parquet, small_space, num_epochs=1, unrolled=True, num_workers=1)
    assert set(result.alphas) == {"normal", "reduce"}


def test_outputs_are_written_once_unless_overwrite(digits_parquet, small_space, tmp_path):
    result, _ = search(digits_parquet, small_space, num_epochs=1, unrolled=False)
    genotype_path, metrics_path = write_outputs(result, tmp_path, {"seed": 0})
    assert load_genotype(genotype_path) == result.genotype
    assert json.loads(metrics_path.read_text())["seed"] == 0
    with pytest.raises(FileExistsError, match="--overwrite"):
        check_outputs(tmp_path, overwrite=False)
    write_outputs(result, tmp_path, {}, overwrite=True)


def test_metric_lines_are_plain_numbers():
    assert metric_line("w-lr", 2.5e-5) == "w-lr=2.5e-05"
    assert KATIB_METRIC.fullmatch(metric_line("validation-accuracy", 0.123456789))


def test_alphas_of_a_search_really_moved(digits_parquet, small_space):
    torch.manual_seed(0)
    result, _ = search(digits_parquet, small_space, num_epochs=1, unrolled=False, alpha_lr=0.05)
    spread = [max(row) - min(row) for row in result.alphas["normal"]]
    assert max(spread) > 0.01  # initial alphas are 1e-3 noise: near-uniform rows
    assert parse_genotype(str(result.genotype)) == result.genotype
