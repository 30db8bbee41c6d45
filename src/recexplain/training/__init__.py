"""Helpers shared by the training scripts (checkpoints, safe saving)."""
from .checkpoints import atomic_output_dir, last_checkpoint, resume_checkpoint, run_arguments

__all__ = ["atomic_output_dir", "last_checkpoint", "resume_checkpoint", "run_arguments"]
