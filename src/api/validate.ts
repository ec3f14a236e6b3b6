/**
 * Offline validation of a TenantIsolation against the CRD schema in src/api/schema.ts: the
 * checks the API server would make on create, so `netfence render` and `netfence check`
 * refuse what `kubectl apply` would refuse, with a path the CLI maps to a YAML line.
 *
 * Guarantees: every constraint comes from walking `openAPIV3Schema` (types, required, enum,
 * pattern, bounds, int-or-string, list-set and list-map uniqueness, unknown fields) and from
 * evaluating each `x-kubernetes-validations` rule string found there with a CEL engine
 * (src/api/cel.ts). There is no second copy of any rule. As on the API server, rules see the
 * object with unknown fields pruned, nulls dropped and defaults applied; integers are CEL ints.
 *
 * Differences from the API server, all towards reporting more at once: it skips every rule
 * while any type, required, enum, length or count error remains; this validator skips only
 * the rules of schema nodes whose own subtree has a wrong type or a missing required field.
 * Unknown fields are errors here (the API server prunes them, or rejects them under
 * `kubectl apply --validate=strict`, the default).
 *
 * Status: the API server decodes it strictly on create and then discards it, so only its
 * unknown fields are reported; `validateStatus` checks its values as the status subresource does.
 *
 * Leaves out: metadata beyond name (labels, annotations: the API server checks those for
 * every kind, and so does src/api/validate-k8s.ts), transition rules (none exist), and
 * anything that needs other objects.
 */
import { API_VERSION, KIND } from './constants.js';
import { evaluateRule } from './cel.js';
import { setOwn } from '../core/objects.js';
import { DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, openAPIV3Schema, type JSONSchemaProps, type ValidationRule } from './schema.js';

export type Path = (string | number)[];

export interface ValidationIssue {
  /** Where in the object, e.g. ['spec', 'ingress', 'from', 0, 'cidr']; [] for the object itself. */
  path: Path;
  /** Names the field and the problem. */
  message: string;
}

/** `spec.ingress.from[0].cidr`; map keys that are not plain names in brackets, as kubectl prints them. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${seg}]`;
  }
  return out;
}

/**
 * Every keyword of the schema dialect (JSONSchemaProps in schema.ts) and what this validator
 * does with it; a test fails when the schema uses a keyword missing here.
 */
export const UNDERSTOOD_KEYWORDS: Readonly<Record<keyof JSONSchemaProps, 'enforced' | 'no effect on validation'>> = {
  type: 'enforced',
  format: 'enforced', // int32 and date-time; int64 is every JSON integer a JavaScript number holds
  description: 'no effect on validation',
  properties: 'enforced',
  additionalProperties: 'enforced',
  items: 'enforced',
  required: 'enforced',
  enum: 'enforced',
  default: 'enforced', // applied before rules are evaluated
  pattern: 'enforced',
  minimum: 'enforced',
  maximum: 'enforced',
  minLength: 'enforced',
  maxLength: 'enforced',
  minItems: 'enforced',
  maxItems: 'enforced',
  maxProperties: 'enforced',
  'x-kubernetes-int-or-string': 'enforced',
  'x-kubernetes-list-type': 'enforced',
  'x-kubernetes-list-map-keys': 'enforced',
  'x-kubernetes-map-type': 'no effect on validation',
  'x-kubernetes-validations': 'enforced',
  'x-kubernetes-preserve-unknown-fields': 'enforced', // below it, nothing is checked
};

/** Hints for the patterns of the schema, so messages say what is expected in words. */
const PATTERN_HINTS: Readonly<Record<string, string>> = {
  [DNS_LABEL_PATTERN]: "a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit",
  [LABEL_VALUE_PATTERN]: "a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
  [LABEL_KEY_PATTERN]: "a label key: an optional DNS subdomain and '/', then a name of at most 63 letters, digits, '-', '_' and '.'",
};

const DNS_SUBDOMAIN = new RegExp(DNS_SUBDOMAIN_PATTERN);
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

