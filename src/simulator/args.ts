/**
 * A pflag-like argument parser for the twins: `--flag value`, `--flag=value`, `-f value`, `-f=value`,
 * `-fvalue`, booleans as `--flag`, `--flag=false`, repeated flags, `--` ending flags.
 * Errors use pflag's wording so the twins fail like the real tools. Node built-ins only.
 */

interface FlagDef {
  kind: 'string' | 'bool';
  short?: string;
}
export type FlagDefs = Record<string, FlagDef>;

export interface ParsedArgs {
  /** Every value given, by long name, in order. Booleans hold "true"/"false". */
  flags: Map<string, string[]>;
  positionals: string[];
}

/** A usage error; the tool decides how to print it. */
export class FlagError extends Error {}

const BOOL_TEXT: Record<string, boolean> = { '1': true, t: true, T: true, true: true, TRUE: true, True: true, '0': false, f: false, F: false, false: false, FALSE: false, False: false };

export function parseArgs(argv: readonly string[], defs: FlagDefs, opts: { lenient?: boolean } = {}): ParsedArgs {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, def] of Object.entries(defs)) if (def.short) byShort.set(def.short, name);
  const put = (name: string, value: string): void => {
    const list = flags.get(name) ?? [];
    list.push(value);
    flags.set(name, list);
  };
  const setBool = (name: string, value: string | undefined, shown: string): void => {
    if (value === undefined) return put(name, 'true');
    const b = BOOL_TEXT[value];
    if (b === undefined) throw new FlagError(`invalid argument "${value}" for "${shown}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
    put(name, String(b));
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq === -1 ? undefined : arg.slice(eq + 1);
      const def = defs[name];
      if (!def) {
        if (opts.lenient) continue;
        throw new FlagError(`unknown flag: --${name}`);
      }
      if (def.kind === 'bool') {
        setBool(name, inline, `--${name}`);
      } else if (inline !== undefined) {
        put(name, inline);
      } else {
        const next = argv[i + 1];
        if (next === undefined) throw new FlagError(`flag needs an argument: --${name}`);
        put(name, next);
        i++;
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // one or more shorthands: -A, -fp, -n value, -n=value, -nvalue
      let j = 1;
      while (j < arg.length) {
        const letter = arg[j] ?? '';
        const name = byShort.get(letter);
        if (!name) {
          if (opts.lenient) break;
          throw new FlagError(`unknown shorthand flag: '${letter}' in ${arg}`);
        }
        const def = defs[name] as FlagDef;
        const rest = arg.slice(j + 1);
        if (def.kind === 'bool') {
          if (rest.startsWith('=')) {
            setBool(name, rest.slice(1), `-${letter}, --${name}`);
            break;
          }
          put(name, 'true');
          j++;
          continue;
        }
        if (rest.length > 0) {
          put(name, rest.startsWith('=') ? rest.slice(1) : rest);
        } else {
          const next = argv[i + 1];
          if (next === undefined) throw new FlagError(`flag needs an argument: '${letter}' in -${letter}`);
          put(name, next);
          i++;
        }
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { flags, positionals };
}

/** Last value of a string flag. */
export function flagString(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

export function flagBool(p: ParsedArgs, name: string, fallback = false): boolean {
  const v = flagString(p, name);
  return v === undefined ? fallback : v === 'true';
}

/** All values of a repeatable, comma-separated flag (`--nodes a,b --nodes c`). */
export function flagList(p: ParsedArgs, name: string): string[] {
  return (p.flags.get(name) ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export function hasFlag(p: ParsedArgs, name: string): boolean {
  return p.flags.has(name);
}
