"""``torchrun --standalone --nproc_per_node=N -m components.train ...`` (or plain ``python -m``)."""

from components.train.cli import main
from components.train.shutdown import run_and_exit

if __name__ == "__main__":
    run_and_exit(main)
