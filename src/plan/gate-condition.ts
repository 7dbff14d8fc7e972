/**
 * The `kubernetes` gate's condition: a small, safe expression over the JSON `kubectl get -o json`
 * prints. Parsed once at spec time (a bad condition is a spec error) and evaluated on the worker.
 * No eval, no regex from the spec, no functions: field paths, literals and comparisons only.
 *
 * Grammar (keywords are lowercase words):
 *   condition  := quantified | expr
 *   quantified := ('every' | 'any') 'item' ['in' path] 'with' expr
 *                 (without `in`, the items of the List kubectl printed; `every` needs at least one item)
 *   expr       := and ('or' and)*
 *   and        := compare ('and' compare)*
 *   compare    := operand op operand | '(' expr ')'
 *   op         := '==' | '!=' | '<' | '<=' | '>' | '>='      (ordering: numbers only)
 *   operand    := path | "string" | 'string' | number | true | false | null
 *   path       := name ('.' name | '[' index ']')*             (name: letters, digits, _ and -)
 * A comparison with a missing field is false whatever the operator, so a typo never passes a gate.
 * Pure: the workflow bundle may import it.
 */

type Literal = string | number | boolean | null;
type Operand = { path: (string | number)[] } | { value: Literal };
type Op = '==' | '!=' | '<' | '<=' | '>' | '>=';
type Expr = { kind: 'compare'; left: Operand; op: Op; right: Operand } | { kind: 'and' | 'or'; parts: Expr[] };
export interface Condition {
  quantifier: 'every' | 'any' | null;
  /** Where the list is (quantified only); empty: the List's items. */
  over: (string | number)[];
  expr: Expr;
}

const MAX_CONDITION_CHARS = 300;
const MAX_PATH_DEPTH = 24;
const MAX_TERMS = 16;

class ConditionError extends Error {}

type Token = { t: 'word' | 'string' | 'number' | 'op' | 'punct'; v: string; at: number };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) {
          const next = text[j + 1] as string;
          value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          j += 2;
        } else {
          value += text[j];
          j++;
        }
      }
      if (j >= text.length) throw new ConditionError(`unterminated string at character ${i + 1}`);
      out.push({ t: 'string', v: value, at: i });
      i = j + 1;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (['==', '!=', '<=', '>='].includes(two)) {
      out.push({ t: 'op', v: two, at: i });
      i += 2;
      continue;
    }
    if (c === '<' || c === '>') {
      out.push({ t: 'op', v: c, at: i });
      i++;
      continue;
    }
    if (c === '=') throw new ConditionError(`single = at character ${i + 1}; compare with ==`);
    if ('.[]()'.includes(c)) {
      out.push({ t: 'punct', v: c, at: i });
      i++;
      continue;
    }
    const num = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (num && (c === '-' || /\d/.test(c))) {
      out.push({ t: 'number', v: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i));
    if (word) {
      out.push({ t: 'word', v: word[0], at: i });
      i += word[0].length;
      continue;
    }
    throw new ConditionError(`unexpected ${JSON.stringify(c)} at character ${i + 1}; only field paths, literals, ==, !=, <, <=, >, >=, and, or, every/any item with`);
  }
  return out;
}

