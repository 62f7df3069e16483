# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""Model cards for saved models: the template `model_card.md` (shipped in this package; the repository root
links to it) filled in from a saved folder.

`write_model_card(output_dir, ...)` reads the folder's `config.json`, weights and `all_results.json`, takes the
training, data and model arguments of the run (dataclasses, `TrainingArguments` or dicts; all optional), and writes
`output_dir/README.md`: the Hub YAML metadata (`pipeline_tag`, `language`, `license`, `tags`, `datasets`, `metrics`
and a `model-index` holding the measured scores) and the prose sections. The template uses `{{ name }}` placeholders
filled by plain substitution; a line holding only a placeholder whose value is empty is dropped.
"""

import dataclasses
import json
import logging
import os
import re
import struct
from pathlib import Path

import yaml

from .tokenization_seq2seq_lstm import TARGET_TOKENIZER_FILE

logger = logging.getLogger(__name__)

# Package data, so that a wheel install has it too; `model_card.md` at the repository root is a link to this file.
TEMPLATE_PATH = Path(__file__).resolve().parent / "model_card.md"
README_NAME = "README.md"
RESULTS_NAME = "all_results.json"
# The remote code of a saved folder: the model's, and the tokenizer's where the vocabularies are separate.
CODE_FILES = ("configuration_seq2seq_lstm.py", "modeling_seq2seq_lstm.py", "pipeline_seq2seq_lstm.py")
SEPARATE_TOKENIZER_CODE_FILE = "tokenization_seq2seq_lstm.py"
DEFAULT_LICENSE = "apache-2.0"
DEFAULT_NAMESPACE = "your-username"

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

# result key (after the split prefix) -> (model-index metric type, display name)
_METRICS = {
    "bleu": ("bleu", "BLEU (sacreBLEU)"),
    "chrf": ("chrf", "chrF"),
    "rouge1": ("rouge", "ROUGE-1"),
    "rouge2": ("rouge", "ROUGE-2"),
    "rougeL": ("rouge", "ROUGE-L"),
    "rougeLsum": ("rouge", "ROUGE-Lsum"),
    "exact_match": ("exact_match", "Exact match"),
}
_SPLITS = {"eval": "validation", "predict": "test"}
_ATTENTION_NAMES = {
    "none": "no attention",
    "bahdanau": "Bahdanau (additive) attention",
    "luong_dot": "Luong dot attention",
    "luong_general": "Luong general attention",
    "luong_concat": "Luong concat attention",
}
_LANGUAGE_NAMES = {
    "ar": "Arabic", "cs": "Czech", "de": "German", "en": "English", "es": "Spanish", "et": "Estonian", "fi": "Finnish",
    "fr": "French", "hi": "Hindi", "it": "Italian", "ja": "Japanese", "lv": "Latvian", "nl": "Dutch", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "tr": "Turkish", "uk": "Ukrainian", "zh": "Chinese",
}
_BUILTIN_TASK_KEYS = ("text", "iso")  # hf_seq2seq_lstm.tasks.dates SOURCE_LANG, TARGET_LANG
_BUILTIN_TASK_LANGUAGES = ["en", "de", "fr", "es"]  # hf_seq2seq_lstm.tasks.dates.LANGUAGES without "und"
_BUILTIN_TASK_DESCRIPTION = ("Normalise dates written in many formats in English, German, French and Spanish to "
                             "ISO 8601 (YYYY-MM-DD).")


def fill_template(template: str, values: dict) -> str:
    """Replaces every `{{ name }}` by `values[name]`; raises KeyError naming placeholders that have no value."""
    missing = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise KeyError(f"Model card template placeholders without a value: {', '.join(missing)}")
    lines = []
    for line in template.splitlines(keepends=True):
        alone = _PLACEHOLDER.fullmatch(line.strip())
        if alone and str(values[alone.group(1)]) == "":
            continue
        lines.append(_PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), line))
    return "".join(lines)


def _as_dict(arguments) -> dict:
    if arguments is None:
        return {}
    if isinstance(arguments, dict):
        return dict(arguments)
    if hasattr(arguments, "to_dict"):
        return arguments.to_dict()
    if dataclasses.is_dataclass(arguments):
        return dataclasses.asdict(arguments)
    return dict(vars(arguments))


def _flow(value) -> str:
    """A YAML flow value (JSON is YAML) for one header line."""
    return json.dumps(value, ensure_ascii=False)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # no &id001 anchors: every value written out
        return True


def _block(value) -> str:
    """A YAML block (list or mapping) at column 0, to follow a `key:` line."""
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000).rstrip("\n")


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(rows) -> str:
    return "\n".join(f"| {_cell(name)} | {_cell(value)} |" for name, value in rows)


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def count_parameters(folder) -> int | None:
    """Parameters stored in the folder's safetensors files (read from their headers, no tensor is loaded)."""
    total, found = 0, False
    for path in sorted(Path(folder).glob("*.safetensors")):
        with open(path, "rb") as file:
            (header_length,) = struct.unpack("<Q", file.read(8))
            header = json.loads(file.read(header_length))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for size in entry["shape"]:
                    count *= size
                total += count
                found = True
    return total if found else None


