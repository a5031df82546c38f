/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests
 * that scrape GET /metrics: `# HELP name text` (escapes \\ and \n), `# TYPE name type`,
 * other `#` lines as comments, and samples `name{label="value",...} value [timestamp]`
 * (label values with escapes \\, \" and \n; values may be NaN, +Inf, -Inf in any case).
 *
 * Samples are grouped into families: a histogram's or summary's `_bucket`, `_sum` and
 * `_count` samples belong to the family its TYPE line named. Anything malformed (a bad
 * name, an unterminated label value, a TYPE line after the family's samples, a value
 * that is not a number) throws, naming the line, so a test also checks the output is
 * well-formed.
 */

export type Labels = Record<string, string>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  help?: string;
  type?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES_OF_TYPE: Record<string, readonly string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

export class PrometheusText {
  private constructor(readonly families: ReadonlyMap<string, MetricFamily>) {}

  /** GET `${baseUrl}/metrics`, parsed; throws unless it answered 200. */
  static async scrape(baseUrl: string): Promise<PrometheusText> {
    const res = await fetch(`${baseUrl}/metrics`);
    if (!res.ok) throw new Error(`GET ${baseUrl}/metrics answered ${res.status}`);
    return PrometheusText.parse(await res.text());
  }

  static parse(text: string): PrometheusText {
    const families = new Map<string, MetricFamily>();
    const familyNamed = (name: string) => {
      let family = families.get(name);
      if (!family) families.set(name, family = { name, samples: [] });
      return family;
    };
    text.split('\n').forEach((line, index) => {
      const fail = (why: string): never => { throw new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`); };
      if (line.trim() === '') return;
      if (line.startsWith('#')) {
        const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
        if (!meta) return; // a comment
        const [, keyword, name, rest = ''] = meta;
        if (!NAME.test(name)) fail('bad metric name');
        const family = familyNamed(name);
        if (keyword === 'HELP') {
          if (family.help !== undefined) fail('second HELP line');
          family.help = unescape(rest, fail, false);
        } else {
          if (family.type !== undefined) fail('second TYPE line');
          if (family.samples.length) fail('TYPE line after the samples');
          if (!TYPES.has(rest.trim())) fail('unknown type');
          family.type = rest.trim();
        }
        return;
      }
      const sample = parseSample(line, fail);
      familyNamed(familyOf(sample.name, families)).samples.push(sample);
    });
    return new PrometheusText(families);
  }

  family(name: string): MetricFamily {
    const family = this.families.get(name);
    if (!family) throw new Error(`no metric family ${name}`);
    return family;
  }

  /** Samples named `name` whose labels include `labels`. */
  samples(name: string, labels: Labels = {}): Sample[] {
    return [...this.families.values()].flatMap((f) => f.samples)
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The value of the one sample named `name` whose labels include `labels`. */
  value(name: string, labels: Labels = {}): number {
    const found = this.samples(name, labels);
    if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}, expected 1`);
    return found[0].value;
  }
}

/** The family a sample belongs to: its own name, or a histogram's/summary's without the suffix. */
function familyOf(sampleName: string, families: ReadonlyMap<string, MetricFamily>): string {
  if (families.has(sampleName)) return sampleName;
  for (const family of families.values()) {
    const suffixes = SUFFIXES_OF_TYPE[family.type ?? ''] ?? [];
    if (suffixes.some((suffix) => sampleName === family.name + suffix)) return family.name;
  }
  return sampleName;
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? fail('no metric name');
  let at = name.length;
  const labels: Labels = {};
  if (line[at] === '{') {
    at += 1;
    while (line[at] !== '}') {
      const labelName = /^[^=]*/.exec(line.slice(at))![0].trim();
      if (!LABEL_NAME.test(labelName)) fail('bad label name');
      at += line.slice(at).indexOf('=') + 1;
      if (line[at] !== '"') fail('label value not quoted');
      const end = closingQuote(line, at + 1) ?? fail('unterminated label value');
      if (labelName in labels) fail(`label ${labelName} twice`);
      labels[labelName] = unescape(line.slice(at + 1, end), fail, true);
      at = end + 1;
      if (line[at] === ',') at += 1;
      else if (line[at] !== '}') fail('expected , or } after a label');
    }
    at += 1;
  }
  const fields = line.slice(at).trim().split(/\s+/);
  if (!/[ \t]/.test(line[at] ?? '') || fields.length > 2) fail('expected a value and an optional timestamp');
  const value = parseValue(fields[0]) ?? fail('bad value');
  const timestampMs = fields[1] === undefined ? undefined : /^-?\d+$/.test(fields[1]) ? Number(fields[1]) : fail('bad timestamp');
  return { name, labels, value, ...(timestampMs === undefined ? {} : { timestampMs }) };
}

/** The index of the quote that ends a label value starting at `from`, skipping escaped ones. */
function closingQuote(line: string, from: number): number | undefined {
  for (let i = from; i < line.length; i++) {
    if (line[i] === '\\') i += 1;
    else if (line[i] === '"') return i;
  }
  return undefined;
}

function unescape(text: string, fail: (why: string) => never, quoted: boolean): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quoted) return '"';
    return fail(`bad escape \\${c}`);
  });
}

/** A value as Prometheus reads it (Go's ParseFloat): a number, or NaN / Inf in any case (prom-client writes "Nan"). */
function parseValue(text: string): number | undefined {
  const special = /^([-+]?)(inf|infinity|nan)$/i.exec(text);
  if (special) return special[2].toLowerCase() === 'nan' ? Number.NaN : special[1] === '-' ? -Infinity : Infinity;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined;
}