class Parser {
  private i = 0;
  private terms = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }
  private next(): Token | undefined {
    return this.tokens[this.i++];
  }
  private isWord(v: string): boolean {
    const t = this.peek();
    return t?.t === 'word' && t.v === v;
  }
  private expectWord(v: string): void {
    if (!this.isWord(v)) throw new ConditionError(`expected "${v}"${this.where()}`);
    this.i++;
  }
  private where(): string {
    const t = this.peek();
    return t ? ` at character ${t.at + 1} ("${t.v}")` : ' at the end';
  }

  condition(): Condition {
    let quantifier: Condition['quantifier'] = null;
    let over: (string | number)[] = [];
    if (this.isWord('every') || this.isWord('any')) {
      quantifier = this.next()?.v as 'every' | 'any';
      this.expectWord('item');
      if (this.isWord('in')) {
        this.i++;
        over = this.path();
      }
      this.expectWord('with');
    }
    const expr = this.expr();
    if (this.peek()) throw new ConditionError(`unexpected "${this.peek()?.v}"${this.where()}`);
    return { quantifier, over, expr };
  }

  private expr(): Expr {
    const parts = [this.and()];
    while (this.isWord('or')) {
      this.i++;
      parts.push(this.and());
    }
    return parts.length === 1 ? (parts[0] as Expr) : { kind: 'or', parts };
  }

  private and(): Expr {
    const parts = [this.compare()];
    while (this.isWord('and')) {
      this.i++;
      parts.push(this.compare());
    }
    return parts.length === 1 ? (parts[0] as Expr) : { kind: 'and', parts };
  }

  private compare(): Expr {
    const t = this.peek();
    if (t?.t === 'punct' && t.v === '(') {
      this.i++;
      const inner = this.expr();
      const close = this.next();
      if (close?.t !== 'punct' || close.v !== ')') throw new ConditionError(`expected ")"${this.where()}`);
      return inner;
    }
    if (++this.terms > MAX_TERMS) throw new ConditionError(`more than ${MAX_TERMS} comparisons; split the gate`);
    const left = this.operand();
    const op = this.next();
    if (op?.t !== 'op') throw new ConditionError(`expected a comparison (==, !=, <, <=, >, >=) after the first operand${op ? ` at character ${op.at + 1} ("${op.v}")` : ' at the end'}`);
    const right = this.operand();
    if (!('path' in left) && !('path' in right)) throw new ConditionError('compares two literals; one side must be a field path such as status.phase');
    if (['<', '<=', '>', '>='].includes(op.v)) {
      for (const side of [left, right]) {
        if ('value' in side && typeof side.value !== 'number') throw new ConditionError(`${op.v} compares numbers; ${JSON.stringify(side.value)} is not a number`);
      }
    }
    return { kind: 'compare', left, op: op.v as Op, right };
  }

  private operand(): Operand {
    const t = this.peek();
    if (!t) throw new ConditionError('expected a field path or a value at the end');
    if (t.t === 'string') {
      this.i++;
      return { value: t.v };
    }
    if (t.t === 'number') {
      this.i++;
      return { value: Number(t.v) };
    }
    if (t.t === 'word' && (t.v === 'true' || t.v === 'false' || t.v === 'null')) {
      this.i++;
      return { value: t.v === 'null' ? null : t.v === 'true' };
    }
    if (t.t === 'word') return { path: this.path() };
    throw new ConditionError(`expected a field path or a value${this.where()}`);
  }

  private path(): (string | number)[] {
    const first = this.next();
    if (first?.t !== 'word' || ['and', 'or', 'with', 'every', 'any', 'item', 'in'].includes(first.v))
      throw new ConditionError(`expected a field path${first ? ` at character ${first.at + 1} ("${first.v}")` : ' at the end'}`);
    const out: (string | number)[] = [first.v];
    for (;;) {
      const t = this.peek();
      if (t?.t === 'punct' && t.v === '.') {
        this.i++;
        const name = this.next();
        if (name?.t !== 'word' && name?.t !== 'number') throw new ConditionError(`expected a field name after "."${this.where()}`);
        out.push(name.v);
      } else if (t?.t === 'punct' && t.v === '[') {
        this.i++;
        const index = this.next();
        const close = this.next();
        if (index?.t !== 'number' || !/^\d+$/.test(index.v) || close?.v !== ']') throw new ConditionError('expected [<index>] with a whole number');
        out.push(Number(index.v));
      } else break;
      if (out.length > MAX_PATH_DEPTH) throw new ConditionError(`field path deeper than ${MAX_PATH_DEPTH}`);
    }
    return out;
  }
}

/** Parses a condition; throws ConditionError with a one-line reason. */
export function parseCondition(text: string): Condition {
  if (typeof text !== 'string' || text.trim() === '') throw new ConditionError('is empty; write e.g. status.phase == "Ready"');
  if (text.length > MAX_CONDITION_CHARS) throw new ConditionError(`is ${text.length} characters; at most ${MAX_CONDITION_CHARS}`);
  if (/[\r\n]/.test(text)) throw new ConditionError('spans lines; write it on one line');
  return new Parser(tokenize(text)).condition();
}

export function conditionProblem(text: string): string | null {
  try {
    parseCondition(text);
    return null;
  } catch (err) {
    return err instanceof ConditionError ? err.message : String(err);
  }
}

const MISSING = Symbol('missing');
type Value = unknown;