interface NodeResult {
  /** True when the subtree has a wrong type or a missing required field: its rules are not evaluated. */
  blocking: boolean;
  /** The value as CEL sees it: pruned, defaulted, integers as bigint. Meaningless when blocking. */
  cel: unknown;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Parses a rule's `fieldPath` (`.a.b`) into path segments. */
export function parseFieldPath(fieldPath: string): string[] {
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(fieldPath)) throw new Error(`unsupported fieldPath ${JSON.stringify(fieldPath)}`);
  return fieldPath.slice(1).split('.');
}

class Validator {
  readonly issues: ValidationIssue[] = [];
  /** The root's metadata, checked by `typeAndName`: the schema cannot describe ObjectMeta. */
  rootMetadata: NodeResult | undefined;
  /** False while walking what the API server discards (status on create): only unknown fields count there. */
  private checkValues = true;

  /** @param celViews build the values rules see; a schema without rules needs none (it is the costly part of the walk). */
  constructor(private readonly celViews = true) {}

  private report(path: Path, problem: string): void {
    if (!this.checkValues) return;
    const where = formatPath(path);
    this.issues.push({ path: [...path], message: where === '' ? problem : `${where}: ${problem}` });
  }

  node(value: unknown, schema: Readonly<JSONSchemaProps>, path: Path): NodeResult {
    const result = this.typed(value, schema, path);
    if (schema.enum !== undefined && !result.blocking && !schema.enum.includes(value as string)) {
      this.report(path, `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, found ${JSON.stringify(value)}`);
    }
    if (!result.blocking && this.checkValues) for (const rule of schema['x-kubernetes-validations'] ?? []) this.rule(rule, result.cel, path);
    return result;
  }

  private rule(rule: Readonly<ValidationRule>, self: unknown, path: Path): void {
    const at = rule.fieldPath === undefined ? path : [...path, ...parseFieldPath(rule.fieldPath)];
    let ok: unknown;
    try {
      ok = evaluateRule(rule.rule, self);
    } catch (err) {
      this.report(at, `could not evaluate the rule ${JSON.stringify(rule.rule)}: ${(err as Error).message}`);
      return;
    }
    if (ok !== true) this.report(at, rule.message);
  }

  private typed(value: unknown, schema: Readonly<JSONSchemaProps>, path: Path): NodeResult {
    if (schema['x-kubernetes-int-or-string'] === true) {
      if (typeof value === 'number' && Number.isInteger(value)) return { blocking: false, cel: BigInt(value) };
      if (typeof value === 'string') return this.string(value, schema, path);
      return this.wrongType(path, 'an integer or a string', value);
    }
    switch (schema.type) {
      case 'object':
        return isObject(value) ? this.object(value, schema, path) : this.wrongType(path, 'an object', value);
      case 'array':
        return Array.isArray(value) ? this.array(value, schema, path) : this.wrongType(path, 'a list', value);
      case 'string':
        return typeof value === 'string' ? this.string(value, schema, path) : this.wrongType(path, 'a string', value);
      case 'boolean':
        return typeof value === 'boolean' ? { blocking: false, cel: value } : this.wrongType(path, 'a boolean', value);
      case 'integer':
        return typeof value === 'number' && Number.isInteger(value) ? this.integer(value, schema, path) : this.wrongType(path, 'an integer', value);
      default:
        throw new Error(`schema at ${formatPath(path)} has no type the validator knows`);
    }
  }

  private wrongType(path: Path, expected: string, value: unknown): NodeResult {
    this.report(path, `must be ${expected}, found ${describeType(value)}`);
    return { blocking: true, cel: undefined };
  }

