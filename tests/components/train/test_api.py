"""The in-process API: outputs, training modes, checkpoints and resume, all in one process."""

from __future__ import annotations

import io
import json
import re

import pytest
import torch

from components.train import models
from components.train.api import train
from components.train.checkpoint import CHECKPOINT_FILE
from components.train.data import load_splits
from components.train.errors import CheckpointError, OptionError, OutputError
from components.train.loop import fit
from components.train.options import TrainOptions
from components.train.reporting import katib_line

KATIB_LINE = re.compile(
    r"^epoch=(\d+) loss=([\d.e+-]+) accuracy=([\d.e+-]+) val-loss=([\d.e+-]+) val-accuracy=([\d.e+-]+)$"
)


def _options(**overrides) -> TrainOptions:
    defaults = {"epochs": 2, "batch_size": 32, "lr": 0.01, "model_options": {"hidden_sizes": [16]}, "seed": 5}
    return TrainOptions(**{**defaults, **overrides})


def _run(splits, model_dir, **overrides):
    return train(_options(**overrides), str(splits.train), str(splits.validation), str(model_dir))


def _weights(model_dir) -> dict[str, torch.Tensor]:
    return torch.load(model_dir / models.WEIGHTS_FILE, weights_only=True)


def test_train_writes_the_model_directory(splits, tmp_path, capsys):
    model_dir = tmp_path / "model"
    metrics = train(
        _options(stats=str(splits.stats)),
        str(splits.train),
        str(splits.validation),
        str(model_dir),
        katib_stdout=True,
    )
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "metrics.json",
        "model.pt",
        "model_config.json",
        "tensorboard",
    ]
    assert list((model_dir / "tensorboard").glob("events.out.tfevents.*"))
    config = json.loads((model_dir / "model_config.json").read_text())
    assert config["architecture"] == "mlp" and config["classes"] == [0, 1, 2]
    assert config["stats_uri"] == str(splits.stats) and config["label_column"] == "label"
    assert not any(k.startswith(("module.", "_fsdp")) for k in _weights(model_dir))
    assert json.loads((model_dir / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    assert metrics["epochs"] == 2 and [r["epoch"] for r in metrics["history"]] == [1, 2]
    assert metrics["final"] == metrics["history"][-1]
    assert metrics["best"]["val_loss"] == min(r["val_loss"] for r in metrics["history"])
    assert metrics["final"]["val_accuracy"] > 0.8  # well separated blobs: training works at all
    lines = capsys.readouterr().out.strip().splitlines()
    assert [KATIB_LINE.match(line).group(1) for line in lines] == ["1", "2"]


def test_load_model_reproduces_the_reported_validation_accuracy(splits, tmp_path):
    metrics = _run(splits, tmp_path / "m")
    model, config = models.load_model(tmp_path / "m")
    _, val, _, _ = load_splits(
        str(splits.train), str(splits.validation), feature_columns=config["feature_columns"]
    )
    with torch.no_grad():
        accuracy = (model(val.features).argmax(1) == val.labels).float().mean().item()
    assert accuracy == pytest.approx(metrics["final"]["val_accuracy"])


def test_katib_line_format():
    record = {"epoch": 3, "loss": 0.41, "accuracy": 0.91, "val_loss": 0.45, "val_accuracy": 0.9, "lr": 1.0}
    assert katib_line(record) == "epoch=3 loss=0.41 accuracy=0.91 val-loss=0.45 val-accuracy=0.9"
    assert katib_line({**record, "loss": 1.5e-7}).split()[1] == "loss=1.5e-07"


def test_same_seed_same_weights(splits, tmp_path):
    _run(splits, tmp_path / "a", model_options={"hidden_sizes": [16], "dropout": 0.3})
    _run(splits, tmp_path / "b", model_options={"hidden_sizes": [16], "dropout": 0.3})
    _run(splits, tmp_path / "c", model_options={"hidden_sizes": [16], "dropout": 0.3}, seed=6)
    a, b, c = (_weights(tmp_path / name) for name in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize(
    "overrides",
    [
        {"precision": "bf16"},
        {"grad_accum_steps": 3},
        {"fsdp": True},
        {"activation_checkpointing": True},
        {"fsdp": True, "activation_checkpointing": True, "grad_accum_steps": 2},
        {"model": "cnn", "model_options": {"input_shape": [2, 2, 2], "channels": [4]}, "optimizer": "sgd"},
    ],
    ids=["bf16", "grad-accum", "fsdp", "activation-checkpointing", "fsdp+ac+accum", "cnn-sgd"],
)
def test_training_modes_run_one_epoch_and_leave_plain_weights(splits, tmp_path, overrides):
    metrics = _run(splits, tmp_path / "m", epochs=1, **overrides)
    assert metrics["epochs"] == 1 and metrics["final"]["loss"] > 0
    model, _ = models.load_model(tmp_path / "m")
    assert model(torch.zeros(2, 8)).shape == (2, 3)
    assert not torch.distributed.is_initialized()  # the private FSDP group is gone again


def test_grad_accumulation_counts_optimizer_steps(splits, tmp_path):
    # 240 rows / 32 = 8 micro-batches per epoch; accumulating 3 gives windows of 3, 3, 2
    assert _run(splits, tmp_path / "a", epochs=1, grad_accum_steps=3)["steps"] == 3
    assert _run(splits, tmp_path / "b", epochs=1)["steps"] == 8


def test_activation_checkpointing_and_fsdp_do_not_change_the_math(splits, tmp_path):
    _run(splits, tmp_path / "plain", epochs=1)
    _run(splits, tmp_path / "ac", epochs=1, activation_checkpointing=True)
    _run(splits, tmp_path / "fsdp", epochs=1, fsdp=True)
    plain, ac, sharded = (_weights(tmp_path / name) for name in ("plain", "ac", "fsdp"))
    for key in plain:
        assert torch.allclose(plain[key], ac[key], atol=1e-6)
        assert torch.allclose(plain[key], sharded[key], atol=1e-5)


def test_fp16_without_cuda_is_refused(splits, tmp_path):
    with pytest.raises(OptionError, match="fp16 needs a CUDA device"):
        _run(splits, tmp_path / "m", precision="fp16", device="cpu")


def test_paused_and_resumed_run_equals_an_uninterrupted_one(splits, tmp_path):
    """--max-steps pauses mid-epoch; the resumed run replays the same batches, RNG draws and
    learning rates, so the weights are bit-identical to a run that never stopped."""
    common = {"epochs": 2, "model_options": {"hidden_sizes": [16], "dropout": 0.3}, "scheduler": "cosine"}
    _run(splits, tmp_path / "straight", **common)
    ckpt = str(tmp_path / "ckpt")
    paused = _run(splits, tmp_path / "paused", checkpoint_dir=ckpt, max_steps=5, **common)
    assert paused["final"]["partial"] is True and paused["steps"] == 5 and paused["history"][0]["epoch"] == 1
    resumed = _run(splits, tmp_path / "resumed", checkpoint_dir=ckpt, **common)
    assert resumed["resumed_from"] == {"epoch": 0, "batch": 5, "step": 5}
    assert [r["epoch"] for r in resumed["history"]] == [1, 2]
    straight = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    assert resumed["history"][0]["loss"] == pytest.approx(straight["history"][0]["loss"])
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_more_epochs_continue_a_finished_run(splits, tmp_path):
    ckpt = str(tmp_path / "ckpt")
    first = _run(splits, tmp_path / "m1", epochs=1, checkpoint_dir=ckpt)
    second = _run(splits, tmp_path / "m2", epochs=3, checkpoint_dir=ckpt)
    assert second["resumed_from"]["epoch"] == 1
    assert [r["epoch"] for r in second["history"]] == [1, 2, 3]
    assert second["history"][0] == first["history"][0]
    again = _run(splits, tmp_path / "m3", epochs=3, checkpoint_dir=ckpt)  # nothing left to do
    assert again["history"] == second["history"] and again["steps"] == second["steps"]


def test_checkpoint_of_another_run_is_refused(splits, tmp_path):
    ckpt = tmp_path / "ckpt"
    _run(splits, tmp_path / "m1", epochs=1, checkpoint_dir=str(ckpt))
    assert (ckpt / CHECKPOINT_FILE).is_file() and not list(ckpt.glob(".*tmp*"))
    with pytest.raises(CheckpointError, match="belongs to a different run") as refused:
        _run(splits, tmp_path / "m2", epochs=1, checkpoint_dir=str(ckpt), model_options={"hidden_sizes": [8]})
    assert "model.options.hidden_sizes: checkpoint [16], now [8]" in str(refused.value)
    with pytest.raises(CheckpointError, match=r"options.batch_size: checkpoint 32, now 16"):
        _run(splits, tmp_path / "m3", epochs=1, checkpoint_dir=str(ckpt), batch_size=16)


def test_checkpoint_of_another_training_split_is_refused(splits, tmp_path, write_split):
    """Same columns, classes and model, other rows: resuming would silently mix two runs."""
    ckpt = tmp_path / "ckpt"
    _run(splits, tmp_path / "m1", epochs=1, checkpoint_dir=str(ckpt))
    write_split(splits.train, 240, seed=11)  # same path, same row count, other content
    with pytest.raises(CheckpointError) as refused:
        _run(splits, tmp_path / "m2", epochs=2, checkpoint_dir=str(ckpt))
    message = str(refused.value)
    assert f"--checkpoint-dir {str(ckpt)!r} belongs to a different run" in message
    assert "data.train.sha256: checkpoint" in message
    assert "data.train.rows" not in message and "data.validation" not in message
    write_split(splits.train, 200, seed=1)
    with pytest.raises(CheckpointError, match=r"data.train.rows: checkpoint 240, now 200"):
        _run(splits, tmp_path / "m3", epochs=2, checkpoint_dir=str(ckpt))
    elsewhere = tmp_path / "copy" / "validation.parquet"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(splits.validation.read_bytes())
    write_split(splits.train, 240, seed=1)  # the original training split again
    with pytest.raises(CheckpointError, match=r"data.validation.uri: checkpoint .*, now .*copy"):
        train(
            _options(epochs=2, checkpoint_dir=str(ckpt)),
            str(splits.train),
            str(elsewhere),
            str(tmp_path / "m4"),
        )
    resumed = _run(splits, tmp_path / "m5", epochs=2, checkpoint_dir=str(ckpt))
    assert resumed["resumed_from"]["epoch"] == 1  # the same data resumes


def _snapshot(model_dir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in model_dir.iterdir() if p.is_file()}


def test_rerun_after_the_model_was_saved_reports_the_finished_run(splits, tmp_path, capsys):
    """A restart after rank 0 wrote the model directory (a peer died before exiting) finds a finished
    checkpoint of the same run and that run's model: it reports the saved metrics and trains nothing."""
    model_dir, ckpt = tmp_path / "m", str(tmp_path / "ckpt")
    options = _options(checkpoint_dir=ckpt, tensorboard=False)
    first = train(options, str(splits.train), str(splits.validation), str(model_dir), katib_stdout=True)
    before = _snapshot(model_dir)
    capsys.readouterr()
    again = train(options, str(splits.train), str(splits.validation), str(model_dir), katib_stdout=True)
    assert again == json.loads(json.dumps(first)) and _snapshot(model_dir) == before
    out, err = capsys.readouterr()
    assert [KATIB_LINE.match(line).group(1) for line in out.splitlines()] == ["1", "2"]
    assert "already holds the result of this run" in err
    paused_dir = tmp_path / "paused"
    paused = _run(splits, paused_dir, checkpoint_dir=str(tmp_path / "ckpt2"), max_steps=3)
    assert _run(splits, paused_dir, checkpoint_dir=str(tmp_path / "ckpt2"), max_steps=3) == paused


def test_existing_model_is_kept_unless_it_is_this_runs_finished_result(splits, tmp_path):
    model_dir, ckpt = tmp_path / "m", str(tmp_path / "ckpt")
    _run(splits, model_dir, checkpoint_dir=ckpt)
    before = _snapshot(model_dir)
    with pytest.raises(OutputError, match=r"already exists; pass --overwrite"):  # no checkpoint to check
        _run(splits, model_dir)
    with pytest.raises(OutputError, match=r"is not finished \(epoch 2 of 3, step 16\)"):
        _run(splits, model_dir, checkpoint_dir=ckpt, epochs=3)
    with pytest.raises(OutputError, match=r"is not this run's result: .*options.seed: checkpoint 5, now 6"):
        _run(splits, model_dir, checkpoint_dir=ckpt, seed=6)
    with pytest.raises(OutputError, match=r"already exists; pass --overwrite"):  # no checkpoint there
        _run(splits, model_dir, checkpoint_dir=str(tmp_path / "empty"))
    _run(splits, tmp_path / "other", seed=7)  # an unrelated model put in its place
    (model_dir / "model.pt").write_bytes((tmp_path / "other" / "model.pt").read_bytes())
    before["model.pt"] = (model_dir / "model.pt").read_bytes()
    with pytest.raises(OutputError, match="its weights are not the final weights of the finished checkpoint"):
        _run(splits, model_dir, checkpoint_dir=str(tmp_path / "ckpt"), epochs=2)
    assert _snapshot(model_dir) == before  # nothing replaced


def test_rerun_completes_a_model_dir_left_half_written(splits, tmp_path):
    """Rank 0 died after model.pt but before metrics.json: the rerun writes the directory again from
    the finished checkpoint, with the same weights."""
    model_dir, ckpt = tmp_path / "m", str(tmp_path / "ckpt")
    first = _run(splits, model_dir, checkpoint_dir=ckpt)
    weights = (model_dir / "model.pt").read_bytes()
    (model_dir / "metrics.json").unlink()
    again = _run(splits, model_dir, checkpoint_dir=ckpt)
    assert again["history"] == json.loads(json.dumps(first["history"]))
    assert again["resumed_from"] == {"epoch": 2, "batch": 0, "step": 16}
    assert json.loads((model_dir / "metrics.json").read_text())["steps"] == 16
    old = torch.load(io.BytesIO(weights), weights_only=True)
    assert all(torch.equal(old[k], v) for k, v in _weights(model_dir).items())


def test_fit_accepts_any_module_and_reporter(splits):
    train_split, val, _, _ = load_splits(str(splits.train), str(splits.validation))
    records = []

    class Collect:
        def on_epoch_end(self, record):
            records.append(record)

        def close(self):
            pass

    result = fit(torch.nn.Linear(8, 3), train_split, val, _options(epochs=3), Collect())
    assert [r["epoch"] for r in records] == [1, 2, 3] and result.history == records
    assert set(result.state_dict) == {"weight", "bias"}


def test_model_dir_uri_is_uploaded(splits, tmp_path):
    target = tmp_path / "bucket" / "model"
    _run(splits, target.as_uri(), epochs=1)
    assert {"model.pt", "model_config.json", "metrics.json"} <= {p.name for p in target.iterdir()}
    assert list((target / "tensorboard").glob("events.out.tfevents.*"))
    models.load_model(target)
