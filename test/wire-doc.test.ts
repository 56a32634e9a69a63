// docs/protocol.md is written from src/transport/wire.ts: one section per subject kind that
// src/transport/subjects.ts builds, with every field of that subject's payload types as
// wire.ts declares it, in the same order. This test reads wire.ts with the TypeScript compiler
// API and fails when the doc lacks a subject, a payload type's name, or a field.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { subjects } from '../src/transport/subjects.ts';

const wireSource = readFileSync(new URL('../src/transport/wire.ts', import.meta.url), 'utf8');
const protocolDoc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');

/** One subject kind: the token after `<prefix>.<cluster>`, and whether an id follows it. */
interface SubjectKind {
  kind: string;
  id: boolean;
}

/** Every subject subjects.ts builds (the `<base>.>` wildcard aside), found by building them. */
function subjectKinds(): SubjectKind[] {
  const base = 'p.c.';
  const kinds: SubjectKind[] = [];
  for (const value of Object.values(subjects('p', 'c'))) {
    const subject = typeof value === 'function' ? value('ID') : value;
    if (subject.endsWith('>')) continue;
    assert.ok(subject.startsWith(base), subject);
    const [kind = '', ...rest] = subject.slice(base.length).split('.');
    kinds.push({ kind, id: rest.length > 0 });
  }
  return kinds;
}

/** A field as the doc must show it: `name: type` (`name?:` when optional); `type` null for an inline object. */
interface Field {
  name: string;
  type: string | null;
}

/** The fields of one object type or tuple, which the doc must show in this order. */
interface FieldRun {
  owner: string;
  fields: Field[];
}

/** What wire.ts declares for one subject kind (one entry of `WireMessages`). */
interface KindPayloads {
  pattern: 'request/reply' | 'publish';
  /** The named types of its request, reply, results or message. */
  types: string[];
  runs: FieldRun[];
}

type Declaration = ts.InterfaceDeclaration | ts.TypeAliasDeclaration;

