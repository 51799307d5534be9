/**
 * The scanner against saxes alone: the same events (names, attributes, text, positions, errors with their
 * line:column) on every XML sample and on thousands of damaged copies, each fed in random chunks. A damage
 * the fast path cannot read hands the document to saxes mid-stream; this holds the hand-over to what saxes
 * would have said reading the whole document itself.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';

import { XmlScanner, type XmlScannerHandlers } from './xml-scanner.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const samplesDir = join(root, 'test/fixtures/samples');

const samples = ['aggregate', 'aggregate_invalid', 'extract_report'].flatMap((dir) =>
  readdirSync(join(samplesDir, dir))
    .filter((name) => name.endsWith('.xml'))
    .sort()
    .map((name) => readFileSync(join(samplesDir, dir, name), 'utf8').replace(/^[\uFEFF\s]+/, '')),
);

interface Tokenizer {
  wantText: boolean;
  readonly position: number;
  write(chunk: string): void;
  close(): void;
}

/** saxes alone, wired as the scanner wires it after a hand-over. */
class SaxesOnly implements Tokenizer {
  readonly #sax = new SaxesParser({ xmlns: false, position: true });
  readonly #text: (text: string) => void;
  constructor(handlers: XmlScannerHandlers) {
    const sax = this.#sax;
    this.#text = (text) => handlers.text(text);
    sax.on('error', (error) => handlers.error(error.message));
    sax.on('doctype', () => handlers.doctype());
    sax.on('opentag', (tag) => handlers.open(tag.name, tag.attributes));
    sax.on('closetag', () => handlers.close());
    sax.on('cdata', this.#text);
  }
  set wantText(value: boolean) {
    if (value) this.#sax.on('text', this.#text);
    else this.#sax.off('text');
  }
  get position(): number {
    return this.#sax.position;
  }
  write(chunk: string): void {
    this.#sax.write(chunk);
  }
  close(): void {
    this.#sax.close();
  }
}

/** Every event, as one list; text wanted in elements whose name has an odd length (as a parser would). */
function events(make: (handlers: XmlScannerHandlers) => Tokenizer, chunks: readonly string[]): string[] {
  const log: string[] = [];
  let text = '';
  const flushText = (): void => {
    if (text !== '') log.push(`text ${JSON.stringify(text)}`);
    text = '';
  };
  const handlers: XmlScannerHandlers = {
    open(name, attributes) {
      flushText();
      log.push(`open ${name} ${JSON.stringify(attributes)} @${tokenizer.position}`);
      tokenizer.wantText = name.length % 2 === 1;
    },
    close() {
      flushText();
      log.push(`close @${tokenizer.position}`);
      tokenizer.wantText = false;
    },
    text(value) {
      text += value;
    },
    error(message) {
      flushText();
      log.push(`error ${message}`);
    },
    doctype() {
      log.push('doctype');
    },
    saxesInput() {},
  };
  const tokenizer = make(handlers);
  for (const chunk of chunks) tokenizer.write(chunk);
  tokenizer.close();
  flushText();
  return log;
}

function compare(chunks: readonly string[]): { fast: string[]; saxes: string[] } {
  return {
    fast: events((handlers) => new XmlScanner(handlers), chunks),
    saxes: events((handlers) => new SaxesOnly(handlers), chunks),
  };
}

/** A seeded linear congruential generator: the same damage every run. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function split(text: string, random: () => number): string[] {
  const chunks: string[] = [];
  const tiny = random() < 0.3;
  for (let i = 0; i < text.length;) {
    const size = tiny ? 1 + Math.floor(random() * 4) : 1 + Math.floor(random() * 3000);
    chunks.push(text.slice(i, i + size));
    i += size;
  }
  return chunks;
}

/** Damage that the fast path must read exactly, or hand over exactly. */
const SNIPPETS = [
  '&amp;',
  '&lt;',
  '&#65;',
  '&#x42;',
  '&#X43;',
  '&#0;',
  '&#xD800;',
  '&bogus;',
  '&',
  '&;',
  '&amp',
  ']]>',
  ']]',
  ']',
  '<',
  '>',
  '</',
  '/>',
  '<x/>',
  '<a b="1">',
  '</a>',
  '<!-- note -->',
  '<![CDATA[a<b]]>',
  '<?pi x?>',
  '<!DOCTYPE x>',
  '\r',
  '\r\n',
  '\n',
  '\t',
  '\u0001',
  '\uFFFE',
  '\uD83D\uDE00',
  '\uDE00',
  'é',
  '<é/>',
  '<a\u00e9>',
  ' x="1"',
  ' x="1" x="2"',
  " y='a&amp;b'",
  ' z="a<b"',
  ' w="a\r\nb\tc"',
  ' v=1',
  ' u',
  '= ',
  '"',
  "'",
  '<?xml version="1.0"?>',
  '</feedback>',
  '<feedback>',
  '<record>',
  '</record>',
  '\u0085',
  '\u2028',
];

function damage(text: string, random: () => number): string {
  let out = text;
  const operations = 1 + Math.floor(random() * 3);
  for (let n = 0; n < operations; n++) {
    const at = Math.floor(random() * (out.length + 1));
    const pick = random();
    if (pick < 0.5) {
      out = out.slice(0, at) + SNIPPETS[Math.floor(random() * SNIPPETS.length)]! + out.slice(at);
    } else if (pick < 0.6) {
      // After the root element.
      out += SNIPPETS[Math.floor(random() * SNIPPETS.length)]!;
    } else if (pick < 0.8) {
      out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 20));
    } else if (pick < 0.9) {
      out = out.slice(0, at);
    } else {
      out = out.replace(/\n/g, '\r\n');
    }
  }
  return out;
}

