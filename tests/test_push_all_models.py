"""Issue 6 item 2: every saved model folder, with its rendered card, pushed to a local hub through
`recexplain.hub.push_model_folder` (the real `huggingface_hub` client path); exactly the right files arrive."""
from huggingface_hub import ModelCard
from hub_server import local_hub  # noqa: F401  (pytest fixture)
from tiny_models import save_tiny_models

from recexplain.hub import push_model_folder, render_model_card

CTR = {"config.json", "model.safetensors", "feature_map.json", "README.md", "configuration_ctr.py", "layers.py"}
SRP4CTR = {"configuration_srp4ctr.py", "modeling_srp4ctr.py"}
TEXT = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"}
EXPLAINER = TEXT | {"configuration_explainer.py", "modeling_explainer.py", "generation_config.json",
                    "explanation_vocab.json"}
EXPECTED_FILES = {
    "srp4ctr_pretraining": CTR | SRP4CTR,
    "srp4ctr_ctr": CTR | SRP4CTR,
    "din_ctr": CTR | {"configuration_din.py", "modeling_din.py"},
    "bst_ctr": CTR | {"configuration_bst.py", "modeling_bst.py"},
    "din_qformer_ctr": CTR | SRP4CTR | {"configuration_din_qformer.py", "modeling_din_qformer.py"},
    "explainer_peter_plus": EXPLAINER,
    "explainer_causal_lm": EXPLAINER,
    "mi_estimator": TEXT | {"configuration_mi_estimator.py", "modeling_mi_estimator.py"},
}
METRICS = {"srp4ctr": {"auc": 0.7123}, "ctr_baseline": {"auc": 0.6543, "gauc": 0.6012},
           "explainer": {"bleu4": 1.234, "rmse": 0.9876}, "mi_estimator": {"mi_rating": 0.4321}}


def test_push_every_model_folder(tmp_path, local_hub):  # noqa: F811
    models = save_tiny_models(tmp_path)
    assert set(models) == set(EXPECTED_FILES)
    for name, m in models.items():
        render_model_card(m.family, m.folder, METRICS[m.family], "synthetic", f"python scripts/x.py --name {name}",
                          extra={"repo_id": f"tester/{name}", "model_class": m.model_class, "auto_class": m.auto_class})
        push_model_folder(m.folder, f"tester/{name}")

    assert set(local_hub.repos) == {f"tester/{name}" for name in models}
    for name, m in models.items():
        repo = local_hub.repos[f"tester/{name}"]
        assert set(repo.files) == EXPECTED_FILES[name], name
        assert len(repo.commits) == 1
        for path, content in repo.files.items():
            assert content == (tmp_path / name / path).read_bytes(), (name, path)
        card = ModelCard(repo.files["README.md"].decode("utf-8"))
        assert card.data.library_name == "transformers" and card.data.datasets == ["synthetic"]
        results = {r.metric_type: r.metric_value for r in card.data.eval_results}
        assert results == METRICS[m.family], name
        assert f'{m.auto_class}.from_pretrained("tester/{name}"' in card.text, name
