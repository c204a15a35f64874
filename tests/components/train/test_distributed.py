"""Multi-process runs under real torchrun on CPU (gloo): DDP replicas, fault recovery, clean exits."""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from components.train.distributed import Topology, topology_from_env
from components.train.errors import OptionError
from components.train.launchers.spec import POD_ENV_DEFAULTS
from components.train.models import load_model


def _katib_epochs(stdout: str) -> list[int]:
    return [int(line.split()[0].split("=")[1]) for line in stdout.splitlines() if line.startswith("epoch=")]


def test_topology_from_torchrun_env():
    env = {"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4", "MASTER_ADDR": "x", "MASTER_PORT": "1"}
    assert topology_from_env(env) == Topology(rank=3, local_rank=1, world_size=4, launched=True)


def test_topology_under_pytorchjob_without_torchrun():
    # The operator's RANK is the node rank: fine with one process per node, wrong with several.
    env = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "master-0", "MASTER_PORT": "23456"}
    assert topology_from_env({**env, "PET_NPROC_PER_NODE": "1"}) == Topology(1, 0, 2, launched=True)
    with pytest.raises(OptionError, match="PET_NPROC_PER_NODE=4 but torchrun did not start the trainer"):
        topology_from_env({**env, "PET_NPROC_PER_NODE": "4"})


def test_topology_without_a_launcher_is_one_process():
    assert topology_from_env({"RANK": "5"}) == Topology()
    with pytest.raises(OptionError, match="LOCAL_RANK='a' is not an integer"):
        topology_from_env({"LOCAL_RANK": "a"})


