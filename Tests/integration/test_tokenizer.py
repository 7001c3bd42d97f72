"""The Swift tokenizer (`onnx-slim tokenize`, what `--calibration-text` feeds models) against the
`tokenizers` package, token for token.

Tokenizers: the two trained models' own tokenizer.json files (MiniLM's WordPiece with BERT's
normalizer and pre-tokenizer, [CLS]/[SEP] template and truncation at 128; SmolLM2's byte-level
BPE with single digits and the GPT-2 split), and tokenizers trained here by the `tokenizers`
package on the Lee corpus to reach the other components the loader accepts (ByteLevel with a
prefix space, cased WordPiece without accent stripping, NFKC + Whitespace BPE with a
continuation prefix and an end-of-word suffix, BERT processing, left truncation).

Texts: real corpora from gensim's test data (English news, a Russian novel's opening, Usenet
posts with headers and signatures, Italian word vectors with numbers) and a generated Unicode
stress text (every script block the classes distinguish, combining marks, control and
zero-width characters, emoji, odd whitespace, contractions, digits, added tokens inline).
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import lm_metrics
from slim_helpers import describe_run

tokenizers = pytest.importorskip("tokenizers")

CORPORA = ["lee_background.cor", "crime-and-punishment.txt", "mini_newsgroup", "IT.1-10.cbow1_wind5_hs0_neg10_size300_smpl1e-05.txt"]
CHARS_PER_CORPUS = 60_000


def _gensim_text(name: str) -> str:
    with zipfile.ZipFile(lm_metrics._gensim_wheel()) as z:
        raw = z.read(f"gensim/test/test_data/{name}")
    return raw.decode("utf-8", errors="replace")[:CHARS_PER_CORPUS]


def _stress_text(seed: int = 0) -> str:
    """Random runs from the scripts and classes tokenizers treat differently."""
    rng = np.random.default_rng(seed)
    ranges = [(0x780, 0x7FF), (0x1AB0, 0x1AFF), (0x1F900, 0x1F9FF), (0x10D00, 0x10D3F), (0x20, 0x7E), (0xA0, 0x17F), (0x300, 0x36F), (0x391, 0x3C9), (0x400, 0x44F), (0x5D0, 0x5EA),
              (0x621, 0x64A), (0x900, 0x97F), (0xE00, 0xE5B), (0x3040, 0x30FF), (0x4E00, 0x4E80), (0xAC00, 0xAC80),
              (0x2000, 0x206F), (0x2070, 0x209F), (0x2150, 0x218F), (0xFF01, 0xFF5E), (0x1F300, 0x1F64F), (0x1D400, 0x1D47F)]
    specials = ["\t", "\n", "\r\n", "  ", "\u00a0", "\u2028", "\u200b", "\u200d", "\ufeff", "\x00", "\x07", "\ufffd",
                "'s", "'S", "'re", "'ll", "n't", " 12345", "3.14159", "Ⅻ", "½", "[SEP]", "<|endoftext|>", "<|im_start|>",
                "[UNK]", "##ing", "e\u0301", "ﬁ", "Å", "ß", "İ", "ǅ"]
    parts = []
    for _ in range(3000):
        if rng.random() < 0.3:
            parts.append(specials[rng.integers(len(specials))])
        else:
            lo, hi = ranges[rng.integers(len(ranges))]
            parts.append("".join(chr(int(c)) for c in rng.integers(lo, hi + 1, size=rng.integers(1, 8))))
        if rng.random() < 0.5:
            parts.append(" ")
    return "".join(parts)


TEXTS = {name: (lambda n=name: _gensim_text(n)) for name in CORPORA}
for _seed in range(3):
    TEXTS[f"unicode-stress-{_seed}"] = lambda s=_seed: _stress_text(s)


def _trained_tokenizers(folder) -> dict[str, str]:
    """Tokenizers the `tokenizers` package trains on the Lee corpus, one per component family."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    corpus = _gensim_text("lee_background.cor").splitlines()
    out = {}

    gpt = Tokenizer(models.BPE())
    gpt.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    gpt.decoder = decoders.ByteLevel()
    gpt.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=2000, special_tokens=["<|endoftext|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    out["bytelevel-prefix-space"] = gpt

    cased = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    cased.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    cased.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cased.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=3000, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]"]))
    cased.post_processor = processors.BertProcessing(("[SEP]", cased.token_to_id("[SEP]")), ("[CLS]", cased.token_to_id("[CLS]")))
    cased.enable_truncation(40, direction="left")
    out["wordpiece-cased-left-truncation"] = cased

    suffixed = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="@@", end_of_word_suffix="</w>"))
    suffixed.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(), normalizers.StripAccents()])
    suffixed.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=False)])
    suffixed.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=1500, special_tokens=["<unk>"],
                                                             continuing_subword_prefix="@@", end_of_word_suffix="</w>"))
    out["bpe-nfkc-whitespace-suffix"] = suffixed

    paths = {}
    for name, tk in out.items():
        path = folder / f"{name}.json"
        tk.save(str(path))
        paths[name] = str(path)
    return paths


