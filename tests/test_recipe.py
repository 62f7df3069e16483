"""hf_seq2seq_lstm.experiments.recipe / scripts/multi30k.py (issue 16): ablation variants train, average and decode
from the baseline, the recipe trains the baseline with what won and averages its own run; all are scored on val,
are not run twice, and are compared under one time limit only."""

import json
import random
import re
import shlex

import pytest

from hf_seq2seq_lstm.experiments import recipe

from conftest import REPO_ROOT, load_script

TINY_BASELINE = {**recipe.BASELINE_FLAGS, "vocab_size": "60", "embedding_size": "8", "hidden_size": "16",
               "num_train_epochs": "4", "per_device_train_batch_size": "16", "warmup_steps": "0",
               "learning_rate": "1e-2", "logging_steps": "1", "report_to": "none"}
MINUTES = 10.0  # never reached: 4 epochs of 4 steps end first


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Multi30k's file layout (train/val/test2016 .de/.en) holding a tiny digit-reversal task."""
    folder = tmp_path_factory.mktemp("multi30k")
    rng = random.Random(0)
    for split, size in (("train", 64), ("val", 12), ("test2016", 12)):
        sources = [" ".join(rng.choice("0123456789") for _ in range(rng.randint(3, 6))) for _ in range(size)]
        (folder / f"{split}.de").write_text("".join(s + "\n" for s in sources))
        (folder / f"{split}.en").write_text("".join(" ".join(s.split()[::-1]) + "\n" for s in sources))
    return folder


@pytest.fixture(scope="module")
def ablation(data_dir, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("ablation")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recipe, "BASELINE_FLAGS", TINY_BASELINE)
        results = {variant: recipe.run_variant(variant, data_dir=data_dir, source_lang="de", target_lang="en",
                                               output_dir=output_dir, minutes=MINUTES)
                   for variant in (recipe.BASELINE, "dropout 0.2", recipe.AVERAGED, "greedy", recipe.RECIPE_AVERAGED)}
    return output_dir, results


def test_each_variant_is_trained_or_derived_and_scored_on_val(ablation):
    output_dir, results = ablation
    for variant, result in results.items():
        assert 0 <= result["val_bleu"] <= 100 and result["minutes"] == MINUTES, (variant, result)
        assert "test2016_bleu" not in result  # test2016 only when asked: choices are made on val
    config = json.loads((recipe.variant_folder(output_dir, "dropout 0.2") / "config.json").read_text())
    assert config["dropout"] == 0.2 and config["hidden_size"] == 16
    assert results["greedy"]["decoding"] == {"num_beams": 1}
    assert results[recipe.BASELINE]["decoding"] == {"num_beams": 5}
    assert results["greedy"]["epochs"] == results[recipe.BASELINE]["epochs"] == 4  # decoding: the baseline's run
    averaged = recipe.variant_folder(output_dir, recipe.AVERAGED)
    assert (averaged / "model.safetensors").is_file() and (averaged / "tokenizer.json").is_file()
    table = recipe.results_table(output_dir).splitlines()
    assert [line.split(" | ")[0].lstrip("| ") for line in table[2:]] == [
        recipe.BASELINE, "dropout 0.2", recipe.AVERAGED, "greedy", recipe.RECIPE, recipe.RECIPE_AVERAGED]
    assert f"{results['dropout 0.2']['val_bleu']:.2f}" in table[3]


def test_the_recipe_is_the_baseline_with_what_won_and_averages_its_own_last_checkpoints(ablation):
    output_dir, results = ablation
    assert recipe.RECIPE_FLAGS["max_tokens_per_batch"] == "3000" and recipe.RECIPE_FLAGS["learning_rate"] == "3.4e-3"
    assert "train_sampling_strategy" not in recipe.RECIPE_FLAGS
    assert {flag: value for flag, value in recipe.RECIPE_FLAGS.items() if recipe.BASELINE_FLAGS.get(flag) != value} \
        == {"max_tokens_per_batch": "3000", "learning_rate": "3.4e-3", "warmup_steps": "170", "dropout": "0.5",
            "label_smoothing": "0.2", "vocab_size": "4000", "input_feeding": "false"}
    # a variant of the recipe changes the recipe, not the baseline; the default ablation runs neither
    arguments = recipe.train_arguments("recipe, input feeding, separate vocabularies 8k, label smoothing 0.1, "
                                       "dropout 0.4, embeddings 512", "data", "de", "en", "out", 60)
    value = {flag: arguments[arguments.index(flag) + 1] for flag in
             ("--embedding_size", "--dropout", "--label_smoothing", "--vocab_size", "--max_tokens_per_batch",
              "--learning_rate")}
    assert value == {"--embedding_size": "512", "--dropout": "0.4", "--label_smoothing": "0.1", "--vocab_size": "8000",
                     "--max_tokens_per_batch": "3000", "--learning_rate": "3.4e-3"}
    vocabularies_8k = "recipe, input feeding, separate vocabularies 8k"
    assert recipe.RECIPE not in recipe.ABLATION and vocabularies_8k not in recipe.ABLATION
    vocabulary = recipe.train_arguments(vocabularies_8k, "data", "de", "en", "out", 60)
    assert vocabulary[vocabulary.index("--vocab_size") + 1] == "8000" \
        and vocabulary[vocabulary.index("--label_smoothing") + 1] == "0.2" \
        and vocabulary[vocabulary.index("--input_feeding") + 1] == "true"
    # every variant of the recipe has its average too
    assert recipe.AVERAGED_VARIANTS[f"{vocabularies_8k}, average of the last 3 checkpoints"] == vocabularies_8k
    trained = recipe.variant_folder(output_dir, recipe.RECIPE)
    state = json.loads((trained / "trainer_state.json").read_text())
    assert state["global_step"] == 4  # 64 short pairs fit one batch of 3,000 tokens: one step per epoch
    averaged = json.loads((recipe.variant_folder(output_dir, recipe.RECIPE_AVERAGED) / "config.json").read_text())
    assert averaged["hidden_size"] == 16 and averaged["input_feeding"] is False
    assert results[recipe.RECIPE_AVERAGED]["epochs"] == 4
    # all of the last 3 epochs were kept to average, whichever epoch was best
    assert sorted(int(path.name.split("-")[1]) for path in trained.glob("checkpoint-*"))[-3:] == [2, 3, 4]


