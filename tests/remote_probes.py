"""What the remote-code test compares between an original model and its `trust_remote_code` reload.

Imports only torch, so the clean process (no `recexplain`) runs the same functions as the test process.
Each probe takes a model in eval mode and its saved inputs and returns a dict of tensors.
"""
import torch


@torch.no_grad()
def ctr(model, inputs):
    return {"logits": model(**inputs).logits}


@torch.no_grad()
def pretraining(model, inputs):
    out = model(**inputs)
    return {"loss": out.loss, "item_id_loss": out.item_id_loss, "behavior_loss": out.behavior_loss,
            "last_hidden_state": out.last_hidden_state}


@torch.no_grad()
def encoder(model, inputs):
    return {"last_hidden_state": model(**inputs).last_hidden_state}


@torch.no_grad()
def explainer(model, inputs):
    """Forward on full sequences; greedy `generate` (settings from the saved generation config) on prompts."""
    out = model(**inputs["sequences"])
    return {"logits": out.logits, "rating_prediction": out.rating_prediction,
            "generated": model.generate(**inputs["prompts"], do_sample=False)}


@torch.no_grad()
def reward(model, inputs):
    return {"rewards": model(**inputs).logits}


PROBES = {"ctr": ctr, "pretraining": pretraining, "encoder": encoder, "explainer": explainer, "reward": reward}
