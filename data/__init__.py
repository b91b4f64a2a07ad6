"""Corpus loading (datasets), the joint sentencepiece tokenizer, and batching."""

from data.batching import Batch, PairIds, TokenBudgetBatchSampler, collate, encode_split
from data.corpus import CorpusError, load_pair, resolve_corpus
from data.tokenizer import Tokenizer, train_or_load

__all__ = ["Batch", "CorpusError", "PairIds", "TokenBudgetBatchSampler", "Tokenizer", "collate",
           "encode_split", "load_pair", "resolve_corpus", "train_or_load"]
