// Base (registrable) domain of a host name from the Public Suffix List, via tldts (the list is compiled into
// the package: no I/O). Only the ICANN section is used: PTR names of hosting and mail platforms sit under
// private-section suffixes (e.g. compute-1.amazonaws.com), and grouping senders needs the operator's domain
// (amazonaws.com), not one base domain per host.
import { getDomain } from 'tldts';

/** "mail-sor-f41.google.com" -> "google.com"; null for names without a registrable domain ("localhost"). */
export function getBaseDomain(domain: string): string | null {
  const name = domain.trim().toLowerCase().replace(/\.$/, '');
  if (name === '') return null;
  return getDomain(name, { allowPrivateDomains: false, validateHostname: false, extractHostname: false });
}
