"""Attention pictures: weights taken from generate() outputs (greedy and beam), PNG heatmaps, translate.py
--plot_attention."""

import matplotlib
import pytest
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from hf_seq2seq_lstm.plotting import (
    attention_figure_size,
    cross_attention_matrix,
    plot_attention,
    plot_cross_attention,
    plot_scores_by_length,
)
from hf_seq2seq_lstm.tasks.synthetic import SyntheticTask

from conftest import load_script, make_model, padded_batch, png_size

EOS = 2


translate_script = load_script("translate")


class EndInputZeroAt(LogitsProcessor):
    """Forces </s> for every beam of the first input at a given step, so its output ends before the others'."""

    def __init__(self, rows, step):
        self.rows, self.step = rows, step

    def __call__(self, input_ids, scores):
        if input_ids.shape[1] - 1 == self.step:
            scores[: self.rows] = -float("inf")
            scores[: self.rows, EOS] = 0.0
        return scores


def generate(model, num_beams, num_return_sequences=1, end_first_at=3):
    input_ids, attention_mask = padded_batch()
    generated = model.generate(
        input_ids, attention_mask=attention_mask, max_new_tokens=7, num_beams=num_beams,
        num_return_sequences=num_return_sequences, output_attentions=True, return_dict_in_generate=True,
        eos_token_id=EOS, pad_token_id=0,
        logits_processor=LogitsProcessorList([EndInputZeroAt(num_beams, end_first_at)]),
    )
    return input_ids, attention_mask, generated