def test_a_done_variant_is_not_trained_again_and_only_new_splits_are_scored(ablation, data_dir, monkeypatch):
    output_dir, results = ablation
    weights = recipe.variant_folder(output_dir, recipe.BASELINE) / "model.safetensors"
    before = weights.stat().st_mtime_ns
    monkeypatch.setattr(recipe, "BASELINE_FLAGS", TINY_BASELINE)  # the variants as the fixture ran them
    monkeypatch.setattr(recipe.subprocess, "run", lambda *a, **k: pytest.fail("trained again"))
    again = recipe.run_variant(recipe.BASELINE, data_dir=data_dir, source_lang="de", target_lang="en",
                               output_dir=output_dir, minutes=MINUTES, splits=("val", "test2016"))
    assert again["val_bleu"] == results[recipe.BASELINE]["val_bleu"] and 0 <= again["test2016_bleu"] <= 100
    assert weights.stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="holds a run of 10.0 minutes, not 5.0: variants are compared under one time"):
        recipe.run_variant("dropout 0.2", data_dir=data_dir, source_lang="de", target_lang="en",
                           output_dir=output_dir, minutes=5.0)
    # a name whose definition changed since its run (as `recipe` does when something new wins) is not its result,
    # nor is what was derived from that run
    for changed, variant in (("dropout 0.2", "dropout 0.2"), (recipe.BASELINE, recipe.AVERAGED)):
        monkeypatch.setitem(recipe.TRAINING_VARIANTS, changed, {"dropout": "0.25"})
        with pytest.raises(ValueError, match="holds a run of .* with other scripts/train.py flags than today's"):
            recipe.run_variant(variant, data_dir=data_dir, source_lang="de", target_lang="en",
                               output_dir=output_dir, minutes=MINUTES)


def test_every_training_variant_is_valid_train_py_arguments(tmp_path):
    assert recipe.TRAIN_SCRIPT == REPO_ROOT / "scripts" / "train.py"  # what the ablation runs
    train = load_script("train")
    for variant in recipe.TRAINING_VARIANTS:
        arguments = recipe.train_arguments(variant, tmp_path, "de", "en", tmp_path / "out", 20)
        train.HfArgumentParser((train.ModelArguments, train.DataTrainingArguments, train.Seq2SeqTrainingArguments,
                                train.OutputArguments)).parse_args_into_dataclasses(arguments)


def test_script_refuses_an_unknown_variant_and_missing_data(tmp_path, capsys):
    script = load_script("multi30k")
    with pytest.raises(SystemExit) as stopped:
        script.parse_args(["--output_dir", str(tmp_path), "--variants", "bigger"])
    assert stopped.value.code == 2 and "invalid choice: 'bigger'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="train.de.*does not exist"):
        script.main(["--output_dir", str(tmp_path), "--data_dir", str(tmp_path / "none")])


def test_the_recipe_script_runs_the_recipe_and_its_average():
    script = (REPO_ROOT / "scripts" / "recipes" / "multi30k.sh").read_text()
    line = next(line for line in script.splitlines() if "--variants" in line)
    assert shlex.split(line.split("--variants", 1)[1].split("--splits")[0]) == [recipe.RECIPE, recipe.RECIPE_AVERAGED]


def test_every_command_in_the_readme_names_known_variants():
    """The README's scripts/multi30k.py commands keep running what they ran: a variant renamed when the recipe
    changes (each name spells out how it differs from today's recipe) must be renamed there too."""
    script = load_script("multi30k")
    readme = (REPO_ROOT / "README.md").read_text().replace("\\\n", " ")
    in_blocks = [line.split("#")[0] for line in readme.splitlines() if line.startswith("python scripts/multi30k.py")]
    in_text = [command.replace("\n", " ") for command in re.findall(r"`(python scripts/multi30k\.py[^`]*)`", readme)]
    assert in_blocks and in_text
    for command in in_blocks + in_text:
        # parse_args exits with status 2 on a variant it does not know, naming it
        assert script.parse_args(shlex.split(command)[2:]).variants, command
