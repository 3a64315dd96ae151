// Builds the tokenizer fixture: corpus.txt (corpus_base.txt followed by seeded, generated
// multilingual text) and corpus.ids (the reference JavaScript GPT-2 encoder's ids, one per line).
// Usage: npm pack gpt-3-encoder@1.1.4 && tar xzf gpt-3-encoder-1.1.4.tgz
//        node make_tokenizer_fixture.js package/Encoder.js
const fs = require('fs');
const path = require('path');
const encoder = require(path.resolve(process.argv[2]));

let state = 12345n;  // a 64-bit LCG, so the corpus is the same on every machine
function next() {
  state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
  return Number(state >> 33n);
}
const pick = (list) => list[next() % list.length];

const words = [
  'the', 'of', 'and', 'in', 'was', 'The', 'game', 'released', 'album', 'season', 'river',
  'building', 'century', 'government', 'Church', 'battle', 'Valkyria', 'Chronicles', 'isn\'t',
  'they\'re', 'we\'ll', 'I\'d', 'it\'s', 'you\'ve', 'I\'m', 'O\'Brien', 'rock\'n\'roll', 'café',
  'naïve', 'résumé', 'Zürich', 'São', 'Kraków', 'Ærøskøbing', 'façade', 'über', 'niño', 'Ōsaka',
  'Łódź', 'Škoda', 'İzmir', 'Москва', 'город', 'Αθήνα', 'λόγος', '東京', '大阪', '漢字', 'かな',
  'カタカナ', '서울', '한글', 'مرحبا', 'שלום', 'नमस्ते', 'ภาษา', 'tiếng', '😀', '🎉', '👍🏽',
  '🇩🇪', '👩‍🔬', '❤️', '🔥🔥', '™', '€5', '£10', '¥1000', '½', 'x²', '∑', '→', '—', '…',
  'e-mail', 'co-operate', 'mother-in-law', 'C++', 'GPT-2', 'x86_64', 'https://example.org/a?b=c',
];
const numbers = () => pick([
  String(next() % 10), String(next() % 1000), String(next()), (next() % 100000 / 100).toFixed(2),
  String(1900 + next() % 125), (next() % 1000) + ',' + String(next() % 1000).padStart(3, '0'),
  '@,@', '@.@', '@-@', '-' + (next() % 50), '٣٢١', '१२३', '１２３',
]);
const spaces = () => pick([' ', ' ', ' ', ' ', ' ', '  ', '   ', '\t', ' \t ', '\n', '\n\n',
                           ' \n', '\n   ', '\u00a0', '\u3000', '    ']);
const punct = () => pick([',', '.', ';', ':', '!', '?', '(', ')', '"', '\'', ' ,', ' .', '...',
                          '!?', '—', '«', '»', '“', '”', '„', '#', '$', '%', '&', '*', '/', '-']);

let generated = '';
while ([...generated].length < 8000) {
  let sentence = '';
  const length = 4 + next() % 14;
  for (let i = 0; i < length; ++i) {
    const r = next() % 10;
    sentence += r < 6 ? pick(words) : r < 8 ? numbers() : punct();
    sentence += spaces();
  }
  generated += sentence + pick(['.', '!', '?', ' .', '。', '！']) + pick(['\n', ' ', '\n\n', '  ']);
}

const base = fs.readFileSync(path.join(__dirname, 'corpus_base.txt'), 'utf8');
const corpus = base + '\n' + generated;
const ids = encoder.encode(corpus);
if (encoder.decode(ids) !== corpus) throw new Error('the reference encoder does not round-trip');
fs.writeFileSync(path.join(__dirname, 'corpus.txt'), corpus);
fs.writeFileSync(path.join(__dirname, 'corpus.ids'), ids.join('\n') + '\n');
console.log(`${[...corpus].length} characters, ${Buffer.byteLength(corpus)} bytes, ${ids.length} ids`);