function lookup(root: Value, path: readonly (string | number)[]): Value {
  let at: Value = root;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return MISSING;
    if (Array.isArray(at)) {
      if (typeof key !== 'number' && !/^\d+$/.test(String(key))) return MISSING;
      at = at[Number(key)];
    } else {
      if (!Object.prototype.hasOwnProperty.call(at, String(key))) return MISSING;
      at = (at as Record<string, Value>)[String(key)];
    }
    if (at === undefined) return MISSING;
  }
  return at;
}

const pathText = (path: readonly (string | number)[]): string => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

function show(v: Value): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : v !== null && typeof v === 'object' ? (Array.isArray(v) ? `a list of ${v.length}` : 'an object') : String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

interface Verdict {
  ok: boolean;
  /** What the fields held, for the evidence. */
  seen: string[];
}

function operandValue(o: Operand, doc: Value): { value: Value; label: string } {
  if ('value' in o) return { value: o.value, label: show(o.value) };
  return { value: lookup(doc, o.path), label: pathText(o.path) };
}

function compare(e: Extract<Expr, { kind: 'compare' }>, doc: Value): Verdict {
  const l = operandValue(e.left, doc);
  const r = operandValue(e.right, doc);
  const seen: string[] = [];
  for (const [o, v] of [
    [e.left, l],
    [e.right, r],
  ] as const) {
    if ('path' in o) seen.push(v.value === MISSING ? `${v.label} is missing` : `${v.label} = ${show(v.value)}`);
  }
  if (l.value === MISSING || r.value === MISSING) return { ok: false, seen };
  const a = l.value;
  const b = r.value;
  let ok: boolean;
  switch (e.op) {
    case '==':
      ok = a === b;
      break;
    case '!=':
      ok = a !== b;
      break;
    default:
      if (typeof a !== 'number' || typeof b !== 'number') return { ok: false, seen: [...seen, `${e.op} needs numbers`] };
      ok = e.op === '<' ? a < b : e.op === '<=' ? a <= b : e.op === '>' ? a > b : a >= b;
  }
  return { ok, seen };
}

function evalExpr(e: Expr, doc: Value): Verdict {
  if (e.kind === 'compare') return compare(e, doc);
  const results = e.parts.map((p) => evalExpr(p, doc));
  const ok = e.kind === 'and' ? results.every((r) => r.ok) : results.some((r) => r.ok);
  return { ok, seen: results.flatMap((r) => r.seen) };
}

function itemName(item: Value, i: number): string {
  const name = lookup(item, ['metadata', 'name']);
  return typeof name === 'string' ? name : `item ${i}`;
}

export interface ConditionResult {
  passed: boolean;
  /** One line: what the fields held (the gate's evidence). */
  evidence: string;
}

/** Evaluates a parsed condition against the document kubectl printed. */
export function evaluateCondition(cond: Condition, doc: Value): ConditionResult {
  if (cond.quantifier === null) {
    const v = evalExpr(cond.expr, doc);
    return { passed: v.ok, evidence: v.seen.join('; ') };
  }
  const list = cond.over.length === 0 ? lookup(doc, ['items']) : lookup(doc, cond.over);
  const where = cond.over.length === 0 ? 'items' : pathText(cond.over);
  if (!Array.isArray(list)) return { passed: false, evidence: `${where} is ${list === MISSING ? 'missing' : 'not a list'}` };
  const results = list.map((item, i) => ({ name: itemName(item, i), v: evalExpr(cond.expr, item) }));
  const failing = results.filter((r) => !r.v.ok);
  const passing = results.length - failing.length;
  if (cond.quantifier === 'every') {
    if (list.length === 0) return { passed: false, evidence: `${where} is empty: nothing to check (every item needs at least one)` };
    const shown = failing.slice(0, 5).map((r) => `${r.name}: ${r.v.seen.join(', ')}`);
    return {
      passed: failing.length === 0,
      evidence: failing.length === 0 ? `all ${results.length} items pass` : `${failing.length} of ${results.length} items fail: ${shown.join('; ')}${failing.length > 5 ? '; ...' : ''}`,
    };
  }
  const first = results.find((r) => r.v.ok);
  return {
    passed: first !== undefined,
    evidence: first
      ? `${passing} of ${results.length} items pass (e.g. ${first.name}: ${first.v.seen.join(', ')})`
      : `none of ${results.length} items pass${results[0] ? ` (e.g. ${results[0].name}: ${results[0].v.seen.join(', ')})` : ''}`,
  };
}