describe('XmlScanner', () => {
  it('reads every sample as saxes does, whole and in chunks of every size', () => {
    expect(samples.length).toBeGreaterThan(10);
    const random = rng(1);
    for (const sample of samples) {
      const whole = compare([sample]);
      expect(whole.fast).toEqual(whole.saxes);
      for (let n = 0; n < 5; n++) {
        const chunked = compare(split(sample, random));
        expect(chunked.fast).toEqual(chunked.saxes);
      }
    }
  });

  it('gives saxes its events and errors, line:column included, on damaged samples', () => {
    const random = rng(2);
    // (The one big sample, a megabyte, is left to the first test: damaging it thousands of times is slow.)
    const small = samples.filter((sample) => sample.length < 100_000);
    let handedOverMidway = 0;
    for (let n = 0; n < 4000; n++) {
      const sample = small[n % small.length]!;
      const damaged = damage(sample, random);
      const chunks = split(damaged, random);
      const { fast, saxes } = compare(chunks);
      if (fast.join('\n') !== saxes.join('\n')) {
        expect({ damaged, chunks, fast }).toEqual({ damaged, chunks, fast: saxes });
      }
      if (saxes.some((line) => line.startsWith('error')) && saxes[0]?.startsWith('open')) handedOverMidway++;
    }
    // The damage reaches the hand-over, not only the prologue.
    expect(handedOverMidway).toBeGreaterThan(1000);
  });

  it('hands a segment too long to keep to saxes, with the same events', () => {
    // Mid-document: an attribute value full of '<', a long text; after the root element, long blank space.
    const documents = [
      `<feedback><a x="${'x'.repeat(300_000)}<${'x'.repeat(300_000)}"/><b>1</b></feedback>`,
      `<feedback><a>1</a><b>${'text '.repeat(120_000)}</b><c/></feedback>`,
      `<feedback><a>1</a></feedback>${' '.repeat(600_000)}<d/>`,
    ];
    for (const document of documents) {
      const chunks: string[] = [];
      for (let i = 0; i < document.length; i += 65_536) chunks.push(document.slice(i, i + 65_536));
      const { fast, saxes } = compare(chunks);
      expect(fast).toEqual(saxes);
      expect(fast[0]).toMatch(/^open feedback/);
      // Handed over at the long segment, before the document's end.
      const scanner = new XmlScanner({
        open() {},
        close() {},
        text() {},
        error() {},
        doctype() {},
        saxesInput() {},
      });
      for (const chunk of chunks.slice(0, -1)) scanner.write(chunk);
      expect(scanner.handedOver).toBe(true);
    }
  });

  it('reads CRLF documents, entities and attributes itself, with saxes line numbers after them', () => {
    const document =
      '<?xml version="1.0" encoding="UTF-8"?>\r\n<feedback xmlns="urn:x" a = \'1&amp;2\'\r\n b="x\ty">\r\n' +
      '  <org>A &amp; B &#233; &#x1F600;</org>\r\n  <x/>\r\n  <y></y >\r\n  <z>]></z>\r\n' +
      '  <bad>&nope;</bad>\r\n</feedback>\r\n';
    const { fast, saxes } = compare([document]);
    expect(fast).toEqual(saxes);
    expect(fast).toContain('error 8:13: undefined entity.');
    expect(fast).toContain('text "A & B é 😀"');
  });
});
