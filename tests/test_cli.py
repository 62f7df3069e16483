"""The scripts' shared command line (hf_seq2seq_lstm/cli.py): flags renamed to train.py's and transformers' names still
accept their old spelling, which --help does not show; boolean flags take a value as train.py's do."""

import re

import pytest

from conftest import load_script

# (script, the other flags it needs, old spelling, new spelling, value)
RENAMED = [
    ("train_tokenizer", ["--output_dir", "out"], "--model_type", "--tokenizer_type", "unigram"),
    ("train_tokenizer", ["--output_dir", "out"], "--max_samples", "--max_train_samples", "5"),
    ("translate", [], "--model", "--model_name_or_path", "model"),
    ("translate", ["--model_name_or_path", "model"], "--tokenizer", "--tokenizer_name", "tokenizer"),
    ("translate", ["--model_name_or_path", "model"], "--no_progress", "--disable_tqdm", None),
    ("translate", ["--model_name_or_path", "model"], "--plot-attention", "--plot_attention", "plots"),
    ("export_onnx", ["--output_dir", "out"], "--model", "--model_name_or_path", "model"),
    ("export_onnx", ["--output_dir", "out", "--model_name_or_path", "model"], "--tokenizer", "--tokenizer_name",
     "tokenizer"),
]


def help_without_description(script, capsys):
    """The usage line and the flags of `script --help`, without the description (the module docstring, which may
    name an old spelling to say what it became)."""
    capsys.readouterr()
    with pytest.raises(SystemExit):
        script.parse_args(["--help"])
    text = capsys.readouterr().out
    return text[:text.index("\n\n")] + text[text.index("\noptions:"):]


@pytest.mark.parametrize("name, argv, old, new, value", RENAMED)
def test_an_old_flag_spelling_still_works_and_is_hidden_from_help(capsys, name, argv, old, new, value):
    script = load_script(name)
    given = [] if value is None else [value]
    assert vars(script.parse_args([*argv, old, *given])) == vars(script.parse_args([*argv, new, *given]))
    shown = help_without_description(script, capsys)
    assert re.search(rf"(?<![\w-]){re.escape(new)}(?![\w-])", shown)
    assert not re.search(rf"(?<![\w-]){re.escape(old)}(?![\w-])", shown)
    with pytest.raises(SystemExit) as stop:  # both spellings at once: a usage error
        script.parse_args([*argv, old, *given, new, *given])
    assert stop.value.code == 2


@pytest.mark.parametrize("flags, expected", [
    ([], False), (["--disable_tqdm"], True), (["--disable_tqdm", "true"], True), (["--disable_tqdm", "false"], False),
    (["--disable_tqdm", "--num_beams", "2"], True), (["--no_progress"], True),
])
def test_a_boolean_flag_is_given_alone_or_with_a_value_as_in_train_py(flags, expected):
    assert load_script("translate").parse_args(["--model_name_or_path", "model", *flags]).disable_tqdm is expected