def read_results(folder) -> dict:
    path = Path(folder) / RESULTS_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _task_and_data(data: dict, results: dict) -> tuple[str, bool]:
    """(task, built_in): the run's task (as train.py decides it) and whether it trained on the built-in task."""
    task = data.get("task") or ("summarization" if data.get("text_column") else None)
    if task is None:
        task = "summarization" if any(key.split("_", 1)[-1].startswith("rouge") for key in results) else "translation"
    has_data = any(data.get(key) for key in ("dataset_name", "train_file", "validation_file", "test_file"))
    # scripts/train.py without data arguments trains on the built-in task and sets its keys as the languages
    languages = (data.get("source_lang"), data.get("target_lang"))
    return task, bool(data) and not has_data and languages in ((None, None), _BUILTIN_TASK_KEYS)


def _languages(data: dict, built_in: bool, language) -> list[str]:
    if language is not None:
        return [language] if isinstance(language, str) else list(language)
    if built_in:
        return list(_BUILTIN_TASK_LANGUAGES)
    codes = [data.get("source_lang"), data.get("target_lang")]
    return list(dict.fromkeys(code for code in codes if code and _LANGUAGE_CODE.match(code)))


def _dataset_entry(data: dict, built_in: bool) -> tuple[dict, str]:
    """(model-index dataset, prose description)."""
    if built_in:
        seed = data.get("default_task_seed", 0)
        return ({"name": "Dates (built-in, generated)", "type": "hf_seq2seq_lstm/dates"},
                f"The built-in date-normalisation task of hf-seq2seq-lstm (`hf_seq2seq_lstm.tasks`, seed {seed}): "
                f"{_BUILTIN_TASK_DESCRIPTION} The pairs are generated locally, so training needs no download.")
    if data.get("dataset_name"):
        name, config = data["dataset_name"], data.get("dataset_config_name")
        entry = {"name": name, "type": name, **({"config": config} if config else {})}
        link = name if os.path.isdir(name) else f"[{name}](https://huggingface.co/datasets/{name})"
        return entry, f"The {link} dataset" + (f" (configuration `{config}`)." if config else ".")
    files = {split: data.get(f"{split}_file") for split in ("train", "validation", "test")}
    given = {split: path for split, path in files.items() if path}
    if not given:
        return {"name": "unknown", "type": "unknown"}, "The training data of this model was not recorded."
    first = next(iter(given.values()))
    extension = os.path.splitext(first)[1].lstrip(".").lower()
    builder = {"jsonl": "json", "json": "json", "csv": "csv"}.get(extension, "text")
    listing = ", ".join(f"{split} `{os.path.basename(path)}`" for split, path in given.items())
    return ({"name": os.path.basename(first), "type": builder},
            f"Local {builder} data: {listing}" + (" (parallel text files `PREFIX.<language>`)." if builder == "text"
                                                  else "."))


def _model_index(repo_id, task, dataset, results) -> list:
    task_name = task.replace("-", " ").capitalize()
    entries = []
    for prefix, split in _SPLITS.items():
        metrics = [
            {"type": metric_type, "value": round(float(results[f"{prefix}_{key}"]), 4), "name": name}
            for key, (metric_type, name) in _METRICS.items() if f"{prefix}_{key}" in results
        ]
        if metrics:
            entries.append({"task": {"type": task, "name": task_name}, "dataset": {**dataset, "split": split},
                            "metrics": metrics})
    return [{"name": repo_id, "results": entries}]


