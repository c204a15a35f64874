"""Distributed PyTorch training: one entry point for torchrun, PyTorchJob and TrainJob pods.

Where things are:

- ``__main__`` / ``cli``: ``torchrun --standalone --nproc_per_node=N -m components.train --train P
  --validation P --model-dir D [options]`` (also plain ``python -m components.train``, one process).
- ``api``: ``train(TrainOptions, train_path, validation_path, model_dir) -> metrics`` in-process.
- ``loop``: ``fit(model, train, val, options, reporter)``, the training loop itself.
- ``models``: the architecture registry, ``build_model(config)``, ``load_model(model_dir)``.
- ``data``: Parquet splits into tensors; ``checkpoint``: atomic checkpoints and resume;
  ``distributed`` / ``parallel``: topology, process group, DDP/FSDP; ``reporting``: Katib lines,
  TensorBoard, metrics.json.

Nothing is imported here, so ``import components.train.component`` stays light.
"""
