// mailparser and its dependency tree take a few hundred milliseconds to load; most inputs are XML or gzip
// files that never need it. It is loaded on the first email, once.
import type * as MailparserModule from 'mailparser';

export type Mailparser = typeof MailparserModule;

let loading: Promise<Mailparser> | null = null;

export function loadMailparser(): Promise<Mailparser> {
  loading ??= import('mailparser');
  return loading;
}
