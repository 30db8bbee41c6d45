"""Model cards (render + parse) and push_model_folder against a local hub server."""
import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from hub_server import local_hub  # noqa: F401  (pytest fixture)

from recexplain.hub import FAMILIES, push_model_folder, render_model_card, template_path, upload_plan

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMAND = "accelerate launch --config_file scripts/configs/cpu_single.yaml scripts/train.py --seed 0"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_rendered_card_parses_and_carries_metrics(tmp_path, family):
    metrics = {"auc": 0.7812, "logloss": 0.4931} if "ctr" in family else {"bleu4": 1.234, "fmr": 0.61}
    path = render_model_card(
        family, tmp_path / "model", metrics, dataset="movielens-100k", command=COMMAND,
        base_model="someone/base-model", extra={"repo_id": "me/my-model", "notes": "a run note"},
    )
    card = ModelCard.load(path)
    assert card.data.library_name == "transformers"
    assert card.data.datasets == ["movielens-100k"]
    assert card.data.base_model == "someone/base-model"
    assert set(FAMILIES[family].tags) <= set(card.data.tags)
    assert {r.metric_type: r.metric_value for r in card.data.eval_results} == metrics
    assert all(r.dataset_type == "movielens-100k" and r.dataset_split == "test" for r in card.data.eval_results)
    assert COMMAND in card.text and "trust_remote_code=True" in card.text and '"me/my-model"' in card.text
    assert "a run note" in card.text and "{{" not in card.text


def test_card_of_a_final_folder_carries_the_run_name_and_its_split(tmp_path):
    path = render_model_card("srp4ctr", tmp_path / "srp4ctr-ml100k" / "final", {"masked_field_loss": 2.5}, "synthetic",
                             COMMAND, extra={"split": "validation"})
    card = ModelCard.load(path)
    assert card.text.lstrip().startswith("# srp4ctr-ml100k") and "final" not in card.text.split("\n")[1]
    assert card.data.model_name == "srp4ctr-ml100k"
    assert 'from_pretrained("srp4ctr-ml100k"' in card.text and '"final"' not in card.text
    assert all(r.dataset_split == "validation" for r in card.data.eval_results)
    assert "validation split" in card.text and "test split" not in card.text


def test_local_base_model_stays_out_of_yaml(tmp_path):
    (tmp_path / "pretrained").mkdir()
    path = render_model_card("srp4ctr", tmp_path / "ctr", {"auc": 0.7}, "synthetic", COMMAND,
                             base_model=str(tmp_path / "pretrained"))
    card = ModelCard.load(path)
    assert card.data.base_model is None and str(tmp_path / "pretrained") in card.text


def test_render_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown model-card family 'bert'"):
        render_model_card("bert", tmp_path, {"auc": 0.7}, "synthetic", COMMAND)
    with pytest.raises(ValueError, match="at least one measured metric"):
        render_model_card("srp4ctr", tmp_path, {}, "synthetic", COMMAND)
    with pytest.raises(ValueError, match="'auc' must be a finite number"):
        render_model_card("srp4ctr", tmp_path, {"auc": float("nan")}, "synthetic", COMMAND)


def test_model_cards_folder_points_at_shipped_templates():
    for family in FAMILIES:
        assert (REPO_ROOT / "model_cards" / f"{family}.md").resolve() == template_path(family).resolve()


def _tiny_model_folder(path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertModel, GenerationConfig, PreTrainedTokenizerFast

    config = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=16)
    BertModel(config).save_pretrained(path)
    GenerationConfig(max_new_tokens=5).save_pretrained(path)
    (path / "feature_map.json").write_text(json.dumps({"item_id": {"[PAD]": 0}}))
    backend = Tokenizer(models.WordLevel({"<pad>": 0, "<unk>": 1, "good": 2}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>").save_pretrained(path)
    render_model_card("srp4ctr", path, {"auc": 0.75}, "synthetic", COMMAND)
    # training by-products that must stay local
    (path / "checkpoint-10").mkdir()
    (path / "checkpoint-10" / "optimizer.pt").write_bytes(b"x")
    (path / "training_args.bin").write_bytes(b"x")
    return path


def test_push_model_folder_to_local_hub(tmp_path, local_hub):  # noqa: F811
    folder = _tiny_model_folder(tmp_path / "tiny")
    expected = {"README.md", "config.json", "model.safetensors", "generation_config.json", "feature_map.json",
                "tokenizer.json", "tokenizer_config.json"}
    assert set(upload_plan(folder)) == expected

    info = push_model_folder(folder, "tester/tiny-bert", private=True)
    repo = local_hub.repos["tester/tiny-bert"]
    assert repo.private
    assert set(repo.files) == expected
    for name in expected:
        assert repo.files[name] == (folder / name).read_bytes()
    assert info.oid and "tester/tiny-bert" in info.commit_url
    # the upload API calls, in order (the client may also fetch unrelated registries, e.g. agent-harnesses)
    upload_calls = [r for r in local_hub.requests if r.method == "POST"]
    assert local_hub.routes_called("POST") == [
        "POST /api/repos/create",
        "POST /api/validate-yaml",
        "POST /api/models/tester/tiny-bert/preupload/main",
        "POST /api/models/tester/tiny-bert/commit/main",
    ]
    assert all(r.headers.get("authorization") == "Bearer hf_localtesttoken" for r in upload_calls)
    preupload = json.loads(upload_calls[2].body)
    assert {f["path"] for f in preupload["files"]} == expected

    # pushing again reuses the existing repo (409 from create) and adds a commit
    (folder / "feature_map.json").write_text(json.dumps({"item_id": {"[PAD]": 0, "a": 3}}))
    push_model_folder(folder, "tester/tiny-bert", token="hf_othertoken")
    assert len(repo.commits) == 2 and b'"a": 3' in repo.files["feature_map.json"]
    assert local_hub.requests[-1].headers.get("authorization") == "Bearer hf_othertoken"

    # a bare name lands in the user's namespace, as on the hub
    push_model_folder(folder, "tiny-bert-2")
    bare = local_hub.repos["local-user/tiny-bert-2"]
    assert set(bare.files) == expected and not bare.private


def test_upload_plan_names_what_is_missing(tmp_path):
    folder = _tiny_model_folder(tmp_path / "tiny")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_tiny.TinyConfig", "AutoModel": "modeling_tiny.TinyModel",
                          "AutoModelForCausalLM": "other/repo--modeling_other.OtherModel"}  # remote ref: no file needed
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(FileNotFoundError, match="configuration_tiny.py, modeling_tiny.py"):
        upload_plan(folder)
    (folder / "configuration_tiny.py").write_text("")
    (folder / "modeling_tiny.py").write_text("")
    assert {"configuration_tiny.py", "modeling_tiny.py"} <= set(upload_plan(folder))
    (folder / "README.md").unlink()
    with pytest.raises(FileNotFoundError, match="no README.md"):
        upload_plan(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no weights"):
        upload_plan(folder)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        upload_plan(tmp_path / "nowhere")