def test_ddp_replicas_agree_and_a_killed_worker_resumes_exactly(
    start_torchrun, finish_torchrun, cli_args, tmp_path
):
    """Two 2-process runs with the same options, side by side: one straight through, one where rank 1
    dies hard after step 7 and torchrun restarts both workers. The second resumes from its step-6
    checkpoint (one interval lost at most), finishes all 3 epochs and ends with bit-identical weights."""
    options = ("--epochs=3", "--batch-size=32", "--model-options", '{"dropout": 0.2}')
    digests = tmp_path / "digests"
    marker = tmp_path / "fault-marker"
    checkpoints = ("--checkpoint-dir", str(tmp_path / "ckpt"), "--checkpoint-every-epochs=0")
    args = cli_args(tmp_path / "crashed", *options, *checkpoints, "--checkpoint-every-steps=3")
    fault = {"KWP_FAULT_AT_STEP": "7", "KWP_FAULT_RANK": "1", "KWP_FAULT_MARKER": str(marker)}
    started = [
        start_torchrun(cli_args(tmp_path / "straight", *options), env={"KWP_PARAM_DIGEST_DIR": str(digests)}),
        start_torchrun(args, env=fault, launcher_args=("--max-restarts=1",)),
    ]
    straight, crashed = (finish_torchrun(p, 240) for p in started)

    assert straight.returncode == 0, straight.stderr[-3000:]
    rank0, rank1 = ((digests / f"rank{r}.txt").read_text() for r in (0, 1))
    assert rank0 == rank1 and len(rank0.strip()) == 64  # DDP replicas hold identical parameters
    assert _katib_epochs(straight.stdout) == [1, 2, 3]  # rank 0 alone reports
    metrics = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    # 240 rows over 2 ranks = 120 per rank = 4 batches of 32 per epoch
    assert metrics["world_size"] == 2 and metrics["epochs"] == 3 and metrics["steps"] == 12

    assert crashed.returncode == 0, crashed.stderr[-3000:]
    assert marker.read_text() == "rank 1 failed at step 7\n"
    assert "failed (exitcode:" in crashed.stderr  # torchrun saw the attempt fail and restarted it
    resumed = json.loads((tmp_path / "crashed" / "metrics.json").read_text())
    assert resumed["resumed_from"] == {"epoch": 1, "batch": 2, "step": 6}
    assert [r["epoch"] for r in resumed["history"]] == [1, 2, 3] and resumed["steps"] == 12
    assert _katib_epochs(crashed.stdout) == [1, 2, 3]  # epoch 1 before the failure, 2 and 3 after
    a, b = (torch.load(tmp_path / d / "model.pt", weights_only=True) for d in ("straight", "crashed"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_peer_lost_after_the_model_was_saved_does_not_fail_the_restart(torchrun, tiny_cli_args, tmp_path):
    """Rank 1 dies at the exit rendezvous, after rank 0 wrote model.pt and metrics.json. The restarted
    workers find a finished checkpoint of this run and its model: they report the metrics again and
    exit 0 (before, every restart stopped with "already exists; pass --overwrite"), rewriting nothing."""
    model_dir, marker = tmp_path / "model", tmp_path / "fault-marker"
    args = tiny_cli_args(model_dir, "--checkpoint-dir", str(tmp_path / "ckpt"))
    fault = {"KWP_FAULT_AT_EXIT": "1", "KWP_FAULT_RANK": "1", "KWP_FAULT_MARKER": str(marker)}
    result = torchrun(2, args, env=fault, launcher_args=("--max-restarts=1",))
    assert result.returncode == 0, result.stderr[-3000:]
    assert marker.read_text() == "rank 1 failed at exit\n"
    assert "failed (exitcode:" in result.stderr  # the first attempt failed after saving
    assert "already holds the result of this run" in result.stderr
    assert _katib_epochs(result.stdout) == [1, 1]  # trained and reported, then reported again
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["resumed_from"] is None and metrics["world_size"] == 2  # the first attempt's file
    assert metrics["steps"] == 2  # 32 rows over 2 ranks, batches of 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_pytorchjob_pods_plain_torchrun_with_the_operator_env(
    start_torchrun, finish_torchrun, tiny_cli_args, tmp_path
):
    """The pod path: two "pods" (nodes) run the pod command ``torchrun -m components.train`` with no
    topology flags, only the environment the PyTorchJob operator injects (RANK is the *node* rank)
    plus the launcher's pod defaults. torchrun reads PET_*, gives the workers global ranks 0 and 1,
    and both nodes finish with status 0."""
    port = str(_free_port())
    operator_env = {
        "PET_NNODES": "2",
        "PET_NPROC_PER_NODE": "1",
        "PET_MASTER_ADDR": "127.0.0.1",
        "PET_MASTER_PORT": port,
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": port,
        "WORLD_SIZE": "2",
    }
    digests = tmp_path / "digests"
    args = tiny_cli_args(tmp_path / "model")
    nodes = [
        start_torchrun(
            args,
            nproc=None,
            standalone=False,
            env={
                **POD_ENV_DEFAULTS,
                **operator_env,
                "PET_NODE_RANK": str(node),
                "RANK": str(node),
                "KWP_PARAM_DIGEST_DIR": str(digests),
            },
        )
        for node in (0, 1)
    ]
    master = finish_torchrun(nodes[0], 180)
    worker = finish_torchrun(nodes[1], 60 if master.returncode == 0 else 0)  # else it waits for node 0
    assert master.returncode == 0, master.stderr[-3000:]
    assert worker.returncode == 0, worker.stderr[-3000:]
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["steps"] == 2  # 16 rows per rank, batches of 8
    assert _katib_epochs(master.stdout) == [1] and _katib_epochs(worker.stdout) == []
    rank0, rank1 = ((digests / f"rank{r}.txt").read_text() for r in (0, 1))  # global ranks 0 and 1
    assert rank0 == rank1


def test_two_process_fsdp_with_activation_checkpointing_and_bf16(torchrun, cli_args, tmp_path):
    args = cli_args(
        tmp_path / "model",
        "--epochs=1",
        "--batch-size=32",
        "--no-tensorboard",
        "--fsdp",
        "--activation-checkpointing",
        "--precision=bf16",
        "--grad-accum-steps=2",
        "--checkpoint-dir",
        str(tmp_path / "ckpt"),
    )
    result = torchrun(2, args)
    assert result.returncode == 0, result.stderr[-3000:]
    model, config = load_model(tmp_path / "model")  # full, unsharded weights on rank 0
    assert model(torch.zeros(1, 8)).shape == (1, 3) and config["architecture"] == "mlp"
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())["steps"] == 2


def test_input_error_on_one_rank_stops_every_rank_with_status_2(torchrun, cli_args, tmp_path):
    """Only rank 0 checks the model directory; the other rank must not wait for it forever."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = torchrun(2, cli_args(blocker / "model"), timeout=120)
    assert result.returncode != 0
    assert "error: cannot write to" in result.stderr
    assert "error: another rank failed its input checks" in result.stderr
    assert "exitcode  : 2" in result.stderr  # both workers: a clear error, not a crash (1) or a hang


@pytest.mark.slow
def test_twenty_short_two_process_runs_all_exit_zero(torchrun, tiny_cli_args, tmp_path):
    """The gloo shutdown hang/abort struck about 1 run in 12 before the exit path was fixed. Each run
    is as short as a real one gets (one epoch of 2 steps per rank, with a checkpoint), so start-up
    and exit dominate; two run side by side."""

    def one(i: int):
        out = tmp_path / f"run{i}"
        return torchrun(2, tiny_cli_args(out, "--checkpoint-dir", str(out / "ckpt")), timeout=180)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, range(20)))
    failures = [(i, r.returncode, r.stderr[-800:]) for i, r in enumerate(results) if r.returncode != 0]
    assert not failures
    assert all((tmp_path / f"run{i}" / "model.pt").is_file() for i in range(20))
    assert all(_katib_epochs(r.stdout) == [1] for r in results)
