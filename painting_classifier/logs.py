"""Quiet start-up: TensorFlow's C++ and absl chatter kept off the terminal of the app and the CLI.

On a laptop without a GPU, importing TensorFlow prints "failed call to cuInit", "Could not find
cuda drivers" and oneDNN notices that look like failures. After ``quiet_tensorflow()``,
``import_tensorflow()`` imports it with the process's stderr (file descriptor 2, where C++ writes)
diverted, shows what was diverted only if the import fails, and later C++ logging stays at fatal
errors. ``--verbose`` skips all of it. The app and ``predict`` never import TensorFlow.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile

_quiet = False


@contextlib.contextmanager
def native_stderr_silenced():
    """Divert file descriptor 2 (C/C++ stderr) while the block runs; replay it if the block raises.

    Only for short, one-off steps: output of other threads in that window is diverted too."""
    if not _quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quiet_tensorflow(verbose: bool = False) -> None:
    """Keep TensorFlow's start-up logging off the terminal (unless ``verbose``) for the rest of the process: C++
    logging at fatal errors only, and native steps (TFLite's delegate, ``import_tensorflow``) silenced. Imports
    nothing: serving never loads TensorFlow."""
    global _quiet
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        return
    _quiet = True
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


def import_tensorflow():
    """Import TensorFlow (training, evaluation, conversion), its start-up chatter diverted unless ``quiet_tensorflow``
    was asked for ``verbose``; its Python loggers then report errors only. Returns the module."""
    with native_stderr_silenced():
        import tensorflow as tf
    if _quiet:
        tf.get_logger().setLevel(logging.ERROR)
        with contextlib.suppress(ImportError):
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
    return tf
