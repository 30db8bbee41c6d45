"""transformers' ModelTester pattern for every model family of the package.

A family's test class subclasses `ModelTesterMixin` and supplies `model_class`, a tiny `get_config()`, a batch
`get_inputs(config)` (with labels where the model has a loss) and `output_shapes(config, inputs)`; the mixin
checks the forward shapes, that backward reaches every trainable parameter, that a saved folder loads back
(through `auto_class`) with identical outputs, the config round trip, and activation (gradient) checkpointing:
the same loss and gradients as without it, fewer saved activations, or a clear error where it is not supported.
"""
import pytest
import torch


def _without_name_or_path(config_dict: dict) -> dict:
    return {k: v for k, v in config_dict.items() if k != "_name_or_path"}


class ModelTesterMixin:
    model_class = None  # the class under test
    auto_class = None  # the transformers Auto class a saved folder loads back through (default: model_class)

    def get_config(self):
        raise NotImplementedError

    def get_inputs(self, config) -> dict:
        raise NotImplementedError

    def output_shapes(self, config, inputs) -> dict:
        """`{output field: expected shape}`; these fields are also compared after save/load."""
        raise NotImplementedError

    def training_loss(self, outputs) -> torch.Tensor:
        """The scalar to backpropagate (a base model without a loss overrides this)."""
        return outputs.loss

    def make_model(self, config=None, seed: int = 0):
        torch.manual_seed(seed)
        return self.model_class(config if config is not None else self.get_config())

    def test_forward_shapes(self):
        model = self.make_model().eval()
        inputs = self.get_inputs(model.config)
        with torch.no_grad():
            outputs = model(**inputs)
        for name, shape in self.output_shapes(model.config, inputs).items():
            assert tuple(getattr(outputs, name).shape) == tuple(shape), name

    def test_backward_reaches_every_trainable_parameter(self):
        model = self.make_model().train()
        loss = self.training_loss(model(**self.get_inputs(model.config)))
        assert loss.ndim == 0 and torch.isfinite(loss)
        loss.backward()
        missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        assert not missing, f"parameters without gradient: {missing}"

    def test_save_load_identical_outputs(self, tmp_path):
        model = self.make_model().eval()
        inputs = self.get_inputs(model.config)
        model.save_pretrained(tmp_path)
        loaded = (self.auto_class or self.model_class).from_pretrained(tmp_path).eval()
        assert type(loaded) is self.model_class
        with torch.no_grad():
            expected, got = model(**inputs), loaded(**inputs)
        for name in self.output_shapes(model.config, inputs):
            torch.testing.assert_close(getattr(got, name), getattr(expected, name), rtol=0, atol=0)

    def test_config_round_trip(self, tmp_path):
        config = self.get_config()
        config.save_pretrained(tmp_path)
        expected = _without_name_or_path(config.to_dict())
        assert _without_name_or_path(type(config).from_pretrained(tmp_path).to_dict()) == expected
        assert _without_name_or_path(type(config).from_dict(config.to_dict()).to_dict()) == expected

    def test_activation_checkpointing(self):
        if not self.model_class.supports_gradient_checkpointing:
            with pytest.raises(ValueError, match="does not support"):
                self.make_model().activation_checkpointing_enable()
            return
        runs = {}
        for checkpointing in (False, True):
            model = self.make_model().train()
            if checkpointing:
                model.activation_checkpointing_enable()
            saved = []
            torch.manual_seed(1)  # the same dropout masks in both runs
            with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
                loss = self.training_loss(model(**self.get_inputs(model.config)))
            loss.backward()
            grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
            runs[checkpointing] = (loss.detach(), grads, len(saved))
        (loss, grads, saved), (ckpt_loss, ckpt_grads, ckpt_saved) = runs[False], runs[True]
        torch.testing.assert_close(ckpt_loss, loss, rtol=0, atol=0)
        assert ckpt_grads.keys() == grads.keys()
        for name, grad in grads.items():
            torch.testing.assert_close(ckpt_grads[name], grad, rtol=1e-5, atol=1e-6, msg=name)
        assert ckpt_saved < saved, "checkpointing kept every activation"