@pytest.fixture(scope="module")
def tokenizer_files(tmp_path_factory):
    import task_metrics
    files = {"minilm-wordpiece": task_metrics.trained_models.ensure("minilm")["tokenizer"]}
    import sys, os  # noqa: E401
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "models"))
    import smollm2_gguf_to_onnx as smollm2
    files["smollm2-bytelevel-bpe"] = smollm2.ensure()["tokenizer"]
    files.update(_trained_tokenizers(tmp_path_factory.mktemp("tokenizers")))
    return files


def _swift(slim, tokenizer: str, path, lines: bool, special: bool = True) -> list[list[int]]:
    args = ["tokenize", tokenizer, str(path)] + (["--lines"] if lines else []) + ([] if special else ["--no-special-tokens"])
    p = slim(*args)
    assert p.returncode == 0, describe_run(p)
    return [e["ids"] for e in json.loads(p.stdout)]


def _reference(tokenizer: str, text: str, lines: bool, special: bool = True) -> list[list[int]]:
    tk = tokenizers.Tokenizer.from_file(tokenizer)
    tk.no_padding()
    if not special:
        tk.no_truncation()   # (`--no-special-tokens` is the whole text, as windows take it)
    texts = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()] if lines else [text]
    return [e.ids for e in tk.encode_batch(texts, add_special_tokens=special)]


def _first_difference(a: list[int], b: list[int]) -> str:
    k = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"at token {k}: swift {a[max(0, k - 3):k + 4]} vs tokenizers {b[max(0, k - 3):k + 4]} (lengths {len(a)}, {len(b)})"


@pytest.mark.parametrize("text_name", list(TEXTS))
@pytest.mark.parametrize("tokenizer_name", ["minilm-wordpiece", "smollm2-bytelevel-bpe", "bytelevel-prefix-space",
                                            "wordpiece-cased-left-truncation", "bpe-nfkc-whitespace-suffix"])
def test_same_ids_as_tokenizers(slim, tmp_path, tokenizer_files, tokenizer_name, text_name, summary_lines):
    text = TEXTS[text_name]()
    path = tmp_path / "text.txt"
    path.write_text(text, encoding="utf-8")
    tokenizer = tokenizer_files[tokenizer_name]
    checked = 0
    # Whole files without special tokens (windows), and line by line with them (sentences).
    for lines, special in [(False, False), (True, True)]:
        got, want = _swift(slim, tokenizer, path, lines, special), _reference(tokenizer, text, lines, special)
        assert len(got) == len(want), (len(got), len(want))
        for k, (a, b) in enumerate(zip(got, want)):
            assert a == b, f"{'line ' + str(k) if lines else 'file'}: {_first_difference(a, b)}"
            checked += len(a)
    assert checked > 500
    if text_name == CORPORA[0]:
        summary_lines.append(f"tokenizer {tokenizer_name}: {checked} tokens of {text_name} identical to tokenizers")


def test_unsupported_component_is_one_line(slim, tmp_path, tokenizer_files):
    with open(tokenizer_files["smollm2-bytelevel-bpe"]) as f:
        j = json.load(f)
    j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    bad = tmp_path / "metaspace.json"
    bad.write_text(json.dumps(j))
    text = tmp_path / "t.txt"
    text.write_text("hello world\n")
    for tokenizer, expect in [(bad, "Metaspace"), (text, "JSON"), (tmp_path / "missing.json", "cannot read")]:
        p = slim("tokenize", tokenizer, text)
        assert p.returncode != 0
        assert len(p.stderr.strip().splitlines()) == 1 and expect in p.stderr, p.stderr


# --------------------------------------------------------------------------
# --calibration-text: the same samples as a folder of the same tokens
# --------------------------------------------------------------------------

def _write_samples(folder, sequences: list[list[int]], inputs: list[str]):
    for k, ids in enumerate(sequences):
        d = folder / f"{k:03d}"
        d.mkdir(parents=True)
        n = len(ids)
        feeds = {"input_ids": ids, "attention_mask": [1] * n, "position_ids": list(range(n)), "token_type_ids": [0] * n}
        for name in inputs:
            np.save(d / f"{name}.npy", np.array([feeds[name]], np.int64))
    return folder


