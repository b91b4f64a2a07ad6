"""The inference facade: shipped model folders in, `Translation` objects out."""

from inference.checkpoint import CheckpointError, load_folder, save_folder
from inference.translation import Translation, merge_to_words, word_groups, word_labels
from inference.translator import InputError, Translator, clean_text, load_all, serve_threads

__all__ = ["CheckpointError", "InputError", "Translation", "Translator", "clean_text",
           "load_all", "load_folder", "merge_to_words", "save_folder", "serve_threads",
           "word_groups", "word_labels"]