def _results_table(results) -> str:
    keys = [key for key in ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum", "exact_match", "gen_len",
                            "loss") if any(f"{prefix}_{key}" in results for prefix in _SPLITS)]
    names = {**{key: name for key, (_, name) in _METRICS.items()}, "gen_len": "mean output length (tokens)",
             "loss": "loss"}
    rows = []
    for prefix, split in _SPLITS.items():
        if any(f"{prefix}_{key}" in results for key in keys):
            samples = results.get(f"{prefix}_samples")
            cells = [split, _number(samples) if samples is not None else ""]
            cells += [_number(results[f"{prefix}_{key}"]) if f"{prefix}_{key}" in results else "" for key in keys]
            rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if not rows:
        return ""
    header = "| split | samples | " + " | ".join(names[key] for key in keys) + " |"
    return "\n".join([header, "|" + "---|" * (len(keys) + 2), *rows])


def _architecture(config: dict) -> list:
    cell = config.get("cell_type", "lstm").upper()
    hidden = config.get("hidden_size", 512)
    bidirectional = config.get("bidirectional_encoder", False)
    encoder_size = config.get("encoder_hidden_size") or (hidden // 2 if bidirectional else hidden)
    vocab = config.get("vocab_size")
    target_vocab = config.get("decoder_vocab_size")
    rows = [
        ("cell", cell),
        ("encoder", f"{config.get('encoder_layers', 1)} x {'bidirectional ' if bidirectional else ''}{cell}, "
                    f"{encoder_size} units{' per direction' if bidirectional else ''}"),
        ("decoder", f"{config.get('decoder_layers', 1)} x {cell}, {hidden} units"),
        ("attention", _ATTENTION_NAMES.get(config.get("attention", "none"), config.get("attention"))
         + (", input feeding" if config.get("input_feeding") else "")),
        ("embeddings", f"{config.get('embedding_size')} dimensions"
         + (", shared by encoder and decoder" if config.get("share_embeddings") else "")
         + (", output layer tied to the decoder embedding" if config.get("tie_word_embeddings") else "")),
        ("vocabulary", f"{_number(vocab)} tokens, shared by source and target" if target_vocab is None
         else f"{_number(vocab)} source / {_number(target_vocab)} target tokens"),
        ("source reversed", "yes" if config.get("reverse_source") else "no"),
        ("dropout", config.get("dropout")),
    ]
    return rows


def _attention_description(config: dict) -> str:
    attention = config.get("attention", "none")
    if attention == "none":
        return ("There is no attention: the decoder sees the source only through the encoder's final state, as in "
                "the original model.")
    if attention == "bahdanau":
        return ("It uses the additive attention of Bahdanau et al. (2015): before each step the previous decoder "
                "state scores every encoder state, and the resulting context vector enters the decoder RNN with the "
                "previous token.")
    kind = attention.split("_", 1)[1]
    feeding = (" With input feeding, that vector is also fed to the next decoder step."
               if config.get("input_feeding") else "")
    return (f"It uses the {kind} attention of Luong et al. (2015): the current decoder state scores every encoder "
            f"state, and the context vector is combined with it into the attentional vector that predicts the next "
            f"token.{feeding}")


def _training_rows(training: dict, data: dict, config: dict, results: dict, trainer_state: dict) -> list:
    rows = []

    def add(name, value):
        if value not in (None, "", []):
            rows.append((name, value))

    if training:
        add("learning rate", training.get("learning_rate"))
        add("batch size (per device)", training.get("per_device_train_batch_size"))
        if training.get("gradient_accumulation_steps", 1) != 1:
            add("gradient accumulation steps", training.get("gradient_accumulation_steps"))
        add("optimizer", training.get("optim"))
        add("weight decay", training.get("weight_decay"))
        scheduler = training.get("lr_scheduler_type")
        warmup = training.get("warmup_steps") or training.get("warmup_ratio")
        if data.get("decay_lr_to_time_limit") and data.get("max_train_minutes"):
            scheduler = f"linear to zero at the {data['max_train_minutes']:g}-minute time limit (by wall time)"
        add("learning-rate schedule", f"{scheduler}" + (f", warmup {warmup:g}" if warmup else ""))
        if (training.get("max_steps") or -1) > 0:
            add("training steps (max)", training.get("max_steps"))
        else:
            add("epochs (max)", training.get("num_train_epochs"))
        add("time limit (minutes)", data.get("max_train_minutes"))
        add("gradient clipping (max norm)", training.get("max_grad_norm"))
        add("label smoothing", training.get("label_smoothing_factor") or config.get("label_smoothing"))
        precision = "bf16" if training.get("bf16") else "fp16" if training.get("fp16") else "fp32"
        add("precision", precision)
        add("seed", training.get("seed"))
        add("evaluation beams", training.get("generation_num_beams") or 1)
    else:
        add("label smoothing", config.get("label_smoothing"))
    add("dropout", config.get("dropout"))
    if config.get("teacher_forcing_ratio", 1.0) < 1.0:
        add("teacher forcing ratio (scheduled sampling)", config.get("teacher_forcing_ratio"))
    add("steps trained", _number(trainer_state["global_step"]) if trainer_state.get("global_step") else None)
    add("epochs trained", _number(results["epoch"]) if "epoch" in results else None)
    add("training samples", _number(results["train_samples"]) if "train_samples" in results else None)
    add("final training loss", _number(results["train_loss"]) if "train_loss" in results else None)
    add("training time", f"{results['train_runtime']:.0f} s" if "train_runtime" in results else None)
    return rows


def _tokenizer_description(model: dict, config: dict, separate: bool) -> str:
    vocab = (f"{_number(config.get('vocab_size'))} tokens shared by source and target" if not separate else
             f"{_number(config.get('vocab_size'))} source and {_number(config.get('decoder_vocab_size'))} target tokens")
    if not model:
        return f"Subword tokenizer with {vocab}."
    kind = {"bpe": "BPE", "unigram": "Unigram"}.get(str(model.get("tokenizer_type", "")).lower(), "subword")
    options = [text for flag, text in (("lowercase", "lowercased"), ("split_digits", "every digit its own token"))
               if model.get(flag)]
    trained = "given" if model.get("tokenizer_name") or model.get("model_name_or_path") else "trained on the training split"
    return (f"{kind} tokenizer ({'separate source and target vocabularies' if separate else 'one joint vocabulary'}"
            f", {trained}, 🤗 tokenizers): {vocab}" + (f"; {', '.join(options)}" if options else "") + ".")


def render_model_card(
    output_dir,
    *,
    model_args=None,
    data_args=None,
    training_args=None,
    results: dict | None = None,
    repo_id: str | None = None,
    language=None,
    license: str = DEFAULT_LICENSE,
    datasets: list[str] | None = None,
    example_input: str | None = None,
    example_target: str | None = None,
    template: str | os.PathLike | None = None,
) -> str:
    """
    The model card of a saved folder, as a string ([`write_model_card`] writes it into the folder).

    Args:
        output_dir: a folder written by `save_pretrained` (its `config.json` is read; `all_results.json`,
            `trainer_state.json`, the safetensors headers and `target_tokenizer.json` are used when present).
        model_args, data_args, training_args: the run's arguments (scripts/train.py's dataclasses,
            `Seq2SeqTrainingArguments`, or dicts); each is optional and only fills in its part of the card.
        results: the measured metrics; default: `output_dir/all_results.json`.
        repo_id: the Hub id the card names; default: `training_args.hub_model_id`, else
            `your-username/<folder name>` (`scripts/push_to_hub.py` replaces it with the real id).
        language: language code(s) for the metadata; default: from `source_lang`/`target_lang` when they are
            language codes.
        license, datasets: metadata; `datasets` defaults to `data_args.dataset_name` when it is a Hub dataset.
        example_input, example_target: the source text of the usage example and a target text for it (the
            training-pair example).
        template: another template file (default: `TEMPLATE_PATH`, this package's `model_card.md`).
    """
    output_dir = Path(output_dir)
    config_path = output_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found: save the model before writing its card.")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    model, data, training = _as_dict(model_args), _as_dict(data_args), _as_dict(training_args)
    results = read_results(output_dir) if results is None else dict(results)
    state_path = output_dir / "trainer_state.json"
    trainer_state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.is_file() else {}
    separate = config.get("decoder_vocab_size") is not None or (output_dir / TARGET_TOKENIZER_FILE).is_file()

    task, built_in = _task_and_data(data, results)
    repo_id = repo_id or training.get("hub_model_id") or f"{DEFAULT_NAMESPACE}/{output_dir.resolve().name}"
    languages = _languages(data, built_in, language)
    dataset, data_description = _dataset_entry(data, built_in)
    if datasets is None:
        datasets = [data["dataset_name"]] if data.get("dataset_name") and not os.path.isdir(data["dataset_name"]) else []
    pipeline_task = "text2text-generation" if built_in else task
    output_key = {"translation": "translation_text", "summarization": "summary_text"}.get(pipeline_task,
                                                                                          "generated_text")
    attention = config.get("attention", "none")
    cell = config.get("cell_type", "lstm").upper()

    metric_types = list(dict.fromkeys(
        metric_type for key, (metric_type, _) in _METRICS.items()
        if any(f"{prefix}_{key}" in results for prefix in _SPLITS)))
    if not metric_types:
        metric_types = ["rouge"] if task == "summarization" else ["bleu", "chrf"]
    tags = ["seq2seq-lstm", "rnn", cell.lower(), "encoder-decoder",
            *([f"{attention.split('_')[0]}-attention"] if attention != "none" else []), pipeline_task, "custom_code"]

    source, target = data.get("source_lang"), data.get("target_lang")
    if built_in:
        summary_task = "normalises dates written in English, German, French and Spanish to ISO 8601 (YYYY-MM-DD)"
        intended_use = "Normalising dates written in English, German, French or Spanish to ISO 8601 (a demonstration task)."
    elif task == "summarization":
        summary_task = "summarizes text"
        intended_use = "Summarizing texts like those it was trained on."
    elif source and target:
        source_name, target_name = (f"{_LANGUAGE_NAMES[code]} ({code})" if code in _LANGUAGE_NAMES else code
                                    for code in (source, target))
        summary_task = f"translates {source_name} into {target_name}"
        intended_use = f"Translating {source_name} text into {target_name}, in the domain of its training data."
    else:
        summary_task = "maps source texts to target texts"
        intended_use = "Generating target texts from source texts like those it was trained on."
    attention_phrase = "without attention" if attention == "none" else f"with {_ATTENTION_NAMES[attention]}"
    summary = (f"{'An' if cell == 'LSTM' else 'A'} {cell} encoder-decoder {attention_phrase} that {summary_task}, "
               f"trained with hf-seq2seq-lstm (transformers' `Seq2SeqTrainer`).")
    parameters = count_parameters(output_dir)
    code_files = CODE_FILES + ((SEPARATE_TOKENIZER_CODE_FILE,) if separate else ())

    encoder_output = config.get("encoder_hidden_size") or (
        config.get("hidden_size", 512) // 2 if config.get("bidirectional_encoder") else config.get("hidden_size", 512))
    encoder_output *= 2 if config.get("bidirectional_encoder") else 1
    bottleneck_size = (f"{_number(encoder_output)} (hidden state) + {_number(encoder_output)} (cell state)"
                       if cell == "LSTM" else _number(encoder_output))
    if attention == "none":
        bottleneck_note = ("it has no attention, so the bottleneck applies in full: expect quality to fall as sources "
                           "get longer." + (" It reads each source backwards (`reverse_source`), as Sutskever et al. "
                                            "did." if config.get("reverse_source") else ""))
    else:
        bottleneck_note = (f"it uses {_ATTENTION_NAMES[attention]}, so the decoder can consult every source position at "
                           "every step; the encoder's final state still initialises the decoder.")

    if results and any(f"{prefix}_" in key for key in results for prefix in _SPLITS):
        beams = training.get("generation_num_beams") or 1
        decoding = "greedy decoding" if beams == 1 else f"beam search, {beams} beams"
        scores = ("ROUGE (rouge_score, x100)" if task == "summarization"
                  else "BLEU and chrF computed by sacreBLEU")
        results_text = (f"Measured by `scripts/train.py` with `predict_with_generate` ({decoding}) on the held-out "
                        f"splits and written to `all_results.json`: {scores} on detokenized text; exact match is the "
                        f"percentage of outputs equal to their reference.")
    else:
        results_text = "No evaluation results were recorded for this model."

    extra_limitations = []
    if attention == "none":
        extra_limitations.append("- Without attention, long sources must fit through one fixed-size state (see above).")
    if built_in:
        extra_limitations.append("- The date task is synthetic: only the formats and the date range that "
                                 "`hf_seq2seq_lstm/tasks/dates.py` generates are covered.")

    values = {
        "pipeline_tag": pipeline_task,
        "language": _flow(languages),
        "license": _flow(license),
        "tags": _block(tags),
        "datasets": _flow(list(datasets)),
        "metrics": _flow(metric_types),
        "model_index": _block(_model_index(repo_id, pipeline_task, dataset, results)),
        "model_name": repo_id.split("/")[-1],
        "summary": summary,
        "cell_name": cell,
        "attention_description": _attention_description(config),
        "architecture_table": _table(_architecture(config)),
        "parameters": _number(parameters) if parameters else "Its",
        "intended_use": intended_use,
        "bottleneck_size": bottleneck_size,
        "bottleneck_note": bottleneck_note,
        "data_description": data_description + _sample_counts(data, results),
        "tokenizer_description": _tokenizer_description(model, config, separate),
        "training_table": _table(_training_rows(training, data, config, results, trainer_state)),
        "results_text": results_text,
        "results_table": _results_table(results),
        "extra_limitations": "\n".join(extra_limitations),
        "repo_id": repo_id,
        "code_files": ", ".join(f"`{name}`" for name in code_files),
        "example_input": _flow(example_input or ("3. März 2021" if built_in else "A source text.")),
        "example_target": _flow(example_target or ("2021-03-03" if built_in else "A target text.")),
        "max_new_tokens": data.get("max_target_length") or 128,
        "pipeline_task": pipeline_task,
        "pipeline_output_key": output_key,
        "vocabulary_note": (
            "Source and target have separate vocabularies, held by one tokenizer (`Seq2SeqLSTMTokenizer`, from "
            f"`{SEPARATE_TOKENIZER_CODE_FILE}`, hence `trust_remote_code=True`): it encodes sources with the source "
            "vocabulary and `text_target=` with the target one, and decodes target ids, what `generate()` returns.\n"
            if separate else ""),
    }
    template_text = Path(template or TEMPLATE_PATH).read_text(encoding="utf-8")
    card = fill_template(template_text, values)
    yaml.safe_load(card.split("---", 2)[1])  # the header must stay valid YAML whatever the values
    return card


def _sample_counts(data: dict, results: dict) -> str:
    counts = [f"{_number(results[f'{prefix}_samples'])} {name}" for prefix, name in (
        ("train", "training"), ("eval", "validation"), ("predict", "test")) if f"{prefix}_samples" in results]
    text = f" Pairs used: {', '.join(counts)}." if counts else ""
    if data.get("text_column") or data.get("summary_column"):
        text += f" Source column `{data.get('text_column')}`, target column `{data.get('summary_column')}`."
    elif data.get("source_lang") and data.get("target_lang"):
        text += f" Source `{data['source_lang']}`, target `{data['target_lang']}`."
    lengths = [f"{name} {data[key]} tokens" for key, name in (("max_source_length", "sources"),
                                                                ("max_target_length", "targets")) if data.get(key)]
    if lengths:
        text += f" Truncated to at most: {', '.join(lengths)}."
    return text


def write_model_card(output_dir, **card_options) -> Path | None:
    """
    Writes `output_dir/README.md`, the model card of a saved model folder, and returns its path (None, with a
    warning, when the default template is not installed). `card_options` are [`render_model_card`]'s.
    """
    if card_options.get("template") is None and not TEMPLATE_PATH.is_file():
        logger.warning("No model card written for %s: the template %s is missing. Reinstall hf-seq2seq-lstm (the "
                       "template ships as package data) or pass template=.", output_dir, TEMPLATE_PATH)
        return None
    path = Path(output_dir) / README_NAME
    path.write_text(render_model_card(output_dir, **card_options), encoding="utf-8")
    return path


def card_repo_id(card: str) -> str | None:
    """The repo id a card written by [`write_model_card`] names (its `model-index` name)."""
    try:
        metadata = yaml.safe_load(card.split("---", 2)[1]) if card.startswith("---") else None
    except yaml.YAMLError:
        return None
    index = (metadata or {}).get("model-index") or []
    return index[0].get("name") if index and isinstance(index[0], dict) else None


def set_card_repo_id(card: str, repo_id: str) -> str:
    """The card with the repo id it names (model-index name, usage code, title) replaced by `repo_id`."""
    old = card_repo_id(card)
    if not old or old == repo_id:
        return card
    card = re.sub(rf"^# {re.escape(old.split('/')[-1])}$", f"# {repo_id.split('/')[-1]}", card, count=1,
                  flags=re.MULTILINE)
    return card.replace(old, repo_id)


__all__ = ["card_repo_id", "count_parameters", "fill_template", "render_model_card", "set_card_repo_id",
           "write_model_card"]
