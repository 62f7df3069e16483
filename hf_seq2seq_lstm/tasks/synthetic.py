"""Synthetic sequence tasks over a tiny vocabulary, generated directly as tensors: the quickest way to see what a
fixed-size encoder state can and cannot carry.

A source is a random sequence of `length` symbols followed by `</s>`; its target is a function of the symbols
("copy": the same sequence, "reverse": the sequence backwards), also followed by `</s>`. Ids follow the package's
tokenizers: `<pad>`=0, `<s>`=1, `</s>`=2, `<unk>`=3, then the symbols. Copying is the hardest of the two for a
model without attention: the first target symbol is the one the encoder read longest ago, so the whole sequence has
to survive in the final state. `reverse` is the easy direction, and `Seq2SeqLSTMConfig(reverse_source=True)` turns
`copy` into it for the first target symbols (Sutskever et al., 2014).

    task = SyntheticTask("copy", num_symbols=20, min_length=5, max_length=60)
    batch = task.batch(64, generator=torch.Generator().manual_seed(0))   # input_ids, attention_mask, labels
    tokenizer = task.tokenizer()   # word-level: "f q b ..." <-> ids, for translate.py and attention plots
"""

import string
from dataclasses import dataclass

import torch

from ..tokenization import SPECIAL_TOKENS as TOKENIZER_SPECIAL_TOKENS

__all__ = ["SYNTHETIC_TASKS", "SyntheticTask", "collate", "strip_special"]

SYNTHETIC_TASKS = ("copy", "reverse")
# The special tokens of every tokenizer this package trains, first and in that order: their ids are the config's
# default pad/bos/eos ids (0, 1, 2).
SPECIAL_TOKENS = tuple(TOKENIZER_SPECIAL_TOKENS.values())
PAD_ID, BOS_ID, EOS_ID = (SPECIAL_TOKENS.index(TOKENIZER_SPECIAL_TOKENS[name])
                          for name in ("pad_token", "bos_token", "eos_token"))
FIRST_SYMBOL_ID = len(SPECIAL_TOKENS)


@dataclass(frozen=True)
class SyntheticTask:
    """
    Args:
        name (`str`, defaults to "copy"): "copy" or "reverse".
        num_symbols (`int`, defaults to 20): symbols the sequences are drawn from (uniformly, independently).
        min_length / max_length (`int`, defaults to 5 / 60): source lengths in symbols, `</s>` not counted; drawn
            uniformly in [min_length, max_length] unless a batch is given its lengths.
    """

    name: str = "copy"
    num_symbols: int = 20
    min_length: int = 5
    max_length: int = 60

    def __post_init__(self):
        if self.name not in SYNTHETIC_TASKS:
            raise ValueError(f"Unknown synthetic task {self.name!r}; choose one of {SYNTHETIC_TASKS}.")
        if not 2 <= self.num_symbols <= 26 * 27:
            raise ValueError(f"num_symbols must be in [2, {26 * 27}], got {self.num_symbols}.")
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError(f"Need 1 <= min_length <= max_length, got {self.min_length} and {self.max_length}.")

    @property
    def vocab_size(self) -> int:
        """Special tokens plus symbols: the `vocab_size` of a model for this task."""
        return FIRST_SYMBOL_ID + self.num_symbols

    @property
    def symbols(self) -> list[str]:
        """Printable names of the symbols, in id order: "a".."z", then "aa", "ab", ..."""
        letters = string.ascii_lowercase
        names = list(letters) + [first + second for first in letters for second in letters]
        return names[: self.num_symbols]

    def target_symbols(self, source: torch.Tensor) -> torch.Tensor:
        """The target symbol ids of a 1-D tensor of source symbol ids (no special tokens)."""
        return source.flip(0) if self.name == "reverse" else source.clone()

    def examples(self, lengths: list[int], generator: torch.Generator | None = None
                 ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One (source, target) pair of 1-D id tensors per length, each ending with `</s>`."""
        pairs = []
        for length in lengths:
            symbols = torch.randint(FIRST_SYMBOL_ID, self.vocab_size, (int(length),), generator=generator)
            eos = torch.tensor([EOS_ID])
            pairs.append((torch.cat([symbols, eos]), torch.cat([self.target_symbols(symbols), eos])))
        return pairs

    def sample_lengths(self, count: int, generator: torch.Generator | None = None) -> list[int]:
        return torch.randint(self.min_length, self.max_length + 1, (count,), generator=generator).tolist()

    def batch(self, batch_size: int | None = None, generator: torch.Generator | None = None,
              lengths: list[int] | None = None) -> dict[str, torch.Tensor]:
        """
        A right-padded training batch: `input_ids` and `attention_mask` (B, S), `labels` (B, T) with -100 on
        padding, ready for `Seq2SeqLSTMForConditionalGeneration(**batch)`. Lengths are drawn at random unless given.
        """
        if lengths is None:
            if batch_size is None:
                raise ValueError("Pass batch_size or lengths.")
            lengths = self.sample_lengths(batch_size, generator)
        return collate(self.examples(lengths, generator))

    def tokenizer(self):
        """
        A word-level tokenizer over the symbol names (whitespace-separated, `</s>` appended, like the package's
        trained tokenizers), so a model trained on tensors can be saved with it and used by scripts/translate.py.
        """
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
        from transformers import PreTrainedTokenizerFast

        vocab = {token: index for index, token in enumerate([*SPECIAL_TOKENS, *self.symbols])}
        backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
        backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        backend.decoder = decoders.WordPiece(prefix="##")  # joins tokens with single spaces
        backend.post_processor = processors.TemplateProcessing(
            single="$A:0 </s>:0", pair="$A:0 </s>:0 $B:1 </s>:1", special_tokens=[("</s>", EOS_ID)]
        )
        return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", bos_token="<s>",
                                       eos_token="</s>", unk_token="<unk>")

    def to_text(self, ids) -> str:
        """Symbol ids -> "f q b ..." (special tokens dropped)."""
        names = self.symbols
        return " ".join(names[i - FIRST_SYMBOL_ID] for i in map(int, ids) if i >= FIRST_SYMBOL_ID)


def collate(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """(source, target) id tensors -> right-padded `input_ids`, `attention_mask` and `labels` (-100 padding)."""
    sources, targets = zip(*pairs)
    input_ids = torch.nn.utils.rnn.pad_sequence(sources, batch_first=True, padding_value=PAD_ID)
    labels = torch.nn.utils.rnn.pad_sequence(targets, batch_first=True, padding_value=-100)
    return {"input_ids": input_ids, "attention_mask": (input_ids != PAD_ID).long(), "labels": labels}


def strip_special(ids, eos_token_id: int = EOS_ID, pad_token_id: int = PAD_ID, bos_token_id: int = BOS_ID
                  ) -> list[int]:
    """A generated or label row -> its tokens up to (not including) the first `</s>`, without `<s>`/padding."""
    tokens = []
    for token in map(int, ids):
        if token == eos_token_id:
            break
        if token not in (pad_token_id, bos_token_id, -100):
            tokens.append(token)
    return tokens