@pytest.mark.parametrize("attention", ["luong_general", "bahdanau"])
@pytest.mark.parametrize("num_beams,num_return_sequences", [(1, 1), (3, 1), (4, 2)])
def test_weights_match_a_teacher_forced_pass_over_the_returned_sequence(attention, num_beams, num_return_sequences):
    """Greedy and beam: the weights picked per step (beam_indices for beams) are those of the returned output."""
    model = make_model(attention=attention, input_feeding=attention != "bahdanau")
    input_ids, attention_mask, generated = generate(model, num_beams, num_return_sequences)
    lengths = []
    for index in range(generated.sequences.shape[0]):
        weights, target_ids = cross_attention_matrix(generated, index, eos_token_id=EOS)
        source = index // num_return_sequences
        decoder_input_ids = torch.tensor([[model.config.decoder_start_token_id, *target_ids[:-1]]])
        expected = model(input_ids=input_ids[source : source + 1], attention_mask=attention_mask[source : source + 1],
                         decoder_input_ids=decoder_input_ids, output_attentions=True).cross_attentions[0][0, 0]
        torch.testing.assert_close(weights, expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(weights.sum(-1), torch.ones(len(target_ids)))
        assert (weights[:, attention_mask[source] == 0] == 0).all()  # nothing on source padding
        lengths.append(len(target_ids))
    # the first input's outputs stop at the forced </s> (4 tokens, </s> included); the steps after it are dropped
    assert lengths[:num_return_sequences] == [4] * num_return_sequences


@pytest.mark.parametrize("num_beams", [1, 3])
def test_plot_cross_attention_writes_a_png_of_the_expected_size(tmp_path, num_beams):
    model = make_model(attention="luong_general")
    input_ids, attention_mask, generated = generate(model, num_beams)
    task = SyntheticTask(num_symbols=model.config.vocab_size - 4)
    tokenizer = task.tokenizer()
    backend = matplotlib.get_backend()
    path = tmp_path / "sub" / "attention.png"
    index = 3  # the shortest source (2 tokens + padding)
    figure = plot_cross_attention(generated, input_ids, index=index, attention_mask=attention_mask,
                                  tokenizer=tokenizer, path=path, dpi=80, title="a test")
    assert matplotlib.get_backend() == backend  # the user's backend is left alone
    source_tokens = tokenizer.convert_ids_to_tokens(input_ids[index, attention_mask[index].bool()].tolist())
    _, target_ids = cross_attention_matrix(generated, index, eos_token_id=EOS)
    target_tokens = tokenizer.convert_ids_to_tokens(target_ids)
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == source_tokens
    assert [label.get_text() for label in axes.get_yticklabels()] == target_tokens
    assert len(figure.axes) == 2  # the heatmap and its colour bar
    width, height = attention_figure_size(source_tokens, target_tokens)
    assert png_size(path) == (round(width * 80), round(height * 80))


def test_plot_attention_size_labels_and_errors(tmp_path):
    weights = torch.softmax(torch.randn(3, 5), dim=-1)
    path = tmp_path / "fixed.png"
    plot_attention(weights, list("abcde"), ["x", "y", "</s>"], path=path, figsize=(6, 4), dpi=50)
    assert png_size(path) == (300, 200)
    big = attention_figure_size([f"tok{i}" for i in range(60)], ["a"] * 40)
    small = attention_figure_size(["a"], ["b"])
    assert big[0] > small[0] and big[1] > small[1]
    with pytest.raises(ValueError, match="expected \\(3, 4\\)"):
        plot_attention(weights, list("abcd"), ["x", "y", "z"])


def test_no_attention_model_is_refused_with_a_clear_error():
    model = make_model(attention="none")
    _, _, generated = generate(model, 1)
    with pytest.raises(ValueError, match="attention='none'"):
        cross_attention_matrix(generated, 0)
    with pytest.raises(ValueError, match="output_attentions=True"):
        cross_attention_matrix(model.generate(padded_batch()[0], max_new_tokens=2, return_dict_in_generate=True), 0)


def test_plot_scores_by_length(tmp_path):
    rows = [{"model": m, "bucket": f"{lo}-{lo + 4}", "low": lo, "high": lo + 4, "acc": acc}
            for m, accs in (("a", (90, 50)), ("b", (95, 94))) for lo, acc in zip((5, 10), accs)]
    figure = plot_scores_by_length([{"rows": rows, "metric": "acc", "title": "t"}], path=tmp_path / "s.png", dpi=50)
    assert png_size(tmp_path / "s.png") == (260, 200)
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["a", "b"]
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["5-9", "10-14"]


def test_translate_plot_attention_writes_one_png_per_input(tmp_path):
    task = SyntheticTask(num_symbols=12)
    tokenizer = task.tokenizer()
    model = make_model(vocab_size=task.vocab_size, attention="bahdanau")
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    sources = ["a b c", "d e f g h i j k l a b c", "l k"]
    (tmp_path / "in.txt").write_text("\n".join(sources) + "\n", encoding="utf-8")
    for num_beams in (1, 2):
        out_dir = tmp_path / f"plots{num_beams}"
        translate_script.main(["--model_name_or_path", str(tmp_path / "model"), "--input", str(tmp_path / "in.txt"),
                               "--output", str(tmp_path / "out.txt"), "--disable_tqdm", "--max_new_tokens", "6",
                               "--num_beams", str(num_beams), "--batch_size", "2", "--plot_attention", str(out_dir)])
        pngs = sorted(out_dir.glob("*.png"))
        assert [p.name for p in pngs] == ["attention_0001.png", "attention_0002.png", "attention_0003.png"]
        widths = [png_size(p)[0] for p in pngs]
        assert widths[1] > widths[0]  # sized by source length: input order kept despite length batching
        assert len((tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()) == 3


def test_translate_plot_attention_refuses_a_model_without_attention(tmp_path):
    task = SyntheticTask(num_symbols=12)
    tokenizer = task.tokenizer()
    make_model(vocab_size=task.vocab_size, attention="none").save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    (tmp_path / "in.txt").write_text("a b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="attention='none'"):
        translate_script.main(["--model_name_or_path", str(tmp_path / "model"), "--input", str(tmp_path / "in.txt"),
                               "--disable_tqdm", "--plot_attention", str(tmp_path / "plots")])