/** Reads `WireMessages` and everything its entries reach among wire.ts's declarations. */
function readWire(source: string): Map<string, KindPayloads> {
  const file = ts.createSourceFile('wire.ts', source, ts.ScriptTarget.Latest, true);
  const declarations = new Map<string, Declaration>();
  for (const statement of file.statements) {
    if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) declarations.set(statement.name.text, statement);
  }
  const map = declarations.get('WireMessages');
  assert.ok(map && ts.isInterfaceDeclaration(map), 'wire.ts declares interface WireMessages');

  const textOf = (node: ts.Node, names: ReadonlyMap<string, string>): string =>
    node.getText(file).replace(/\s+/g, ' ').replace(/\b[A-Za-z_]\w*\b/g, (word) => names.get(word) ?? word);

  const kinds = new Map<string, KindPayloads>();
  for (const member of map.members) {
    assert.ok(ts.isPropertySignature(member) && member.type && ts.isTypeLiteralNode(member.type), 'each WireMessages entry is { request, reply } or { message }');
    const kind = member.name.getText(file);
    const runs: FieldRun[] = [];
    const types: string[] = [];
    const seen = new Set<string>();
    const keys = member.type.members.map((entry) => entry.name?.getText(file));

    const walkMembers = (owner: string, members: readonly ts.TypeElement[], names: ReadonlyMap<string, string>): void => {
      const run: FieldRun = { owner, fields: [] };
      runs.push(run);
      for (const property of members) {
        if (!ts.isPropertySignature(property) || !property.type) continue;
        const name = property.name.getText(file) + (property.questionToken ? '?' : '');
        run.fields.push({ name, type: ts.isTypeLiteralNode(property.type) ? null : textOf(property.type, names) });
        // A tuple written out in its field's type (`args: [id: number, uid: string]`) shows its members there.
        const inner = ts.isTupleTypeNode(property.type) ? property.type.elements.map((e) => (ts.isNamedTupleMember(e) ? e.type : e)) : [property.type];
        for (const type of inner) walk(type, `${owner}.${name.replace('?', '')}`, names);
      }
    };

    const walk = (node: ts.TypeNode, owner: string, names: ReadonlyMap<string, string>): void => {
      if (ts.isTypeReferenceNode(node)) {
        const args = node.typeArguments ?? [];
        for (const arg of args) walk(arg, owner, names);
        const name = node.typeName.getText(file);
        const declaration = declarations.get(name);
        if (!declaration || names.has(name)) return;
        const key = `${name}<${args.map((arg) => textOf(arg, names)).join(', ')}>`;
        if (seen.has(key)) return;
        seen.add(key);
        const params = new Map<string, string>();
        (declaration.typeParameters ?? []).forEach((param, i) => {
          const arg = args[i];
          params.set(param.name.text, arg ? textOf(arg, names) : param.default ? textOf(param.default, names) : 'unknown');
        });
        if (ts.isInterfaceDeclaration(declaration)) walkMembers(name, declaration.members, params);
        else walk(declaration.type, name, params);
      } else if (ts.isTypeLiteralNode(node)) {
        walkMembers(owner, node.members, names);
      } else if (ts.isUnionTypeNode(node) || ts.isIntersectionTypeNode(node)) {
        for (const type of node.types) walk(type, owner, names);
      } else if (ts.isArrayTypeNode(node)) {
        walk(node.elementType, owner, names);
      } else if (ts.isParenthesizedTypeNode(node)) {
        walk(node.type, owner, names);
      } else if (ts.isIndexedAccessTypeNode(node)) {
        walk(node.objectType, owner, names);
        walk(node.indexType, owner, names);
      } else if (ts.isTupleTypeNode(node)) {
        const run: FieldRun = { owner, fields: [] };
        runs.push(run);
        for (const element of node.elements) {
          if (!ts.isNamedTupleMember(element)) continue;
          run.fields.push({ name: element.name.text + (element.questionToken ? '?' : ''), type: textOf(element.type, names) });
        }
        for (const element of node.elements) walk(ts.isNamedTupleMember(element) ? element.type : element, owner, names);
      }
    };

    for (const entry of member.type.members) {
      assert.ok(ts.isPropertySignature(entry) && entry.type, `${kind}: each payload is a property with a type`);
      if (ts.isTypeReferenceNode(entry.type)) types.push(entry.type.typeName.getText(file));
      walk(entry.type, kind, new Map());
    }
    kinds.set(kind, { pattern: keys.includes('request') ? 'request/reply' : 'publish', types, runs });
  }
  return kinds;
}

/** A subject's section of the doc: its heading `<base>.<kind>[.<id>]` and everything up to the next heading as high. */
interface Section {
  id: boolean;
  /** Its inline code spans, `\|` unescaped (as in table cells) and whitespace collapsed. */
  spans: string[];
  text: string;
}