def test_calibration_text_lines_equal_a_folder_of_the_same_tokens(slim, tmp_path, tokenizer_files):
    """MiniLM (a WordPiece encoder: one sample per line, [CLS] … [SEP], truncated at 128), int4
    GPTQ with int8 tables: calibrating on the text gives the file calibrating on a folder of the
    `tokenizers` package's ids gives, byte for byte."""
    import task_metrics
    model = task_metrics.trained_models.ensure("minilm")["model"]
    tokenizer = tokenizer_files["minilm-wordpiece"]
    lines = [l for l in _gensim_text("lee_background.cor").split("\n") if l.strip()][:12]
    text = tmp_path / "lines.txt"
    text.write_text("\n\n".join(lines) + "\n", encoding="utf-8")   # (blank lines are skipped)
    tk = tokenizers.Tokenizer.from_file(tokenizer)
    tk.no_padding()
    folder = _write_samples(tmp_path / "samples", [tk.encode(l).ids for l in lines], ["input_ids", "attention_mask"])
    args = ["--quantize", "int4", "--embedding-format", "int8", "--repair"]
    from_text, from_folder = tmp_path / "text.onnx", tmp_path / "folder.onnx"
    p = slim("convert", model, from_text, *args, "--calibration-text", text, "--tokenizer", tokenizer, "--report", "json")
    assert p.returncode == 0, describe_run(p)
    report = " ".join(str(x) for x in json.loads(p.stdout)["passes"])
    assert "12 lines" in report, report
    p = slim("convert", model, from_folder, *args, "--calibration", folder)
    assert p.returncode == 0, describe_run(p)
    assert from_text.read_bytes() == from_folder.read_bytes()


def test_calibration_text_windows_equal_a_folder_of_the_same_tokens(slim, tmp_path, tokenizer_files):
    """SmolLM2 (byte-level BPE, no special tokens: windows of the whole text's ids), static int8
    on 4 windows of 64 tokens: byte for byte the model a folder of the same windows gives."""
    import sys, os  # noqa: E401
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "models"))
    import smollm2_gguf_to_onnx as smollm2
    model = smollm2.ensure()["model"]
    tokenizer = tokenizer_files["smollm2-bytelevel-bpe"]
    raw = _gensim_text("lee.cor")[:6000]
    text = tmp_path / "lee.txt"
    text.write_text(raw, encoding="utf-8")
    ids = tokenizers.Tokenizer.from_file(tokenizer).encode(raw, add_special_tokens=False).ids
    folder = _write_samples(tmp_path / "samples", [ids[k * 64:(k + 1) * 64] for k in range(4)], ["input_ids"])
    args = ["--quantize", "int8", "--int8-mode", "static"]
    from_text, from_folder = tmp_path / "text.onnx", tmp_path / "folder.onnx"
    p = slim("convert", model, from_text, *args, "--calibration-text", text, "--tokenizer", tokenizer,
             "--calibration-samples", "4", "--calibration-length", "64")
    assert p.returncode == 0, describe_run(p)
    assert "4 windows of 64 tokens" in p.stdout, p.stdout
    p = slim("convert", model, from_folder, *args, "--calibration", folder)
    assert p.returncode == 0, describe_run(p)
    assert from_text.read_bytes() == from_folder.read_bytes()


def test_calibration_text_misuse_is_one_line(slim, tmp_path, tokenizer_files):
    import task_metrics
    model = task_metrics.trained_models.ensure("minilm")["model"]
    tokenizer = tokenizer_files["minilm-wordpiece"]
    good = tmp_path / "ok.txt"
    good.write_text("a sentence\n")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9\n".encode("latin-1"))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    cases = [(["--calibration-text", good], "--tokenizer"),
             (["--calibration-text", good, "--tokenizer", tokenizer, "--calibration", tmp_path], "exclude"),
             (["--tokenizer", tokenizer], "--calibration-text"),
             (["--calibration-text", latin1, "--tokenizer", tokenizer], "UTF-8"),
             (["--calibration-text", empty, "--tokenizer", tokenizer], "no text"),
             (["--calibration-text", tmp_path / "missing.txt", "--tokenizer", tokenizer], "cannot read")]
    for extra, expect in cases:
        out = tmp_path / "out.onnx"
        p = slim("convert", model, out, "--quantize", "int4", "--repair", *extra)
        assert p.returncode != 0, (extra, describe_run(p))
        assert len(p.stderr.strip().splitlines()) == 1 and expect in p.stderr, (extra, p.stderr)
        assert not out.exists()
