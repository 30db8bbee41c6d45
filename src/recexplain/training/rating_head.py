"""Refit the explainer's rating head on its frozen encoder, choosing on validation RMSE.

The explainer's checkpoint is chosen on the validation *text* score, which need not be the epoch whose rating
head predicts best (on Musical Instruments the text-chosen checkpoint had test RMSE 0.945, above the mean-rating
baseline's 0.860). The rating head is a small MLP on the user slot's hidden state, so it can be refitted cheaply
on cached encoder states of the chosen checkpoint: the text side of the model stays exactly as chosen.
"""
from __future__ import annotations

import copy
import logging
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

logger = logging.getLogger(__name__)


@torch.no_grad()
def rating_head_inputs(model, dataset, collator, batch_size: int = 256) -> Tuple[torch.Tensor, torch.Tensor]:
    """The rating head's inputs (user-slot hidden states, eval mode) `[N, H]` and the true ratings `[N]` of a
    tokenized explanation `dataset` (rows with `input_ids`, `rating_labels`)."""
    captured = []
    hook = model.rating_head.register_forward_pre_hook(lambda module, args: captured.append(args[0].detach()))
    was_training = model.training
    model.eval()
    ratings = []
    try:
        for batch in DataLoader(dataset, batch_size=batch_size, collate_fn=collator):
            model(input_ids=batch["input_ids"].to(model.device), attention_mask=batch["attention_mask"].to(model.device),
                  use_cache=False)
            ratings.append(batch["rating_labels"])
    finally:
        hook.remove()
        model.train(was_training)
    return torch.cat(captured).float().cpu(), torch.cat(ratings).float()


def _rmse(head, inputs, ratings, low: float, high: float) -> float:
    with torch.no_grad():
        return float(F.mse_loss(head(inputs).squeeze(-1).clamp(low, high), ratings).sqrt())


def refit_rating_head(model, train_dataset, validation_dataset, collator, max_epochs: int = 200, patience: int = 20,
                      learning_rate: float = 1e-4, batch_size: int = 128, seed: int = 0) -> Dict[str, float]:
    """Train a freshly initialised `model.rating_head` on the frozen encoder's states of `train_dataset` and keep
    the weights with the lowest validation RMSE, the current head's included (so validation RMSE never rises).

    Fresh, not continued: the current head has already fitted the training states (continuing it did not lower
    the validation RMSE on Musical Instruments, 0.881; a fresh head reached 0.807, test 0.956 -> 0.860).

    Returns `{"validation_rmse_before", "validation_rmse_after", "epochs", "best_epoch"}`.
    """
    train_x, train_y = rating_head_inputs(model, train_dataset, collator)
    val_x, val_y = rating_head_inputs(model, validation_dataset, collator)
    low, high = model.config.min_rating, model.config.max_rating
    head = copy.deepcopy(model.rating_head).cpu().float().train()
    best_rmse = before = _rmse(head, val_x, val_y, low, high)
    best_state, best_epoch, epoch = copy.deepcopy(head.state_dict()), 0, 0
    torch.manual_seed(seed)
    for module in head:
        model._init_weights(module)
    optimizer = torch.optim.Adam(head.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(1, max_epochs + 1):
        for rows in torch.randperm(len(train_x), generator=generator).split(batch_size):
            loss = F.mse_loss(head(train_x[rows]).squeeze(-1), train_y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        rmse = _rmse(head, val_x, val_y, low, high)
        if rmse < best_rmse:
            best_rmse, best_state, best_epoch = rmse, copy.deepcopy(head.state_dict()), epoch
        elif epoch - best_epoch >= patience:
            break
    model.rating_head.load_state_dict(best_state)
    result = {"validation_rmse_before": before, "validation_rmse_after": best_rmse, "epochs": epoch,
              "best_epoch": best_epoch}
    logger.info("rating head refitted on the frozen encoder: validation RMSE %.4f -> %.4f (epoch %d of %d)",
                before, best_rmse, best_epoch, epoch)
    return result


__all__ = ["rating_head_inputs", "refit_rating_head"]
