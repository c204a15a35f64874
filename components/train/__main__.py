"""``torchrun --standalone --nproc_per_node=N -m components.train ...`` (or plain ``python -m``)."""

from components.train.cli import main
from components.train.shutdown import exit_process

if __name__ == "__main__":
    exit_process(main())
