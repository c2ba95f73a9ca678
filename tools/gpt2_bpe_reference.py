#!/usr/bin/python3
"""GPT-2's byte-level BPE exactly as OpenAI's original Python encoder.py does it: the golden source for the cases the
JavaScript package gets wrong, and for decoding invalid UTF-8 (bytes.decode('utf-8', errors='replace')).

Written from the algorithm of encoder.py in https://github.com/openai/gpt-2 (src/encoder.py): bytes_to_unicode,
the pre-tokenization regex compiled with the third-party `regex` module (whose \\s, \\p{L} and \\p{N} are Unicode's,
unlike JavaScript's \\s), BPE that merges the lowest-ranked pair everywhere in a word until none is left, and
decode with errors='replace'. Nothing here is shared with the Java code or with the JavaScript package.

tools/golden_tokenizer_gpt2.js runs this as a subprocess; by hand:

    echo '{"encode": ["Hello world"], "decode": [[15496, 995]]}' | \\
        /usr/bin/python3 tools/gpt2_bpe_reference.py encoder.json vocab.bpe

Input on stdin: {"encode": [text, ...], "decode": [[id, ...], ...]}. Output on stdout, in the same order:
{"encode": [[id, ...] or {"error": message}, ...], "pretokens": [[piece, ...], ...], "decode": [text, ...]}, where
"pretokens" are the pieces the regex cuts each text to be encoded into. Text that cannot be UTF-8 encoded (lone
surrogates) gets {"error": ...}: GPT-2's encoder raises on it. (Debian: apt-get install python3-regex.)
"""
import json
import sys

import regex as re

PATTERN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """Byte -> printable character: bytes that are printable Latin-1 map to themselves, the other 68 to 256 + n."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2 ** 8):
        if b not in bs:
            bs.append(b)
            cs.append(2 ** 8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


class Encoder:
    def __init__(self, encoder, merges):
        self.encoder = encoder
        self.decoder = {v: k for k, v in encoder.items()}
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = get_pairs(word)
        if not pairs:
            return token
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        result = " ".join(word)
        self.cache[token] = result
        return result

    def encode(self, text):
        ids = []
        for token in PATTERN.findall(text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids

    def decode(self, ids):
        text = "".join(self.decoder[i] for i in ids)
        return bytearray(self.byte_decoder[c] for c in text).decode("utf-8", errors="replace")


def load(encoder_json, vocab_bpe):
    with open(encoder_json, "r", encoding="utf-8") as f:
        encoder = json.load(f)
    with open(vocab_bpe, "r", encoding="utf-8") as f:
        bpe_data = f.read()
    merges = [tuple(line.split()) for line in bpe_data.split("\n")[1:-1]]
    return Encoder(encoder, merges)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gpt2_bpe_reference.py ENCODER_JSON VOCAB_BPE < request.json")
    enc = load(sys.argv[1], sys.argv[2])
    request = json.load(sys.stdin)
    encoded = []
    for text in request.get("encode", []):
        try:
            encoded.append(enc.encode(text))
        except UnicodeEncodeError as e:
            encoded.append({"error": "UnicodeEncodeError: " + str(e)})
    pretokens = [PATTERN.findall(text) for text in request.get("encode", [])]
    decoded = [enc.decode(ids) for ids in request.get("decode", [])]
    json.dump({"encode": encoded, "pretokens": pretokens, "decode": decoded}, sys.stdout)


if __name__ == "__main__":
    main()
