#!/usr/bin/python3
"""Byte-level BPE exactly as GPT-2 defines it: encoder, decoder and a small trainer.

Files (GPT-2's own formats, readable by Hugging Face's GPT2Tokenizer):
    vocab.json   JSON object token-string -> id, UTF-8
    merges.txt   first line "#version: 0.2", then one merge "tokA tokB" per line in rank order (rank 0 first)

Encoding a text:
  1. Split the text on the literal special token <|endoftext|>; each occurrence becomes its own id (the last vocab
     entry), and no whitespace around it is stripped (as Hugging Face's GPT2Tokenizer and tiktoken do).
  2. Split every other part into pieces with GPT-2's regex (the `regex` module, for \\p{L} and \\p{N}):
        's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
  3. Map each piece's UTF-8 bytes through bytes_to_unicode (printable bytes map to the character with the same code,
     the other 68 bytes to chr(256 + n) in byte order), then repeatedly merge the adjacent pair with the lowest
     merge rank until no adjacent pair has a rank; each resulting symbol is looked up in vocab.json.
Decoding: concatenate the token strings, map each character back to its byte, and decode the bytes as UTF-8 with
errors='replace' (every invalid sequence becomes U+FFFD exactly as Python does it). The special token's string
"<|endoftext|>" is plain ASCII, so it decodes to itself.

Vocabulary order written by the trainer: ids 0..255 are the 256 byte symbols in bytes_to_unicode's order (as in
GPT-2: "!" is 0, the byte 0x00 "Ā" is 188), then one id per merge in rank order (id = 256 + rank), then
<|endoftext|> as the last id.

Training (`train`): the corpus is split on <|endoftext|>, pre-tokenized with the regex above, and the pieces are
counted; then, repeatedly, the most frequent adjacent symbol pair (counted over all pieces, weighted by piece
frequency) is merged. Ties are broken deterministically: the pair whose (left, right) strings compare smallest in
Python's code-point order wins. Training stops at the requested vocab size (256 + merges + 1) or when no pair occurs
twice.

Run from the repository root:

    /usr/bin/python3 tools/bpe.py train /tmp/gpt2-work/corpus/train.txt /tmp/gpt2-work/tok4096 --vocab-size 4096
    /usr/bin/python3 tools/bpe.py encode models/gpt2-brown "The meaning of life is"
    /usr/bin/python3 tools/bpe.py decode models/gpt2-brown 453 2416 275
    /usr/bin/python3 tools/bpe.py cases models/gpt2-brown src/test/resources/golden/tokenizer/bundled/cases.json

`cases` writes a JSON list: encode cases {"kind": "encode", "text", "ids"} (tricky strings, plus ~400 characters of
/tmp/gpt2-work/corpus/valid.txt when it exists; for these decode(ids) == text holds too) and decode cases
{"kind": "decode", "ids", "text"}, mostly byte tokens that are invalid UTF-8, with the text exactly as Python's
bytes.decode('utf-8', errors='replace') gives it (encode(text) does not give those ids back). The file is ASCII JSON
(non-ASCII characters as \\u escapes, astral ones as surrogate pairs).

(Debian: apt-get install python3-regex.)
"""
import argparse
import collections
import json
import os
import sys

import regex