  private object(value: Record<string, unknown>, schema: Readonly<JSONSchemaProps>, path: Path): NodeResult {
    let blocking = false;
    const cel: Record<string, unknown> = {};
    const props = schema.properties ?? {};
    const n = Object.keys(value).length;
    if (schema.maxProperties !== undefined && n > schema.maxProperties) {
      this.report(path, `must have at most ${count(schema.maxProperties, 'entry', 'entries')}, found ${n}`);
    }
    for (const [key, v] of Object.entries(value)) {
      if (path.length === 0 && key === 'metadata' && this.rootMetadata !== undefined) {
        blocking ||= this.rootMetadata.blocking;
        setOwn(cel, key, this.rootMetadata.cel);
        continue;
      }
      if (path.length === 0 && key === 'status' && this.rootMetadata !== undefined && Object.hasOwn(props, key)) {
        // On create the API server decodes status strictly (unknown fields are errors), then
        // resets it: its values are neither validated nor seen by rules.
        this.checkValues = false;
        this.node(v, props[key] as JSONSchemaProps, [key]);
        this.checkValues = true;
        continue;
      }
      const sub = Object.hasOwn(props, key) ? props[key] : schema.additionalProperties;
      if (sub === undefined && schema['x-kubernetes-preserve-unknown-fields'] === true) continue;
      if (sub === undefined) {
        this.issues.push({ path: [...path, key], message: `unknown field ${JSON.stringify(formatPath([...path, key]))}` });
        continue;
      }
      // The API server drops nulls of non-nullable fields before defaulting and validation
      // (undefined cannot come from JSON or YAML; it means absent).
      if (v === null || v === undefined) continue;
      const r = this.node(v, sub, [...path, key]);
      blocking ||= r.blocking;
      if (this.celViews) setOwn(cel, key, r.cel);
    }
    if (path.length === 0 && this.rootMetadata?.blocking === true) blocking = true;
    for (const name of schema.required ?? []) {
      if (!Object.hasOwn(value, name) || value[name] === undefined || value[name] === null) {
        this.report([...path, name], 'required field is missing');
        blocking = true;
      }
    }
    for (const [key, sub] of this.celViews ? Object.entries(props) : []) {
      if (!Object.hasOwn(cel, key) && sub.default !== undefined) {
        setOwn(cel, key, new Validator().node(structuredClone(sub.default), sub, [...path, key]).cel);
      }
    }
    return { blocking, cel };
  }

