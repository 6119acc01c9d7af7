/**
 * A tiny XML builder that escapes every text and attribute value and refuses characters XML
 * cannot carry. Domain XML is built only through it; nothing is concatenated from user input.
 */
export type XmlChild = XmlElement | string | number | null | undefined | false;
export type XmlAttrs = Record<string, string | number | undefined>;

export interface XmlElement {
  readonly name: string;
  readonly attrs: XmlAttrs;
  readonly children: readonly XmlChild[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;
// XML 1.0 forbids C0 controls except tab, LF, CR, plus lone surrogates and U+FFFE/U+FFFF.
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class XmlError extends Error {
  override name = 'XmlError';
}

function checkName(n: string): string {
  if (!NAME.test(n)) throw new XmlError(`"${n}" is not a valid XML name`);
  return n;
}

function checkChars(v: string, where: string): string {
  if (FORBIDDEN.test(v)) throw new XmlError(`${where} contains a character XML cannot carry`);
  return v;
}

export function escapeText(v: string): string {
  return checkChars(v, 'text').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(v: string): string {
  return checkChars(v, 'attribute')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

export function el(name: string, attrs: XmlAttrs = {}, ...children: XmlChild[]): XmlElement {
  return { name: checkName(name), attrs, children };
}

function value(v: string | number, where: string): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new XmlError(`${where} is not a finite number`);
    return String(v);
  }
  return v;
}

export function renderXml(node: XmlElement, indent = ''): string {
  const attrs = Object.entries(node.attrs)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${checkName(k)}="${escapeAttr(value(v, `attribute ${k}`))}"`)
    .join('');
  const kids = node.children.filter((c): c is XmlElement | string | number => c !== null && c !== undefined && c !== false);
  if (kids.length === 0) return `${indent}<${node.name}${attrs}/>`;
  if (kids.every((c) => typeof c !== 'object')) {
    return `${indent}<${node.name}${attrs}>${kids.map((c) => escapeText(value(c as string | number, node.name))).join('')}</${node.name}>`;
  }
  const inner = kids
    .map((c) => (typeof c === 'object' ? renderXml(c, indent + '  ') : indent + '  ' + escapeText(value(c, node.name))))
    .join('\n');
  return `${indent}<${node.name}${attrs}>\n${inner}\n${indent}</${node.name}>`;
}
