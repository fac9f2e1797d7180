// A parsed rule → a ClickHouse WHERE condition over customer_features. Field names come from the
// allow-list (never from the rule text) and every literal becomes a {name:Type} query parameter.
import { chTime } from '../../lib/clickhouse.ts';
import { fieldType, parseRule, type FieldType, type Literal, type RuleNode } from './rules.ts';

export interface CompiledRule {
  where: string;
  params: Record<string, unknown>;
}

/** `prefix` keeps parameter names apart when several rules share one query. */
export function compileRule(node: RuleNode, prefix = 'r'): CompiledRule {
  const params: Record<string, unknown> = {};
  let n = 0;
  const param = (field: string, lit: Literal): string => {
    const name = `${prefix}_p${n++}`;
    const type = columnType(field);
    if (type === 'time') {
      params[name] = chTime(Date.parse(String(lit.value)));
      return `{${name}:DateTime64(3)}`;
    }
    params[name] = lit.value;
    return `{${name}:${type === 'number' ? 'Float64' : 'String'}}`;
  };
  const walk = (node: RuleNode): string => {
    switch (node.kind) {
      case 'and':
        return `(${walk(node.left)} AND ${walk(node.right)})`;
      case 'or':
        return `(${walk(node.left)} OR ${walk(node.right)})`;
      case 'not':
        return `(NOT ${walk(node.expr)})`;
      case 'cmp':
        return `(${column(node.field)} ${node.op} ${param(node.field, node.value)})`;
      case 'in':
        return `(${column(node.field)} ${node.negated ? 'NOT IN' : 'IN'} (${node.values.map((v) => param(node.field, v)).join(', ')}))`;
      case 'null':
        return `(${column(node.field)} IS ${node.negated ? 'NOT ' : ''}NULL)`;
    }
  };
  return { where: walk(node), params };
}

function columnType(field: string): FieldType {
  const type = fieldType(field);
  if (!type) throw new Error(`field ${field} is not in the allow-list`);
  return type;
}

function column(field: string): string {
  columnType(field);
  return field;
}

export function compileRuleText(text: string, prefix = 'r'): CompiledRule {
  return compileRule(parseRule(text), prefix);
}