EOT = "<|endoftext|>"
PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible byte -> character table (dict in GPT-2's order: printable bytes first)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}


def pieces(text):
    """GPT-2 pre-tokenization of text that contains no special token."""
    return PATTERN.findall(text)


def to_symbols(piece):
    return "".join(BYTE_ENCODER[b] for b in piece.encode("utf-8"))


class Tokenizer:
    def __init__(self, vocab, merges):
        """vocab: dict token -> id; merges: list of (left, right) in rank order."""
        self.encoder = vocab
        self.decoder = {i: t for t, i in vocab.items()}
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.merges = list(merges)
        self.eot_id = vocab[EOT]
        self.cache = {}

    @classmethod
    def load(cls, folder):
        with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        return cls(vocab, read_merges(os.path.join(folder, "merges.txt")))

    def bpe(self, symbols):
        """symbols: the byte-mapped string of one piece. Returns the list of merged symbols."""
        if symbols in self.cache:
            return self.cache[symbols]
        word = list(symbols)
        while len(word) > 1:
            best = None
            best_rank = None
            for i in range(len(word) - 1):
                rank = self.ranks.get((word[i], word[i + 1]))
                if rank is not None and (best_rank is None or rank < best_rank):
                    best, best_rank = (word[i], word[i + 1]), rank
            if best is None:
                break
            merged = []
            i = 0
            while i < len(word):  # merge every occurrence of the best pair, left to right
                if i < len(word) - 1 and word[i] == best[0] and word[i + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self.cache[symbols] = word
        return word

    def encode(self, text):
        ids = []
        for k, part in enumerate(text.split(EOT)):
            if k > 0:
                ids.append(self.eot_id)
            for piece in pieces(part):
                ids.extend(self.encoder[s] for s in self.bpe(to_symbols(piece)))
        return ids

    def decode_bytes(self, ids):
        return bytes(BYTE_DECODER[c] for i in ids for c in self.decoder[i])

    def decode(self, ids):
        return self.decode_bytes(ids).decode("utf-8", errors="replace")


def read_merges(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if not lines[0].startswith("#version"):
        raise ValueError("%s: first line must be '#version: 0.2'" % path)
    return [tuple(line.split(" ")) for line in lines[1:] if line]


def write_tokenizer(folder, merges):
    """Writes vocab.json and merges.txt for the merges (list of (left, right) in rank order)."""
    vocab = {}
    for symbol in BYTE_ENCODER.values():
        vocab[symbol] = len(vocab)
    for left, right in merges:
        vocab[left + right] = len(vocab)
    vocab[EOT] = len(vocab)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for left, right in merges:
            f.write("%s %s\n" % (left, right))
    return vocab


def train(text, vocab_size, log=None):
    """Learns vocab_size - 257 merges on text. Returns the list of merges in rank order."""
    counts = collections.Counter()
    for part in text.split(EOT):
        counts.update(pieces(part))
    words = []   # list of symbol lists
    freqs = []
    for piece, n in sorted(counts.items()):
        words.append(list(to_symbols(piece)))
        freqs.append(n)
    pair_counts = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words that contain it
    for w, (word, n) in enumerate(zip(words, freqs)):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += n
            where[pair].add(w)
    merges = []
    target = vocab_size - 256 - 1
    while len(merges) < target:
        best = None
        best_count = 1
        for pair, n in pair_counts.items():
            if n > best_count or (n == best_count and best is not None and pair < best):
                best, best_count = pair, n
        if best is None:
            break  # no pair occurs twice
        merges.append(best)
        joined = best[0] + best[1]
        for w in sorted(where.pop(best)):
            word, n = words[w], freqs[w]
            for pair in zip(word, word[1:]):
                pair_counts[pair] -= n
            new = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == best[0] and word[i + 1] == best[1]:
                    new.append(joined)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            words[w] = new
            for pair in zip(new, new[1:]):
                pair_counts[pair] += n
                where[pair].add(w)
        for pair in [p for p, n in pair_counts.items() if n <= 0]:
            del pair_counts[pair]
        if log and len(merges) % 500 == 0:
            log("%d merges, last %r (count %d)" % (len(merges), joined, best_count))
    return merges


def corpus_excerpt(path, length=400):
    """About `length` characters of running text from the middle of a corpus file, cut at word boundaries."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.index(" ", len(text) // 2) + 1
    end = text.index(" ", start + length)
    return text[start:end]


ENCODE_CASES = [
    "Hello world",
    "The meaning of life is",
    "It was a dark and stormy night; the rain fell in torrents.",
    "I'm sure it's what they're doing: we've seen it, you'll see it, he'd say so.",
    "IT'S THE BOY'S DOG. I'M HERE, WE'LL GO, THEY'D KNOW, YOU'VE SEEN, WE'RE OFF, DON'T",
    "'s 't 're 've 'm 'll 'd 'S 'x ''s",
    "rock 'n' roll and 'single quotes'",
    "two  spaces, three   spaces, four    spaces",
    "   leading spaces",
    "trailing spaces   ",
    " ",
    "    ",
    "tab\there",
    "\t\tleading tabs",
    "trailing tab\t",
    " \t mixed \t\n whitespace \n\t ",
    "line one\nline two",
    "paragraph one\n\nparagraph two",
    "trailing newline\n",
    "\n",
    "\n\n\n",
    "a \n b",
    "windows\r\nline endings\r\n",
    "vertical\x0btab and form\x0cfeed",
    "no-break\u00a0space, thin\u2009space, ideographic\u3000space, NEL\u0085, line\u2028separator",
    "zero\u200bwidth, BOM\ufeff, info\x1fseparator, NUL\x00byte",
    "123 4567 89012345",
    "3.14159, 1,000,000 and 2024-11-28",
    "x1y22z333 ab12cd",
    "\u0661\u0662\u0663 and \u2163 and \u00bd",
    "!!!???... -- --- (a)[b]{c} <tag/> @#$%^&*_+=|\\~`",
    "\"quoted,\" she said. 'Really?'",
    "a...b, c;d: e!f?g",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c6r\u00f8sk\u00f8bing \u00dcn\u00efc\u00f6d\u00e9",
    "cafe\u0301 (combining acute accent)",
    "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440, \u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "\u4e2d\u6587\u5b57\u7b26 \ud55c\uad6d\uc5b4",
    "\U0001F600",
    "smile \U0001F600 thumbs \U0001F44D\U0001F3FD heart \u2764\ufe0f",
    "family \U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 done",
    "flags \U0001F1E9\U0001F1EA\U0001F1FA\U0001F1F8",
    "math \U0001D400\U0001D401 and gothic \U00010330",
    "<|endoftext|>",
    "before<|endoftext|>after",
    "space <|endoftext|> around",
    "<|endoftext|><|endoftext|>",
    "end of document.<|endoftext|>\n\nNew document",
    "<|endoftext|",
    "<|endoftext|>'s",
    "",
]


def golden_cases(tokenizer, corpus_path=None):
    cases = [{"kind": "encode", "text": text, "ids": tokenizer.encode(text)} for text in ENCODE_CASES]
    if corpus_path:
        excerpt = corpus_excerpt(corpus_path)
        cases.append({"kind": "encode", "text": excerpt, "ids": tokenizer.encode(excerpt)})
    for case in cases:
        assert tokenizer.decode(case["ids"]) == case["text"], case["text"]
    byte_id = {b: tokenizer.encoder[c] for b, c in BYTE_ENCODER.items()}

    def ids_of(data):
        return [byte_id[b] for b in data]

    decode_bytes = [
        b"\x80",                      # a lone continuation byte
        b"a\x80b",
        b"\xe2a",                     # a lead byte followed by ASCII
        b"\xf0\x9f\x98",              # the first three bytes of U+1F600, cut off
        b"\xf0\x9f\x98 ok",
        b"\xc0\x80",                  # overlong NUL
        b"\xed\xa0\x80",              # an encoded surrogate
        b"\xf4\x90\x80\x80",          # above U+10FFFF
        b"\xf5\xfe\xff",
        b"\xe2\x82",                  # 2 of 3 bytes of U+20AC
        b"\xe2\x82\xe2\x82\xac",      # cut-off sequence then a whole one
        b"\xf0\x9f\x98\x80",          # U+1F600 from four byte tokens: valid
        b"caf\xc3\xa9",               # valid, bytes split across tokens
    ]
    decodes = [{"kind": "decode", "ids": ids_of(data), "text": data.decode("utf-8", errors="replace")}
               for data in decode_bytes]
    decodes.append({"kind": "decode", "ids": [tokenizer.eot_id], "text": EOT})
    hello = tokenizer.encode("Hello")
    decodes.append({"kind": "decode", "ids": hello + [tokenizer.eot_id] + hello, "text": "Hello" + EOT + "Hello"})
    decodes.append({"kind": "decode", "ids": [], "text": ""})
    for case in decodes:
        assert tokenizer.decode(case["ids"]) == case["text"]
    return cases + decodes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="learn merges on a UTF-8 text file, write vocab.json and merges.txt")
    p_train.add_argument("corpus")
    p_train.add_argument("out_dir")
    p_train.add_argument("--vocab-size", type=int, default=4096)
    p_enc = sub.add_parser("encode", help="print the ids of a text")
    p_enc.add_argument("model_dir")
    p_enc.add_argument("text")
    p_dec = sub.add_parser("decode", help="print the text of ids")
    p_dec.add_argument("model_dir")
    p_dec.add_argument("ids", nargs="+", type=int)
    p_cases = sub.add_parser("cases", help="write golden encode/decode cases as JSON")
    p_cases.add_argument("model_dir")
    p_cases.add_argument("out_file")
    p_cases.add_argument("--corpus", default="/tmp/gpt2-work/corpus/valid.txt",
                         help="corpus file for the running-text case (skipped when missing)")
    args = parser.parse_args()
    if args.command == "train":
        with open(args.corpus, encoding="utf-8") as f:
            text = f.read()
        merges = train(text, args.vocab_size, log=lambda m: print(m, file=sys.stderr))
        vocab = write_tokenizer(args.out_dir, merges)
        print("%d merges, vocab size %d, written to %s" % (len(merges), len(vocab), args.out_dir))
    elif args.command == "encode":
        print(json.dumps(Tokenizer.load(args.model_dir).encode(args.text)))
    elif args.command == "decode":
        print(Tokenizer.load(args.model_dir).decode(args.ids))
    else:
        corpus = args.corpus if os.path.exists(args.corpus) else None
        cases = golden_cases(Tokenizer.load(args.model_dir), corpus)
        os.makedirs(os.path.dirname(os.path.abspath(args.out_file)), exist_ok=True)
        with open(args.out_file, "w", encoding="utf-8") as f:
            f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=True) for c in cases) + "\n]\n")
        print("%d cases written to %s" % (len(cases), args.out_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
