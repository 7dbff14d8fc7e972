/**
 * `kubectl get` of the twin's custom objects (custom-objects.ts), for `kubernetes` gates:
 * -o json|yaml|name or a NAME/AGE table, by name or -l selector, in -n or across -A. The List kubectl
 * prints for a list request, NotFound in kubectl's words for a named object.
 * Node built-ins and this package's small modules only (hot path).
 */
import { flagBool, flagString, type ParsedArgs } from './args';
import { customKind, customObject, selectorMatches } from './custom-objects';
import { tabwrite, toJson, toYaml } from './format';
import { apiRefusal, connect, fromServer } from './kubectl-api';
import { list, type Obj } from './kubectl-objects';
import { ToolExit, type TwinContext } from './runtime';

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sorted((value as Obj)[k])]),
  );
}

export function getCustom(ctx: TwinContext, p: ParsedArgs, resourceArg: string, name: string | undefined): number {
  const output = flagString(p, 'output') ?? '';
  if (!['', 'json', 'yaml', 'wide', 'name'].includes(output))
    throw new ToolExit(1, `error: unable to match a printer suitable for the output format "${output}", allowed formats are: json,name,wide,yaml`);
  const state = connect(ctx, p, 'get');
  const kind = customKind(state, resourceArg);
  if (!kind) throw new ToolExit(1, `error: the server doesn't have a resource type "${resourceArg}"`);
  const allNs = flagBool(p, 'all-namespaces');
  const namespace = flagString(p, 'namespace') ?? 'default';
  const refusal = apiRefusal(state, {
    verb: name === undefined ? 'list' : 'get',
    resource: kind.resource,
    group: kind.group,
    ...(allNs ? {} : { namespace }),
    ...(name !== undefined ? { name } : {}),
  });
  const printList = (items: unknown[]): void => {
    const doc = sorted(list(items));
    ctx.io.out(output === 'yaml' ? toYaml(doc, 2, false) : toJson(doc));
  };
  if (refusal) {
    if (name === undefined && (output === 'json' || output === 'yaml')) printList([]);
    throw new ToolExit(1, fromServer(refusal));
  }
  const now = Date.now();
  const selector = flagString(p, 'selector');
  const found = kind.objects.filter((o) => (allNs || o.namespace === namespace) && (name === undefined || o.name === name) && selectorMatches(selector, o.labels));
  if (name !== undefined && found.length === 0) throw new ToolExit(1, `Error from server (NotFound): ${kind.resource}.${kind.group} "${name}" not found`);
  const objects = found.map((o) => customObject(state, o, now));
  if (output === 'json' || output === 'yaml') {
    const only = objects[0];
    if (name !== undefined && only) ctx.io.out(output === 'json' ? toJson(sorted(only)) : toYaml(sorted(only), 2, false));
    else printList(objects);
    return 0;
  }
  if (output === 'name') {
    ctx.io.out(found.map((o) => `${kind.kind.toLowerCase()}.${kind.group}/${o.name}\n`).join(''));
    return 0;
  }
  if (found.length === 0) {
    ctx.io.err(allNs ? 'No resources found\n' : `No resources found in ${namespace} namespace.\n`);
    return 0;
  }
  const rows = [[...(allNs ? ['NAMESPACE'] : []), 'NAME', 'AGE'], ...found.map((o) => [...(allNs ? [o.namespace] : []), o.name, '1d'])];
  ctx.io.out(
    tabwrite(
      rows.map((r) => r.join('\t')),
      3,
      6,
    ),
  );
  return 0;
}
