"""Train an artist classifier: ``python train.py --data DIR --out runs/NAME`` (see ``--help``)."""
import sys

from painting_classifier.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