  private array(value: readonly unknown[], schema: Readonly<JSONSchemaProps>, path: Path): NodeResult {
    let blocking = false;
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      this.report(path, `must have at least ${count(schema.minItems, 'item')}, found ${value.length}`);
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      this.report(path, `must have at most ${count(schema.maxItems, 'item')}, found ${value.length}`);
    }
    const items = schema.items as Readonly<JSONSchemaProps>;
    const cel = value.map((v, i) => {
      const r = this.node(v, items, [...path, i]);
      blocking ||= r.blocking;
      return r.cel;
    });
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set' || listType === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      value.forEach((v, i) => {
        if (listType === 'map' && !isObject(v)) return;
        const id = listType === 'set' ? JSON.stringify(v) : JSON.stringify(keys.map((k) => (v as Record<string, unknown>)[k] ?? null));
        if (seen.has(id)) {
          const what = listType === 'set' ? `value ${JSON.stringify(v)}` : `entry with ${keys.map((k) => `${k} ${JSON.stringify((v as Record<string, unknown>)[k])}`).join(', ')}`;
          this.report([...path, i], `duplicate ${what}`);
        }
        seen.add(id);
      });
    }
    return { blocking, cel };
  }

  private string(value: string, schema: Readonly<JSONSchemaProps>, path: Path): NodeResult {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) {
      this.report(path, `must be at least ${count(schema.minLength, 'character')}, found ${length}`);
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      this.report(path, `must be at most ${count(schema.maxLength, 'character')}, found ${length}`);
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      const hint = PATTERN_HINTS[schema.pattern];
      this.report(path, hint === undefined ? `${JSON.stringify(value)} does not match ${schema.pattern}` : `${JSON.stringify(value)} is not ${hint}`);
    }
    if (schema.format === 'date-time' && !DATE_TIME.test(value)) {
      this.report(path, `${JSON.stringify(value)} is not an RFC 3339 date-time`);
    }
    return { blocking: false, cel: value };
  }

  private integer(value: number, schema: Readonly<JSONSchemaProps>, path: Path): NodeResult {
    if (schema.minimum !== undefined && value < schema.minimum) this.report(path, `must be at least ${schema.minimum}, found ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) this.report(path, `must be at most ${schema.maximum}, found ${value}`);
    if (schema.format === 'int32' && (value < INT32.min || value > INT32.max)) this.report(path, `must fit in 32 bits, found ${value}`);
    return { blocking: false, cel: BigInt(value) };
  }

  /** apiVersion, kind and metadata.name: the checks the API server makes for every object of the kind. */
  typeAndName(obj: Record<string, unknown>): NodeResult {
    for (const [field, want] of [
      ['apiVersion', API_VERSION],
      ['kind', KIND],
    ] as const) {
      const got = obj[field];
      if (got === undefined || got === null) this.report([field], `required field is missing (want ${want})`);
      // A value of the wrong type is reported by the schema walk.
      else if (typeof got === 'string' && got !== want) this.report([field], `must be ${want}, found ${JSON.stringify(got)}`);
    }
    const md = obj.metadata;
    if (md === undefined || md === null) {
      this.report(['metadata', 'name'], 'required field is missing');
      return { blocking: true, cel: undefined };
    }
    if (!isObject(md)) return this.wrongType(['metadata'], 'an object', md);
    const name = md.name;
    if (name === undefined || name === null) {
      this.report(['metadata', 'name'], 'required field is missing');
      return { blocking: true, cel: undefined };
    }
    if (typeof name !== 'string') return this.wrongType(['metadata', 'name'], 'a string', name);
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      this.report(['metadata', 'name'], `${JSON.stringify(name)} is not a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`);
    }
    // Rules at the root see only the name (and generateName) of metadata.
    const metadata: Record<string, unknown> = { name };
    if (typeof md.generateName === 'string') metadata.generateName = md.generateName;
    return { blocking: false, cel: metadata };
  }
}

/**
 * Every problem the API server would report when creating `obj`, in document order; [] when
 * it would accept it. A `status` is checked for unknown fields only, as on create.
 */
export function validateTenantIsolation(obj: unknown): ValidationIssue[] {
  const v = new Validator();
  if (!isObject(obj)) {
    v.issues.push({ path: [], message: `a ${KIND} must be an object, found ${describeType(obj)}` });
    return v.issues;
  }
  v.rootMetadata = v.typeAndName(obj);
  v.node(obj, openAPIV3Schema, []);
  return v.issues;
}

/**
 * What the status subresource checks when the controller writes `status`: every value
 * against the status schema. Paths start with 'status'.
 */
export function validateStatus(status: unknown): ValidationIssue[] {
  const v = new Validator();
  v.node(status, openAPIV3Schema.properties?.status as JSONSchemaProps, ['status']);
  return v.issues;
}

/**
 * Validates any value against any schema of the same dialect, rules included: the engine
 * behind `validateTenantIsolation`, without the apiVersion, kind and metadata checks.
 */
export function validateValue(value: unknown, schema: Readonly<JSONSchemaProps>): ValidationIssue[] {
  const v = new Validator(hasRules(schema));
  v.node(value, schema, []);
  return v.issues;
}

const rulesOf = new WeakMap<object, boolean>();

/** True when the schema has an `x-kubernetes-validations` rule anywhere; cached per schema object. */
function hasRules(schema: Readonly<JSONSchemaProps>): boolean {
  let known = rulesOf.get(schema);
  if (known === undefined) rulesOf.set(schema, (known = schemaRules(schema).length > 0));
  return known;
}

/** Every rule in a schema with the schema path it sits at (`spec.ingress.from[*]`), for tests and docs. */
export function schemaRules(schema: Readonly<JSONSchemaProps> = openAPIV3Schema, at = ''): { at: string; rule: ValidationRule }[] {
  const out = (schema['x-kubernetes-validations'] ?? []).map((rule) => ({ at, rule }));
  for (const [k, sub] of Object.entries(schema.properties ?? {})) out.push(...schemaRules(sub, at === '' ? k : `${at}.${k}`));
  if (schema.additionalProperties !== undefined) out.push(...schemaRules(schema.additionalProperties, `${at}[*]`));
  if (schema.items !== undefined) out.push(...schemaRules(schema.items, `${at}[*]`));
  return out;
}