function readSections(doc: string): Map<string, Section> {
  const lines = doc.split('\n');
  const sections = new Map<string, Section>();
  const heading = /^(#{1,6})\s/;
  for (let i = 0; i < lines.length; i++) {
    const match = /^(#{1,6})\s+`<base>\.([A-Za-z]+)(\.<[A-Za-z]+>)?`\s*$/.exec(lines[i]!);
    if (!match) continue;
    const level = match[1]!.length;
    let end = i + 1;
    while (end < lines.length && !(heading.test(lines[end]!) && lines[end]!.match(heading)![1]!.length <= level)) end++;
    const text = lines.slice(i + 1, end).join('\n');
    const prose = text.replace(/^```[\s\S]*?^```/gm, '');
    const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((span) => span[1]!.replace(/\\\|/g, '|').replace(/\s+/g, ' ').trim());
    sections.set(match[2]!, { id: match[3] !== undefined, spans, text });
  }
  return sections;
}

const shows = (span: string, field: Field): boolean =>
  field.type === null ? span === field.name || span.startsWith(`${field.name}: `) : span === `${field.name}: ${field.type}`;

const spec = (field: Field): string => (field.type === null ? field.name : `${field.name}: ${field.type}`);

/** Everything the doc lacks or has out of order, one line each; empty when it matches wire.ts. */
function problems(doc: string, wireFile: string, kinds: readonly SubjectKind[]): string[] {
  const wire = readWire(wireFile);
  const sections = readSections(doc);
  const found: string[] = [];
  for (const { kind } of kinds) if (!wire.has(kind)) found.push(`wire.ts: WireMessages has no entry for subject kind "${kind}"`);
  for (const kind of wire.keys()) if (!kinds.some((known) => known.kind === kind)) found.push(`wire.ts: WireMessages has "${kind}", which subjects.ts does not build`);
  for (const kind of sections.keys()) if (!kinds.some((known) => known.kind === kind)) found.push(`protocol.md: a section for "${kind}", which subjects.ts does not build`);
  for (const { kind, id } of kinds) {
    const section = sections.get(kind);
    if (!section) {
      found.push(`protocol.md: no section headed \`<base>.${kind}${id ? '.<id>' : ''}\``);
      continue;
    }
    if (section.id !== id) found.push(`protocol.md: \`<base>.${kind}\` ${id ? 'takes' : 'takes no'} id in subjects.ts`);
    const payloads = wire.get(kind);
    if (!payloads) continue;
    if (!section.text.trimStart().toLowerCase().startsWith(`${payloads.pattern}.`)) found.push(`protocol.md: ${kind} does not begin "${payloads.pattern}."`);
    for (const type of payloads.types) if (!section.spans.includes(type)) found.push(`protocol.md: ${kind} does not name its payload type \`${type}\``);
    for (const run of payloads.runs) {
      let at = -1;
      for (const field of run.fields) {
        const next = section.spans.findIndex((span, index) => index > at && shows(span, field));
        if (next >= 0) {
          at = next;
          continue;
        }
        const anywhere = section.spans.some((span) => shows(span, field));
        found.push(`protocol.md: ${kind}: ${run.owner} field \`${spec(field)}\` ${anywhere ? 'out of order' : 'missing'}`);
      }
    }
  }
  return found;
}

describe('docs/protocol.md against src/transport/wire.ts', () => {
  const kinds = subjectKinds();

  test('subjects.ts builds the subjects this test knows how to read', () => {
    assert.deepEqual(
      kinds.map((k) => k.kind).sort(),
      ['admin', 'discover', 'events', 'handled', 'handler', 'hb', 'inspect', 'masters', 'push', 'rpc', 'session', 'sys', 'watch'],
    );
  });

  test('every subject has a section naming its payload types and showing every field, in order', () => {
    assert.deepEqual(problems(protocolDoc, wireSource, kinds), []);
  });

  test('a field missing from a section is found', () => {
    const wire = readWire(wireSource);
    const field = wire.get('push')!.runs[0]!.fields[0]!;
    assert.equal(spec(field), 'route: string');
    const without = protocolDoc.replaceAll(`\`${spec(field)}\``, 'a route');
    const found = problems(without, wireSource, kinds);
    assert.ok(found.includes('protocol.md: push: PushMessage field `route: string` missing'), found.join('\n'));
  });

  test('a field whose type differs from wire.ts is found', () => {
    const changed = wireSource.replace('  startedAt: number;', '  startedAt: string;');
    assert.notEqual(changed, wireSource);
    const found = problems(protocolDoc, changed, kinds);
    assert.ok(found.includes('protocol.md: hb: ServerInfo field `startedAt: string` missing'), found.join('\n'));
  });

  test('fields out of order are found', () => {
    const swapped = protocolDoc.replace('`remote: string`', '`REMOTE`').replace('`method: string`', '`remote: string`').replace('`REMOTE`', '`method: string`');
    assert.ok(problems(swapped, wireSource, kinds).some((line) => line.includes('rpc: RpcRequest field') && line.endsWith('out of order')));
  });

  test('a subject without a section is found, and so is a subject wire.ts does not type', () => {
    const withoutSection = protocolDoc.replace(/^### `<base>\.events`$/m, '### Events');
    assert.ok(problems(withoutSection, wireSource, kinds).includes('protocol.md: no section headed `<base>.events`'));
    const newKind = [...kinds, { kind: 'metrics', id: true }];
    const found = problems(protocolDoc, wireSource, newKind);
    assert.ok(found.includes('wire.ts: WireMessages has no entry for subject kind "metrics"'), found.join('\n'));
    assert.ok(found.includes('protocol.md: no section headed `<base>.metrics.<id>`'), found.join('\n'));
  });
});
