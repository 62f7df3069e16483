"""A small random model saved with its tokenizer and card, as the Hub and pipeline tests share it."""

import json
from pathlib import Path

import torch

from hf_seq2seq_lstm.hub import write_model_card
from hf_seq2seq_lstm.models import new_model
from hf_seq2seq_lstm.tokenization import train_tokenizers

SOURCES = ["number 3 is odd", "number 12 is even", "seven", "number 41 is odd and number 40 is even"]
TARGETS = ["Nummer 3 ist ungerade", "Nummer 12 ist gerade", "sieben", "Nummer 41 ist ungerade"]
NEW_TOKENS = 10
OUTPUT_KEYS = {"translation": "translation_text", "summarization": "summary_text",
               "text2text-generation": "generated_text"}
RESULTS = {"epoch": 3.0, "train_loss": 1.25, "train_samples": 200, "eval_bleu": 12.3456, "eval_chrf": 40.5,
           "eval_exact_match": 5.0, "eval_gen_len": 7.5, "eval_loss": 2.5, "eval_samples": 20, "predict_bleu": 11.0,
           "predict_chrf": 39.25, "predict_exact_match": 4.0, "predict_samples": 20}


def training_texts():
    source = [f"number {i} is {'even' if i % 2 == 0 else 'odd'}" for i in range(120)]
    target = [f"Nummer {i} ist {'gerade' if i % 2 == 0 else 'ungerade'}" for i in range(120)]
    return source, target


class SavedModel:
    """A small random model saved with its tokenizer (two vocabularies in one where not joint) and card, and what it
    generates for SOURCES."""

    def __init__(self, folder, joint, repo_id=None):
        source_texts, target_texts = training_texts()
        self.tokenizer = train_tokenizers(source_texts, target_texts, joint=joint, vocab_size=90)
        torch.manual_seed(0)
        self.model = new_model(self.tokenizer, hidden_size=16, embedding_size=8, attention="luong_general",
                               bidirectional_encoder=True, dropout=0.0, init_range=0.5).eval()
        self.folder, self.separate = Path(folder), not joint
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        (self.folder / "all_results.json").write_text(json.dumps(RESULTS), encoding="utf-8")
        write_model_card(folder, repo_id=repo_id, data_args={"source_lang": "en", "target_lang": "de"})
        batch = self.tokenizer(SOURCES, padding=True, return_tensors="pt")
        with torch.no_grad():
            self.greedy = self.model.generate(**batch, max_new_tokens=NEW_TOKENS).tolist()
            self.beam = self.model.generate(**batch, max_new_tokens=NEW_TOKENS, num_beams=3).tolist()
        self.texts = [text.strip() for text in self.tokenizer.batch_decode(self.greedy, skip_special_tokens=True)]
        self.labels = self.tokenizer(SOURCES, text_target=TARGETS)["labels"]
        assert len(set(self.texts)) > 1, "outputs ignore the source: the comparisons would prove nothing"

    def files(self):
        return {p.relative_to(self.folder).as_posix(): p.read_bytes() for p in self.folder.rglob("*") if p.is_file()}



def saved_models(root) -> dict:
    """The two saved models of the tests: one shared vocabulary (card naming a repo) and two vocabularies."""
    return {"joint": SavedModel(root / "joint", joint=True, repo_id="org/pushed"),
            "separate": SavedModel(root / "separate", joint=False)}
